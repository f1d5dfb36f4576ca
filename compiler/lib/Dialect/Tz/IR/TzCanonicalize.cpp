//===- TzCanonicalize.cpp - canonicalization patterns of tz ops ----------===//
//
// Patterns that simplify tile shape chains and masked memory access whose mask
// is known at compile time.
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace terrazzo::tz;

namespace {
// broadcast(splat(x)) -> splat(x): the splat already has every element equal.
struct BroadcastOfSplat : OpRewritePattern<BroadcastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BroadcastOp op, PatternRewriter &rewriter) const override {
    auto splat = op.getSrc().getDefiningOp<SplatOp>();
    if (!splat)
      return failure();
    rewriter.replaceOpWithNewOp<SplatOp>(op, op.getType(), splat.getSrc());
    return success();
  }
};

// broadcast(broadcast(x)) -> broadcast(x).
struct BroadcastOfBroadcast : OpRewritePattern<BroadcastOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(BroadcastOp op, PatternRewriter &rewriter) const override {
    auto inner = op.getSrc().getDefiningOp<BroadcastOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<BroadcastOp>(op, op.getType(), inner.getSrc());
    return success();
  }
};

// expand_dims(splat(x)) -> splat(x).
struct ExpandDimsOfSplat : OpRewritePattern<ExpandDimsOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ExpandDimsOp op, PatternRewriter &rewriter) const override {
    auto splat = op.getSrc().getDefiningOp<SplatOp>();
    if (!splat)
      return failure();
    rewriter.replaceOpWithNewOp<SplatOp>(op, op.getType(), splat.getSrc());
    return success();
  }
};

enum class MaskValue { AllTrue, AllFalse, Unknown };
MaskValue classifyMask(Value mask) {
  if (!mask)
    return MaskValue::AllTrue;
  if (matchPattern(mask, m_One()))
    return MaskValue::AllTrue;
  if (matchPattern(mask, m_Zero()))
    return MaskValue::AllFalse;
  return MaskValue::Unknown;
}

// A load whose mask is all true needs neither mask nor other; one whose mask
// is all false reads nothing and yields `other`.
struct LoadWithConstantMask : OpRewritePattern<LoadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(LoadOp op, PatternRewriter &rewriter) const override {
    if (!op.getMask())
      return failure();
    switch (classifyMask(op.getMask())) {
    case MaskValue::AllTrue:
      rewriter.replaceOpWithNewOp<LoadOp>(op, op.getType(), op.getPtr(), Value(), Value());
      return success();
    case MaskValue::AllFalse:
      if (!op.getOther())
        return failure();
      rewriter.replaceOp(op, op.getOther());
      return success();
    case MaskValue::Unknown:
      return failure();
    }
    return failure();
  }
};

// A store whose mask is all true drops the mask; all false drops the store.
struct StoreWithConstantMask : OpRewritePattern<StoreOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(StoreOp op, PatternRewriter &rewriter) const override {
    if (!op.getMask())
      return failure();
    switch (classifyMask(op.getMask())) {
    case MaskValue::AllTrue:
      rewriter.replaceOpWithNewOp<StoreOp>(op, op.getPtr(), op.getValue(), Value());
      return success();
    case MaskValue::AllFalse:
      rewriter.eraseOp(op);
      return success();
    case MaskValue::Unknown:
      return failure();
    }
    return failure();
  }
};
} // namespace

void BroadcastOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<BroadcastOfSplat, BroadcastOfBroadcast>(context);
}
void ExpandDimsOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<ExpandDimsOfSplat>(context);
}
void LoadOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<LoadWithConstantMask>(context);
}
void StoreOp::getCanonicalizationPatterns(RewritePatternSet &results, MLIRContext *context) {
  results.add<StoreWithConstantMask>(context);
}
