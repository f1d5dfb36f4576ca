//===- LayoutOpToLLVM.cpp - shape ops and convert_layout -----------------===//
//
// broadcast, expand_dims, reshape, trans and convert_layout all say "element
// c of the result is element map(c) of the source" for a map that is linear
// over F2; remapTile does the rest (registers when possible, else shared
// memory), so none of them needs a case per pair of layouts.
#include "Patterns.h"
#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Analysis/Scratch.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

// The map of each op comes from remapCoordMap (Analysis/Scratch.cpp), the
// same one the allocation sized the op's scratch space with.
template <typename SourceOp>
struct RemapLowering : OpConversionPattern<SourceOp> {
  using OpConversionPattern<SourceOp>::OpConversionPattern;
  using OneToNOpAdaptor = typename OpConversionPattern<SourceOp>::OneToNOpAdaptor;

  LogicalResult matchAndRewrite(SourceOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto srcType = cast<RankedTensorType>(op.getSrc().getType());
    auto dstType = cast<RankedTensorType>(op.getType());
    SmallVector<Value> values = remapTile(rewriter, op.getLoc(), op, adaptor.getOperands().front(),
                                          layoutOf(srcType), layoutOf(dstType), remapCoordMap(op));
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

} // namespace

void populateLayoutPatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  patterns.add<RemapLowering<ConvertLayoutOp>, RemapLowering<tz::BroadcastOp>, RemapLowering<tz::ExpandDimsOp>,
               RemapLowering<tz::TransOp>, RemapLowering<tz::ReshapeOp>>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
