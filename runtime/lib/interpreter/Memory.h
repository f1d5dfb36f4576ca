// Bounds-checked access to the host buffers a kernel was launched with.
//
// Pointers are plain host addresses. Before every element access the
// interpreter checks that the bytes it touches lie inside the buffer the
// pointer was derived from (any registered buffer when that is unknown) and,
// for a store or atomic, that the buffer is writable; an access that fails
// stops the run with an InterpreterError that names the op's location, the
// element of the pointer tile and where the address fell. Elements are read and written in the pointee type's memory
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

// The address an addptr produces when its offset arithmetic overflows 64
// bits (an offset of 2**62 on a float32 pointer would otherwise wrap around
// to the base). It lies in the kernel half of the address space, inside no
// buffer; addptr keeps it once reached, and the report names the overflow.
constexpr uint64_t kOverflowedAddress = 0xFFFF'FFFF'FFFF'F000ull;

class Memory {
public:
  explicit Memory(const std::vector<HostBuffer> &buffers);

  // Throws unless [address, address + bytes) lies inside buffer `buffer`
  // (the one the pointer was derived from; -1: unknown, then inside any
  // buffer), and, for a write, that buffer is writable. `access` names the
  // kind of access ("load", "store", ...), `element` the flat index of the
  // address in `ptrType` (ignored when ptrType is a scalar).
  void check(uint64_t address, unsigned bytes, int32_t buffer, bool write, mlir::Operation *op,
             const char *access, int64_t element, mlir::Type ptrType) {
    uint64_t last = address + bytes;
    if (buffer >= 0 && static_cast<size_t>(buffer) < own_.size()) {
      const Owned &b = own_[buffer];
      if (address >= b.begin && last <= b.end && last > address && !(write && b.readOnly) && b.dense)
        return;
    } else if (address >= lastBegin_ && last <= lastEnd_ && last > address && !(write && lastReadOnly_)) {
      // Consecutive accesses almost always hit the same buffer.
      return;
    }
    checkSlow(address, bytes, buffer, write, op, access, element, ptrType);
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
  // Each launch buffer by its index, empty ones included (begin == end).
  struct Owned {
    uint64_t begin, end;
    bool readOnly;
    bool dense; // every byte in [begin, end) belongs to an element
  };

  void checkSlow(uint64_t address, unsigned bytes, int32_t buffer, bool write, mlir::Operation *op,
                 const char *access, int64_t element, mlir::Type ptrType);
  [[noreturn]] void reportOutOfBounds(uint64_t address, unsigned bytes, int32_t buffer,
                                      mlir::Operation *op, const char *access, int64_t element,
                                      mlir::Type ptrType) const;
  // Whether [address, address + bytes) lies within one element of strided
  // buffer `index` (not in a gap between elements).
  bool insideElement(size_t index, uint64_t address, unsigned bytes) const;
  [[noreturn]] void reportBetweenElements(const HostBuffer &target, uint64_t address, mlir::Operation *op,
                                          const char *access, int64_t element, mlir::Type ptrType) const;
  [[noreturn]] void reportReadOnly(const HostBuffer &target, mlir::Operation *op, const char *access,
                                   int64_t element, mlir::Type ptrType) const;

  const std::vector<HostBuffer> &buffers_;
  std::vector<Range> ranges_;
  std::vector<Owned> own_;
  // Per buffer, the (byte stride, extent) of each dimension that is stepped
  // along, largest stride first; empty for dense buffers.
  std::vector<llvm::SmallVector<std::pair<int64_t, int64_t>, 4>> stridedDims_;
  uint64_t lastBegin_ = 1, lastEnd_ = 0; // the buffer hit last; empty at first
  bool lastReadOnly_ = false;
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
