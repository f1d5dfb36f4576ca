//===- WarpGroupDot.cpp - verifier of tzgpu.warp_group_dot ----------------===//
//
// What a warpgroup MMA can read: f16/bf16 operands into f32, B (and A when
// it is not in registers) a 2-D buffer in the 128-byte swizzle whose shape
// matches the product, M a multiple of 64 per warpgroup and N at most 256.
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

using namespace mlir;

namespace terrazzo::tzgpu {

namespace {
LogicalResult checkSwizzledTile(Operation *op, StringRef name, MemDescType buffer) {
  if (buffer.getShape().size() != 2)
    return op->emitOpError(name) << " must be one 2-D tile, not " << buffer;
  if (buffer.getEncoding().getSwizzle() != 128)
    return op->emitOpError(name) << " must be in the 128-byte swizzle, not " << buffer.getEncoding();
  return success();
}
} // namespace

LogicalResult WarpGroupDotOp::verify() {
  auto c = cast<RankedTensorType>(getC().getType());
  if (c != getD().getType())
    return emitOpError("result type must be the accumulator's");
  if (c.getRank() != 2 || !c.getElementType().isF32())
    return emitOpError("accumulates a 2-D f32 tile, not ") << c;
  int64_t M = c.getShape()[0], N = c.getShape()[1];
  MemDescType b = getB().getType();
  if (failed(checkSwizzledTile(*this, "B", b)))
    return failure();
  int64_t K = getBKMajor() ? b.getShape()[1] : b.getShape()[0];
  int64_t bN = getBKMajor() ? b.getShape()[0] : b.getShape()[1];
  if (bN != N)
    return emitOpError("B has ") << bN << " columns of the product, the accumulator " << N;
  Type elem = b.getElementType();
  ArrayRef<int64_t> aShape;
  if (auto a = dyn_cast<MemDescType>(getA().getType())) {
    if (failed(checkSwizzledTile(*this, "A", a)))
      return failure();
    aShape = a.getShape();
    if (a.getElementType() != elem)
      return emitOpError("A and B element types differ");
  } else {
    auto t = cast<RankedTensorType>(getA().getType());
    aShape = t.getShape();
    if (t.getElementType() != elem)
      return emitOpError("A and B element types differ");
  }
  if (!elem.isF16() && !elem.isBF16())
    return emitOpError("multiplies f16 or bf16, not ") << elem;
  if (aShape.size() != 2 || aShape[0] != M || aShape[1] != K)
    return emitOpError("A must be ") << M << "x" << K;
  if (M % 64 != 0 || K % 16 != 0 || N % 8 != 0 || N > 256)
    return emitOpError("a warpgroup MMA needs M a multiple of 64, K of 16, N of 8 and at most 256; got ")
           << M << "x" << N << "x" << K;
  return success();
}

} // namespace terrazzo::tzgpu
