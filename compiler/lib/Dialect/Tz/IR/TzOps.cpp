//===- TzOps.cpp - tz op verifiers and folders ----------------------------===//
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace terrazzo::tz;

#define GET_OP_CLASSES
#include "terrazzo/Dialect/Tz/IR/TzOps.cpp.inc"

namespace {
// Shape of a scalar-or-tile type; scalars have rank 0.
ArrayRef<int64_t> shapeOf(Type type) {
  if (auto tile = dyn_cast<RankedTensorType>(type))
    return tile.getShape();
  return {};
}

// Checks that an optional operand has the shape of `ptr` (mask/other of loads
// and stores must match the pointers they guard).
LogicalResult verifySameShape(Operation *op, Value ptr, Value other, StringRef what) {
  if (!other)
    return success();
  if (shapeOf(ptr.getType()) != shapeOf(other.getType()))
    return op->emitOpError() << what << " shape must match the pointer shape";
  return success();
}

LogicalResult verifyPointee(Operation *op, Type ptrType, Type valueType) {
  auto ptr = cast<PointerType>(getElementTypeOrSelf(ptrType));
  if (ptr.getPointeeType() != getElementTypeOrSelf(valueType))
    return op->emitOpError() << "value element type " << getElementTypeOrSelf(valueType)
                             << " does not match the pointee type " << ptr.getPointeeType();
  if (shapeOf(ptrType) != shapeOf(valueType))
    return op->emitOpError("value shape must match the pointer shape");
  return success();
}

LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank)
    return op->emitOpError() << "axis " << axis << " is out of range for rank " << rank;
  return success();
}
} // namespace

//===----------------------------------------------------------------------===//
// MakeRangeOp
//===----------------------------------------------------------------------===//

LogicalResult MakeRangeOp::verify() {
  // I32Attr getters return uint32_t; read the attributes signed so a negative
  // bound is not taken for a huge one.
  int64_t start = getStartAttr().getInt(), end = getEndAttr().getInt();
  int64_t size = end - start;
  if (size <= 0 || !llvm::isPowerOf2_64(size))
    return emitOpError() << "range size " << size << " must be a positive power of two";
  auto type = getResult().getType();
  if (type.getRank() != 1 || type.getDimSize(0) != size)
    return emitOpError() << "result must be a 1-D tile of " << size << " elements";
  return success();
}

//===----------------------------------------------------------------------===//
// SplatOp
//===----------------------------------------------------------------------===//

OpFoldResult SplatOp::fold(FoldAdaptor adaptor) {
  auto value = adaptor.getSrc();
  if (!value || !isa<IntegerAttr, FloatAttr>(value))
    return {};
  return SplatElementsAttr::get(cast<ShapedType>(getType()), value);
}

//===----------------------------------------------------------------------===//
// BroadcastOp
//===----------------------------------------------------------------------===//

LogicalResult BroadcastOp::verify() {
  auto src = getSrc().getType().getShape();
  auto dst = getResult().getType().getShape();
  if (src.size() != dst.size())
    return emitOpError("source and result must have the same rank");
  for (auto [s, d] : llvm::zip(src, dst))
    if (s != d && s != 1)
      return emitOpError() << "cannot broadcast dimension of size " << s << " to " << d;
  return success();
}

OpFoldResult BroadcastOp::fold(FoldAdaptor adaptor) {
  if (getSrc().getType() == getType())
    return getSrc();
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getSrc()))
    return SplatElementsAttr::get(getType(), splat.getSplatValue<Attribute>());
  return {};
}

//===----------------------------------------------------------------------===//
// ExpandDimsOp
//===----------------------------------------------------------------------===//

LogicalResult ExpandDimsOp::verify() {
  auto src = getSrc().getType();
  if (failed(verifyAxis(*this, getAxisAttr().getInt(), src.getRank() + 1)))
    return failure();
  SmallVector<int64_t> expected(src.getShape());
  expected.insert(expected.begin() + getAxis(), 1);
  if (ArrayRef<int64_t>(expected) != getType().getShape())
    return emitOpError("result shape must be the source shape with a 1 inserted at axis");
  return success();
}

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  if (getSrc().getType().getNumElements() != getType().getNumElements())
    return emitOpError("source and result must have the same number of elements");
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getSrc().getType() == getType())
    return getSrc();
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getSrc()))
    return SplatElementsAttr::get(getType(), splat.getSplatValue<Attribute>());
  return {};
}

//===----------------------------------------------------------------------===//
// TransOp
//===----------------------------------------------------------------------===//

LogicalResult TransOp::verify() {
  auto src = getSrc().getType();
  ArrayRef<int32_t> order = getOrder();
  if ((int64_t)order.size() != src.getRank())
    return emitOpError("order must name every dimension once");
  SmallVector<bool> seen(order.size(), false);
  SmallVector<int64_t> expected;
  for (int32_t d : order) {
    if (d < 0 || d >= (int32_t)order.size() || seen[d])
      return emitOpError("order must be a permutation of the dimensions");
    seen[d] = true;
    expected.push_back(src.getDimSize(d));
  }
  if (ArrayRef<int64_t>(expected) != getType().getShape())
    return emitOpError("result shape must be the permuted source shape");
  return success();
}

OpFoldResult TransOp::fold(FoldAdaptor adaptor) {
  // An identity permutation does nothing; trans(trans(x)) with inverse orders is x.
  if (llvm::all_of(llvm::enumerate(getOrder()),
                   [](auto it) { return (int64_t)it.index() == it.value(); }))
    return getSrc();
  if (auto inner = getSrc().getDefiningOp<TransOp>()) {
    ArrayRef<int32_t> a = inner.getOrder(), b = getOrder();
    bool inverse = true;
    for (size_t i = 0; i < b.size(); ++i)
      inverse &= a[b[i]] == (int32_t)i;
    if (inverse)
      return inner.getSrc();
  }
  if (auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getSrc()))
    return SplatElementsAttr::get(getType(), splat.getSplatValue<Attribute>());
  return {};
}

//===----------------------------------------------------------------------===//
// AddPtrOp
//===----------------------------------------------------------------------===//

LogicalResult AddPtrOp::verify() {
  if (shapeOf(getPtr().getType()) != shapeOf(getOffset().getType()))
    return emitOpError("offset shape must match the pointer shape");
  return success();
}

OpFoldResult AddPtrOp::fold(FoldAdaptor adaptor) {
  if (matchPattern(adaptor.getOffset(), m_Zero()))
    return getPtr();
  return {};
}

//===----------------------------------------------------------------------===//
// Memory ops
//===----------------------------------------------------------------------===//

LogicalResult LoadOp::verify() {
  if (failed(verifyPointee(*this, getPtr().getType(), getType())) ||
      failed(verifySameShape(*this, getPtr(), getMask(), "mask")) ||
      failed(verifySameShape(*this, getPtr(), getOther(), "other")))
    return failure();
  // Without a mask nothing is masked off, so `other` would never be used (and
  // the custom syntax cannot say `other` without `mask`).
  if (getOther() && !getMask())
    return emitOpError("other needs a mask");
  if (getOther() && getOther().getType() != getType())
    return emitOpError("other must have the result type");
  return success();
}

LogicalResult StoreOp::verify() {
  if (failed(verifyPointee(*this, getPtr().getType(), getValue().getType())))
    return failure();
  return verifySameShape(*this, getPtr(), getMask(), "mask");
}

LogicalResult AtomicRMWOp::verify() {
  if (failed(verifyPointee(*this, getPtr().getType(), getValue().getType())) ||
      failed(verifySameShape(*this, getPtr(), getMask(), "mask")))
    return failure();
  if (getType() != getValue().getType())
    return emitOpError("result must have the value type");
  Type element = getElementTypeOrSelf(getValue().getType());
  bool bitwise = getKind() == AtomicKind::And || getKind() == AtomicKind::Or ||
                 getKind() == AtomicKind::Xor;
  if (bitwise && !isa<IntegerType>(element))
    return emitOpError("bitwise atomics need integer elements");
  return success();
}

LogicalResult AtomicCASOp::verify() {
  if (failed(verifyPointee(*this, getPtr().getType(), getValue().getType())))
    return failure();
  if (getCmp().getType() != getValue().getType() || getType() != getValue().getType())
    return emitOpError("cmp, value and result must have the same type");
  return success();
}

//===----------------------------------------------------------------------===//
// DotOp
//===----------------------------------------------------------------------===//

LogicalResult DotOp::verify() {
  auto a = getA().getType(), b = getB().getType(), acc = getAcc().getType();
  if (a.getRank() != 2 || b.getRank() != 2 || acc.getRank() != 2)
    return emitOpError("operands must be 2-D tiles");
  if (a.getDimSize(1) != b.getDimSize(0))
    return emitOpError() << "inner dimensions differ: " << a.getDimSize(1) << " vs "
                         << b.getDimSize(0);
  if (acc.getDimSize(0) != a.getDimSize(0) || acc.getDimSize(1) != b.getDimSize(1))
    return emitOpError("accumulator must be M x N");
  if (a.getElementType() != b.getElementType())
    return emitOpError("a and b must have the same element type");
  if (a.getElementType().getIntOrFloatBitWidth() > acc.getElementType().getIntOrFloatBitWidth())
    return emitOpError("accumulator must be at least as wide as the inputs");
  return success();
}

//===----------------------------------------------------------------------===//
// ReduceOp and ScanOp
//===----------------------------------------------------------------------===//

LogicalResult ReduceOp::verify() {
  auto src = getSrc().getType();
  if (failed(verifyAxis(*this, getAxisAttr().getInt(), src.getRank())))
    return failure();
  SmallVector<int64_t> expected(src.getShape());
  expected.erase(expected.begin() + getAxis());
  bool isArg = getKind() == ReduceKind::Argmax || getKind() == ReduceKind::Argmin;
  Type element = isArg ? Type(IntegerType::get(getContext(), 32)) : src.getElementType();
  Type expectedType = expected.empty() ? element : RankedTensorType::get(expected, element);
  // Layouts (tensor encodings) are the GPU level's business: compare shapes
  // and element types only.
  Type actual = getType();
  if (auto tile = dyn_cast<RankedTensorType>(actual))
    actual = RankedTensorType::get(tile.getShape(), tile.getElementType());
  if (actual != expectedType)
    return emitOpError() << "result type must be " << expectedType;
  if (getKind() == ReduceKind::Xor && !isa<IntegerType>(src.getElementType()))
    return emitOpError("xor_sum needs integer elements");
  return success();
}

LogicalResult ScanOp::verify() {
  if (failed(verifyAxis(*this, getAxisAttr().getInt(), getSrc().getType().getRank())))
    return failure();
  if (getKind() == ReduceKind::Argmax || getKind() == ReduceKind::Argmin)
    return emitOpError("a scan cannot use argmax or argmin");
  return success();
}
