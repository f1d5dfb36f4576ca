//===- TzMemoryOps.cpp - addptr, load, store and atomics ------------------===//
//
// Every enabled lane is bounds-checked before it touches memory; lanes whose
// mask is false are skipped entirely, so they may hold any address. Programs
// run one after another, so atomics are plain read-modify-writes.
#include "Executor.h"
#include "FloatRounding.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include <algorithm>

using namespace mlir;

namespace terrazzo::interp {
namespace {

// The element kind that a pointer (or pointer tile) type points at.
ElemKind pointeeKind(Operation *op, Type ptrLike) {
  auto ptr = cast<tz::PointerType>(tz::getElementTypeOrSelf(ptrLike));
  return Executor::elemKind(op, ptr.getPointeeType());
}

// Whether lane `k` is enabled by an optional mask (a scalar mask guards all).
bool laneEnabled(const Tile *mask, size_t k) {
  return !mask || mask->i[mask->isScalar() ? 0 : k] != 0;
}

const Tile *optionalOperand(Executor &ex, Value value) {
  return value ? &ex.get(value) : nullptr;
}

void runAddPtr(Executor &ex, Operation *raw) {
  auto op = cast<tz::AddPtrOp>(raw);
  const Tile &ptr = ex.get(op.getPtr()), &offset = ex.get(op.getOffset());
  uint64_t elementBytes = storageBytes(pointeeKind(raw, op.getType()));
  Tile &out = ex.define(op.getResult());
  for (size_t k = 0; k < out.i.size(); ++k) {
    uint64_t base = static_cast<uint64_t>(ptr.i[k]);
    // An offset whose byte distance, or whose sum with the base, does not fit
    // in 64 bits would wrap around onto memory it never meant; it yields an
    // address that every access reports as an overflow instead.
    int64_t distance = 0;
    uint64_t address = 0;
    bool overflow = base >= kOverflowedAddress ||
                    __builtin_mul_overflow(offset.i[k], static_cast<int64_t>(elementBytes), &distance);
    if (!overflow) {
      address = base + static_cast<uint64_t>(distance);
      overflow = distance >= 0 ? address < base : address > base;
    }
    out.i[k] = static_cast<int64_t>(overflow ? kOverflowedAddress : address);
  }
}

void runLoad(Executor &ex, Operation *raw) {
  auto op = cast<tz::LoadOp>(raw);
  const Tile &ptr = ex.get(op.getPtr());
  const Tile *mask = optionalOperand(ex, op.getMask());
  const Tile *other = optionalOperand(ex, op.getOther());
  Tile &out = ex.define(op.getResult());
  Memory &memory = ex.memory();
  Type ptrType = op.getPtr().getType();
  ElemKind kind = out.kind;
  unsigned bytes = storageBytes(kind);
  size_t n = out.size();
  // Lanes masked off without `other` are undefined; they read as zero.
  if (out.isFloat()) {
    for (size_t k = 0; k < n; ++k) {
      if (!laneEnabled(mask, k)) {
        out.f[k] = other ? other->f[k] : 0.0;
        continue;
      }
      uint64_t address = static_cast<uint64_t>(ptr.i[k]);
      memory.check(address, bytes, ptr.buffer, false, raw, "load", k, ptrType);
      out.f[k] = Memory::readFloat(address, kind);
    }
  } else {
    for (size_t k = 0; k < n; ++k) {
      if (!laneEnabled(mask, k)) {
        out.i[k] = other ? other->i[k] : 0;
        continue;
      }
      uint64_t address = static_cast<uint64_t>(ptr.i[k]);
      memory.check(address, bytes, ptr.buffer, false, raw, "load", k, ptrType);
      out.i[k] = Memory::readInt(address, kind);
    }
  }
}

void runStore(Executor &ex, Operation *raw) {
  auto op = cast<tz::StoreOp>(raw);
  const Tile &ptr = ex.get(op.getPtr()), &value = ex.get(op.getValue());
  const Tile *mask = optionalOperand(ex, op.getMask());
  Memory &memory = ex.memory();
  Type ptrType = op.getPtr().getType();
  ElemKind kind = value.kind;
  unsigned bytes = storageBytes(kind);
  // Every lane is checked before any is written: a tile that is partly out
  // of bounds leaves memory untouched.
  for (size_t k = 0; k < value.size(); ++k)
    if (laneEnabled(mask, k))
      memory.check(static_cast<uint64_t>(ptr.i[k]), bytes, ptr.buffer, true, raw, "store", k, ptrType);
  for (size_t k = 0; k < value.size(); ++k) {
    if (!laneEnabled(mask, k))
      continue;
    uint64_t address = static_cast<uint64_t>(ptr.i[k]);
    if (value.isFloat())
      Memory::writeFloat(address, kind, value.f[k]);
    else
      Memory::writeInt(address, kind, value.i[k]);
  }
}

double combineFloat(tz::AtomicKind kind, double old, double value) {
  switch (kind) {
  case tz::AtomicKind::Add:
    return old + value;
  case tz::AtomicKind::Max:
    return value > old ? value : old;
  case tz::AtomicKind::Min:
    return value < old ? value : old;
  default: // xchg (bitwise kinds are integer-only)
    return value;
  }
}

uint64_t combineInt(tz::AtomicKind kind, int64_t old, int64_t value) {
  switch (kind) {
  case tz::AtomicKind::Add:
    return uint64_t(old) + uint64_t(value);
  case tz::AtomicKind::Max:
    return uint64_t(std::max(old, value));
  case tz::AtomicKind::Min:
    return uint64_t(std::min(old, value));
  case tz::AtomicKind::And:
    return uint64_t(old & value);
  case tz::AtomicKind::Or:
    return uint64_t(old | value);
  case tz::AtomicKind::Xor:
    return uint64_t(old ^ value);
  case tz::AtomicKind::Xchg:
    return uint64_t(value);
  }
  return uint64_t(value);
}

void runAtomicRMW(Executor &ex, Operation *raw) {
  auto op = cast<tz::AtomicRMWOp>(raw);
  const Tile &ptr = ex.get(op.getPtr()), &value = ex.get(op.getValue());
  const Tile *mask = optionalOperand(ex, op.getMask());
  Tile &out = ex.define(op.getResult());
  Memory &memory = ex.memory();
  Type ptrType = op.getPtr().getType();
  tz::AtomicKind atomicKind = op.getKind();
  ElemKind kind = out.kind;
  unsigned bytes = storageBytes(kind), bits = intBitWidth(kind);
  // Every lane is checked before any is updated (as for stores). Masked-off
  // lanes return zero (their result is undefined).
  for (size_t k = 0; k < out.size(); ++k)
    if (laneEnabled(mask, k))
      memory.check(static_cast<uint64_t>(ptr.i[k]), bytes, ptr.buffer, true, raw, "atomic_rmw", k,
                   ptrType);
  for (size_t k = 0; k < out.size(); ++k) {
    bool enabled = laneEnabled(mask, k);
    uint64_t address = static_cast<uint64_t>(ptr.i[k]);
    if (out.isFloat()) {
      out.f[k] = 0.0;
      if (!enabled)
        continue;
      double old = Memory::readFloat(address, kind);
      Memory::writeFloat(address, kind,
                         roundToKind(combineFloat(atomicKind, old, value.f[k]), kind));
      out.f[k] = old;
    } else {
      out.i[k] = 0;
      if (!enabled)
        continue;
      int64_t old = Memory::readInt(address, kind);
      Memory::writeInt(address, kind,
                       wrapToWidth(combineInt(atomicKind, old, value.i[k]), bits));
      out.i[k] = old;
    }
  }
}

// Floats compare as bit patterns, as the hardware does (NaN can match, -0.0
// does not match +0.0).
void runAtomicCAS(Executor &ex, Operation *raw) {
  auto op = cast<tz::AtomicCASOp>(raw);
  const Tile &ptr = ex.get(op.getPtr()), &compare = ex.get(op.getCmp()),
             &value = ex.get(op.getValue());
  Tile &out = ex.define(op.getResult());
  Memory &memory = ex.memory();
  Type ptrType = op.getPtr().getType();
  ElemKind kind = out.kind;
  unsigned bytes = storageBytes(kind);
  for (size_t k = 0; k < out.size(); ++k)
    memory.check(static_cast<uint64_t>(ptr.i[k]), bytes, ptr.buffer, true, raw, "atomic_cas", k, ptrType);
  for (size_t k = 0; k < out.size(); ++k) {
    uint64_t address = static_cast<uint64_t>(ptr.i[k]);
    if (out.isFloat()) {
      uint64_t old = Memory::readBits(address, bytes);
      out.f[k] = floatFromBits(old, kind);
      if (old == floatToBits(compare.f[k], kind))
        Memory::writeFloat(address, kind, value.f[k]);
    } else {
      int64_t old = Memory::readInt(address, kind);
      out.i[k] = old;
      if (old == compare.i[k])
        Memory::writeInt(address, kind, value.i[k]);
    }
  }
}

} // namespace

void registerTzMemoryHandlers(HandlerTable &table) {
  addHandler<tz::AddPtrOp>(table, runAddPtr);
  addHandler<tz::LoadOp>(table, runLoad);
  addHandler<tz::StoreOp>(table, runStore);
  addHandler<tz::AtomicRMWOp>(table, runAtomicRMW);
  addHandler<tz::AtomicCASOp>(table, runAtomicCAS);
}

} // namespace terrazzo::interp
