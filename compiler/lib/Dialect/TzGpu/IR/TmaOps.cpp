//===- TmaOps.cpp - tensor maps, mbarriers and TMA copies ----------------===//
//
// The verifiers of #tzgpu.tensormap and of the ops that initialise, arm and
// wait on mbarriers and issue TMA copies into buffers.
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

using namespace mlir;

namespace terrazzo::tzgpu {

LogicalResult TensorMapSpecAttr::verify(function_ref<InFlightDiagnostic()> emitError, unsigned, Type elementType,
                                        unsigned swizzle, ArrayRef<int64_t> box, ArrayRef<int64_t> extentArgs,
                                        ArrayRef<int64_t> extents, ArrayRef<int64_t> strideArgs,
                                        ArrayRef<int64_t> strides) {
  size_t rank = box.size();
  if (rank < 2 || rank > 5)
    return emitError() << "a tensor map has 2 to 5 dimensions, not " << rank;
  if (extentArgs.size() != rank || extents.size() != rank)
    return emitError() << "a tensor map needs one extent per dimension";
  if (strideArgs.size() != rank - 1 || strides.size() != rank - 1)
    return emitError() << "a tensor map needs one stride per dimension after the first";
  if (!elementType.isIntOrFloat() || elementType.getIntOrFloatBitWidth() % 8 != 0)
    return emitError() << "tensor map elements must be whole bytes, not " << elementType;
  if (swizzle != 0 && swizzle != 32 && swizzle != 64 && swizzle != 128)
    return emitError() << "swizzle must be 0, 32, 64 or 128 bytes, not " << swizzle;
  int64_t innerBytes = box[0] * (elementType.getIntOrFloatBitWidth() / 8);
  if (innerBytes % 16 != 0 || (swizzle && innerBytes > swizzle))
    return emitError() << "the box's first dimension is " << innerBytes
                       << " bytes: a multiple of 16, at most the swizzle, is needed";
  for (int64_t b : box)
    if (b < 1 || b > 256)
      return emitError() << "box dimensions are 1 to 256 elements, not " << b;
  for (size_t i = 0; i < rank; ++i)
    if (extentArgs[i] < 0 && extents[i] < 1 && extents[i] != -1)
      return emitError() << "extent " << extents[i] << " of dimension " << i << " is neither positive nor -1";
  for (size_t i = 0; i + 1 < rank; ++i)
    if (strideArgs[i] < 0 && strides[i] < 1)
      return emitError() << "stride " << strides[i] << " of dimension " << i + 1 << " is not positive";
  return success();
}

namespace {
LogicalResult checkBarrier(Operation *op, MemDescType type) {
  if (type.getShape() != ArrayRef<int64_t>{1, 1} || !type.getElementType().isInteger(64))
    return op->emitOpError("needs one mbarrier (a 1x1 i64 buffer), not ") << type;
  return success();
}
} // namespace

LogicalResult InitBarrierOp::verify() {
  if (getCount() < 1)
    return emitOpError("count must be positive");
  return checkBarrier(*this, getBarrier().getType());
}

LogicalResult InvalBarrierOp::verify() { return checkBarrier(*this, getBarrier().getType()); }

LogicalResult BarrierExpectOp::verify() {
  if (getBytes() < 0)
    return emitOpError("expects a negative number of bytes");
  return checkBarrier(*this, getBarrier().getType());
}

LogicalResult WaitBarrierOp::verify() { return checkBarrier(*this, getBarrier().getType()); }

LogicalResult ArriveBarrierOp::verify() { return checkBarrier(*this, getBarrier().getType()); }

LogicalResult AsyncTmaCopyOp::verify() {
  if (failed(checkBarrier(*this, getBarrier().getType())))
    return failure();
  MemDescType dst = getDst().getType();
  if (dst.getShape().size() != 2)
    return emitOpError("copies into one tile (a 2-D view), not ") << dst;
  if (!dst.getMutableMemory())
    return emitOpError("writes into an immutable buffer");
  if (dst.getEncoding().getSwizzle() != 128)
    return emitOpError("copies into the 128-byte swizzle only, not ") << dst;
  if (dst.tileShape()[0] > 256)
    return emitOpError("copies at most 256 rows at a time");
  if (getCoords().size() < 2 || getCoords().size() > 5)
    return emitOpError("needs 2 to 5 coordinates, not ") << getCoords().size();
  return success();
}

} // namespace terrazzo::tzgpu
