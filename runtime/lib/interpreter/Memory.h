// Bounds-checked access to the host buffers a kernel was launched with.
//
// Pointers are plain host addresses. Before every element access the
// interpreter checks that the bytes it touches lie inside one registered
// buffer; an access that does not stops the run with an InterpreterError that
// names the op's location, the element of the pointer tile and where the
// address fell. Elements are read and written in the pointee type's memory
// format: f16/bf16 as 2-byte bit patterns, i1 as one byte, the rest natively.
#pragma once

#include "FloatRounding.h"
#include "Tile.h"
#include "terrazzo/interpreter/Interpreter.h"

#include "mlir/IR/Operation.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace terrazzo::interp {

class Memory {
public:
  explicit Memory(const std::vector<HostBuffer> &buffers);

  // Throws unless [address, address + bytes) lies inside one buffer. `access`
  // names the kind of access ("load", "store", ...), `element` the flat index
  // of the address in `ptrType` (ignored when ptrType is a scalar).
  void check(uint64_t address, unsigned bytes, mlir::Operation *op, const char *access,
             int64_t element, mlir::Type ptrType) {
    // Consecutive accesses almost always hit the same buffer.
    if (address >= lastBegin_ && address + bytes <= lastEnd_ && address + bytes > address)
      return;
    checkSlow(address, bytes, op, access, element, ptrType);
  }

  // Reads one element of `kind` at `address` (already checked).
  static double readFloat(uint64_t address, ElemKind kind);
  static int64_t readInt(uint64_t address, ElemKind kind);
  // Writes one element of `kind` at `address` (already checked). The float
  // value must already be rounded to `kind`.
  static void writeFloat(uint64_t address, ElemKind kind, double value);
  static void writeInt(uint64_t address, ElemKind kind, int64_t value);
  // The raw bytes of one element, zero-extended (for compare-and-swap).
  static uint64_t readBits(uint64_t address, unsigned bytes);
  static void writeBits(uint64_t address, unsigned bytes, uint64_t bits);

private:
  struct Range {
    uint64_t begin, end;
    const HostBuffer *buffer;
  };

  void checkSlow(uint64_t address, unsigned bytes, mlir::Operation *op, const char *access,
                 int64_t element, mlir::Type ptrType);
  [[noreturn]] void reportOutOfBounds(uint64_t address, unsigned bytes, mlir::Operation *op,
                                      const char *access, int64_t element,
                                      mlir::Type ptrType) const;

  std::vector<Range> ranges_;
  uint64_t lastBegin_ = 1, lastEnd_ = 0; // the buffer hit last; empty at first
};

// The element accessors are inline so the load and store loops can be
// specialized per element kind.
inline uint64_t Memory::readBits(uint64_t address, unsigned bytes) {
  const void *source = reinterpret_cast<const void *>(address);
  switch (bytes) {
  case 1: {
    uint8_t v;
    std::memcpy(&v, source, 1);
    return v;
  }
  case 2: {
    uint16_t v;
    std::memcpy(&v, source, 2);
    return v;
  }
  case 4: {
    uint32_t v;
    std::memcpy(&v, source, 4);
    return v;
  }
  default: {
    uint64_t v;
    std::memcpy(&v, source, 8);
    return v;
  }
  }
}

inline void Memory::writeBits(uint64_t address, unsigned bytes, uint64_t bits) {
  void *target = reinterpret_cast<void *>(address);
  switch (bytes) {
  case 1: {
    uint8_t v = static_cast<uint8_t>(bits);
    std::memcpy(target, &v, 1);
    break;
  }
  case 2: {
    uint16_t v = static_cast<uint16_t>(bits);
    std::memcpy(target, &v, 2);
    break;
  }
  case 4: {
    uint32_t v = static_cast<uint32_t>(bits);
    std::memcpy(target, &v, 4);
    break;
  }
  default:
    std::memcpy(target, &bits, 8);
    break;
  }
}

inline double Memory::readFloat(uint64_t address, ElemKind kind) {
  switch (kind) {
  case ElemKind::F16:
    return decodeFormat(readBits(address, 2), kHalf);
  case ElemKind::BF16:
    return decodeFormat(readBits(address, 2), kBFloat16);
  case ElemKind::F32: {
    float v;
    std::memcpy(&v, reinterpret_cast<const void *>(address), 4);
    return v;
  }
  default: {
    double v;
    std::memcpy(&v, reinterpret_cast<const void *>(address), 8);
    return v;
  }
  }
}

inline int64_t Memory::readInt(uint64_t address, ElemKind kind) {
  switch (kind) {
  case ElemKind::I1:
    // Bools are stored as bytes; any non-zero byte is true (-1 in i1 form).
    return readBits(address, 1) != 0 ? -1 : 0;
  case ElemKind::I8:
    return static_cast<int8_t>(readBits(address, 1));
  case ElemKind::I16:
    return static_cast<int16_t>(readBits(address, 2));
  case ElemKind::I32:
    return static_cast<int32_t>(readBits(address, 4));
  default:
    return static_cast<int64_t>(readBits(address, 8));
  }
}

inline void Memory::writeFloat(uint64_t address, ElemKind kind, double value) {
  switch (kind) {
  case ElemKind::F16:
    writeBits(address, 2, encodeFormat(value, kHalf));
    break;
  case ElemKind::BF16:
    writeBits(address, 2, encodeFormat(value, kBFloat16));
    break;
  case ElemKind::F32: {
    float v = static_cast<float>(value);
    std::memcpy(reinterpret_cast<void *>(address), &v, 4);
    break;
  }
  default:
    std::memcpy(reinterpret_cast<void *>(address), &value, 8);
    break;
  }
}

inline void Memory::writeInt(uint64_t address, ElemKind kind, int64_t value) {
  if (kind == ElemKind::I1)
    value &= 1; // true is stored as the byte 1
  writeBits(address, storageBytes(kind), static_cast<uint64_t>(value));
}

} // namespace terrazzo::interp
