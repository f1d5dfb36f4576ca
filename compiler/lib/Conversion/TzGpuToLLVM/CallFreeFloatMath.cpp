//===- CallFreeFloatMath.cpp - f32 division and sqrt without subroutines -===//
//
// ptxas implements IEEE-rounded f32 division, reciprocal and square root
// (div.rn, rcp.rn, sqrt.rn) with a slow path that is a subroutine call, and
// a function that contains any call gets every wgmma.mma_async serialized
// (ptxas info C7509: "wgmma.mma_async instructions are serialized due to
// the presence of Extern calls"): each MMA waits for the one before, and
// nothing overlaps them. One `acc / l` in an attention epilogue is enough.
// In kernels that issue warpgroup MMAs, f32 division therefore lowers to
// div.full.f32 (at most 2 ulp, full range) and f32 square root to
// sqrt.approx.f32 (relative error at most 2^-23), the choice Triton makes
// for `/` and `sqrt` everywhere.
#include "Patterns.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

template <typename Op>
struct ToIntrinsic : ConvertOpToLLVMPattern<Op> {
  ToIntrinsic(const LLVMTypeConverter &tc, StringRef intrinsic, PatternBenefit benefit)
      : ConvertOpToLLVMPattern<Op>(tc, benefit), intrinsic(intrinsic.str()) {}
  LogicalResult matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    if (!op.getType().isF32())
      return failure();
    auto call = LLVM::CallIntrinsicOp::create(rewriter, op.getLoc(), rewriter.getF32Type(),
                                              rewriter.getStringAttr(intrinsic), adaptor.getOperands());
    rewriter.replaceOp(op, call.getResults());
    return success();
  }
  std::string intrinsic;
};

} // namespace

void populateCallFreeFloatMathPatterns(const LLVMTypeConverter &tc, RewritePatternSet &patterns,
                                       PatternBenefit benefit) {
  patterns.add<ToIntrinsic<arith::DivFOp>>(tc, "llvm.nvvm.div.full", benefit);
  patterns.add<ToIntrinsic<math::SqrtOp>>(tc, "llvm.nvvm.sqrt.approx.f", benefit);
}

} // namespace terrazzo::tzgpu::lowering
