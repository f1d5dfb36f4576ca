//===- Tile.cpp - run-time values of the interpreter ----------------------===//
#include "Tile.h"

#include "mlir/IR/BuiltinTypes.h"
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

using namespace mlir;

namespace terrazzo::interp {

void Tile::reset(ElemKind newKind, ArrayRef<int64_t> newShape) {
  kind = newKind;
  buffer = -1;
  shape.assign(newShape.begin(), newShape.end());
  size_t n = numElements(newShape);
  if (isFloatKind(newKind)) {
    f.resize_for_overwrite(n);
    i.clear();
  } else {
    i.resize_for_overwrite(n);
    f.clear();
  }
}

int64_t numElements(ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

SmallVector<int64_t, 4> rowMajorStrides(ArrayRef<int64_t> shape) {
  SmallVector<int64_t, 4> strides(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;)
    strides[d - 1] = strides[d] * shape[d];
  return strides;
}

std::optional<ElemKind> elemKindOf(Type type) {
  if (isa<tz::PointerType>(type))
    return ElemKind::Ptr;
  if (type.isIndex())
    return ElemKind::I64;
  if (auto integer = dyn_cast<IntegerType>(type)) {
    switch (integer.getWidth()) {
    case 1:
      return ElemKind::I1;
    case 8:
      return ElemKind::I8;
    case 16:
      return ElemKind::I16;
    case 32:
      return ElemKind::I32;
    case 64:
      return ElemKind::I64;
    default:
      return std::nullopt;
    }
  }
  if (type.isF16())
    return ElemKind::F16;
  if (type.isBF16())
    return ElemKind::BF16;
  if (type.isF32())
    return ElemKind::F32;
  if (type.isF64())
    return ElemKind::F64;
  return std::nullopt;
}

ArrayRef<int64_t> shapeOf(Type type) {
  if (auto tile = dyn_cast<RankedTensorType>(type))
    return tile.getShape();
  return {};
}

} // namespace terrazzo::interp
