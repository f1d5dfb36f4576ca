// The run-time value of the interpreter: a scalar or a tile.
//
// Every SSA value of a kernel is held as a Tile: an element kind, a shape
// (empty for a scalar) and flat row-major storage. Floats of every width are
// held as double (already rounded to their type, so an f16 holds an exactly
// representable f16 value); integers of every width as int64 sign-extended from
// their bit width (MLIR's view: i1 true is -1); pointers as uint64 host
// addresses in the integer storage. Keeping one storage type per family lets
// every op run as a plain loop over a vector, with no per-element dispatch.
#pragma once

#include "mlir/IR/Types.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <memory>
#include <optional>

namespace terrazzo::interp {

enum class ElemKind : uint8_t { I1, I8, I16, I32, I64, F16, BF16, F32, F64, Ptr };

inline bool isFloatKind(ElemKind kind) {
  return kind == ElemKind::F16 || kind == ElemKind::BF16 || kind == ElemKind::F32 ||
         kind == ElemKind::F64;
}

// Bit width of an integer kind (pointers count as 64-bit integers).
inline unsigned intBitWidth(ElemKind kind) {
  switch (kind) {
  case ElemKind::I1:
    return 1;
  case ElemKind::I8:
    return 8;
  case ElemKind::I16:
    return 16;
  case ElemKind::I32:
    return 32;
  default:
    return 64;
  }
}

// Size in bytes of one element of this kind in global memory.
inline unsigned storageBytes(ElemKind kind) {
  switch (kind) {
  case ElemKind::I1:
  case ElemKind::I8:
    return 1;
  case ElemKind::I16:
  case ElemKind::F16:
  case ElemKind::BF16:
    return 2;
  case ElemKind::I32:
  case ElemKind::F32:
    return 4;
  default:
    return 8;
  }
}

// Sign-extends the low `bits` bits of `value`: the canonical form of an integer
// of that width. Branch-free so loops over tiles vectorize.
inline int64_t wrapToWidth(uint64_t value, unsigned bits) {
  unsigned unused = 64 - bits;
  return static_cast<int64_t>(value << unused) >> unused;
}

// The low `bits` bits of `value`, zero-extended (the unsigned interpretation).
inline uint64_t zeroExtend(int64_t value, unsigned bits) {
  unsigned unused = 64 - bits;
  return (static_cast<uint64_t>(value) << unused) >> unused;
}

struct Tile {
  ElemKind kind = ElemKind::I64;
  llvm::SmallVector<int64_t, 4> shape; // empty: a scalar
  // One element inline: scalars, the bulk of values in loops, need no heap.
  llvm::SmallVector<double, 1> f; // float kinds
  llvm::SmallVector<int64_t, 1> i; // integer kinds and pointers
  // Pointers: the launch buffer every element was derived from (the index of
  // the pointer argument it started as), so an access is checked against that
  // buffer alone and cannot land in another argument; -1 when unknown or
  // mixed (then any launch buffer is accepted).
  int32_t buffer = -1;

  bool isScalar() const { return shape.empty(); }
  bool isFloat() const { return isFloatKind(kind); }
  size_t size() const { return isFloat() ? f.size() : i.size(); }

  // Gives the tile a kind and shape and sizes the matching storage (contents
  // unspecified; the other storage is emptied but keeps its capacity).
  void reset(ElemKind newKind, llvm::ArrayRef<int64_t> newShape);
};

using TileRef = std::shared_ptr<Tile>;

// Number of elements of a shape (1 for a scalar).
int64_t numElements(llvm::ArrayRef<int64_t> shape);

// Row-major strides of a shape.
llvm::SmallVector<int64_t, 4> rowMajorStrides(llvm::ArrayRef<int64_t> shape);

// The element kind of a scalar type (index counts as i64), or nullopt for a
// type the interpreter does not model.
std::optional<ElemKind> elemKindOf(mlir::Type scalarType);

// Shape of a scalar-or-tile type (empty for a scalar).
llvm::ArrayRef<int64_t> shapeOf(mlir::Type type);

// out[k] = src[offset of the k-th coordinate of outShape], where the offset is
// the sum of coordinate times srcStrides. Broadcast (stride 0) and transpose
// (permuted strides) are both this gather.
template <typename T>
void stridedGather(const T *src, T *out, llvm::ArrayRef<int64_t> outShape,
                   llvm::ArrayRef<int64_t> srcStrides) {
  size_t rank = outShape.size();
  if (rank == 0) {
    out[0] = src[0];
    return;
  }
  int64_t inner = outShape.back(), innerStride = srcStrides.back();
  int64_t rows = inner == 0 ? 0 : numElements(outShape) / inner;
  llvm::SmallVector<int64_t, 4> coord(rank, 0);
  int64_t base = 0;
  for (int64_t row = 0; row < rows; ++row) {
    T *dst = out + row * inner;
    for (int64_t j = 0; j < inner; ++j)
      dst[j] = src[base + j * innerStride];
    // Advance the odometer over the outer dimensions.
    for (size_t d = rank - 1; d-- > 0;) {
      base += srcStrides[d];
      if (++coord[d] < outShape[d])
        break;
      base -= srcStrides[d] * outShape[d];
      coord[d] = 0;
    }
  }
}

} // namespace terrazzo::interp
