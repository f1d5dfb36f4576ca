//===- LayoutOpToLLVM.cpp - shape ops and convert_layout -----------------===//
//
// broadcast, expand_dims, reshape, trans and convert_layout all say "element
// c of the result is element map(c) of the source" for a map that is linear
// over F2; remapTile does the rest (registers when possible, else shared
// memory), so none of them needs a case per pair of layouts.
#include "Patterns.h"
#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

template <typename SourceOp>
struct RemapLowering : OpConversionPattern<SourceOp> {
  using OpConversionPattern<SourceOp>::OpConversionPattern;
  using OneToNOpAdaptor = typename OpConversionPattern<SourceOp>::OneToNOpAdaptor;

  virtual CoordMap coordMap(SourceOp op) const = 0;

  LogicalResult matchAndRewrite(SourceOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    auto srcType = cast<RankedTensorType>(op.getSrc().getType());
    auto dstType = cast<RankedTensorType>(op.getType());
    SmallVector<Value> values = remapTile(rewriter, op.getLoc(), op, adaptor.getOperands().front(),
                                          layoutOf(srcType), layoutOf(dstType), coordMap(op));
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

struct ConvertLayoutLowering : RemapLowering<ConvertLayoutOp> {
  using RemapLowering::RemapLowering;
  CoordMap coordMap(ConvertLayoutOp) const override {
    return [](const Coord &c) { return c; };
  }
};

struct BroadcastLowering : RemapLowering<tz::BroadcastOp> {
  using RemapLowering::RemapLowering;
  CoordMap coordMap(tz::BroadcastOp op) const override {
    SmallVector<int64_t> srcShape(cast<RankedTensorType>(op.getSrc().getType()).getShape());
    return [srcShape](const Coord &c) {
      Coord out = c;
      for (size_t d = 0; d < srcShape.size(); ++d)
        if (srcShape[d] == 1)
          out[d] = 0;
      return out;
    };
  }
};

struct ExpandDimsLowering : RemapLowering<tz::ExpandDimsOp> {
  using RemapLowering::RemapLowering;
  CoordMap coordMap(tz::ExpandDimsOp op) const override {
    int axis = op.getAxis();
    return [axis](const Coord &c) {
      Coord out = c;
      out.erase(out.begin() + axis);
      return out;
    };
  }
};

struct TransLowering : RemapLowering<tz::TransOp> {
  using RemapLowering::RemapLowering;
  CoordMap coordMap(tz::TransOp op) const override {
    // Result dimension i is source dimension order[i].
    SmallVector<int32_t> order(op.getOrder());
    return [order](const Coord &c) {
      Coord out(c.size(), 0);
      for (size_t i = 0; i < order.size(); ++i)
        out[order[i]] = c[i];
      return out;
    };
  }
};

struct ReshapeLowering : RemapLowering<tz::ReshapeOp> {
  using RemapLowering::RemapLowering;
  CoordMap coordMap(tz::ReshapeOp op) const override {
    SmallVector<int64_t> srcShape(cast<RankedTensorType>(op.getSrc().getType()).getShape());
    SmallVector<int64_t> dstShape(op.getType().getShape());
    // Row-major position in the result, then coordinates in the source:
    // with power-of-two sizes this relabels bits, a linear map.
    return [srcShape, dstShape](const Coord &c) {
      int64_t index = 0;
      for (size_t d = 0; d < dstShape.size(); ++d)
        index = index * dstShape[d] + c[d];
      Coord out(srcShape.size(), 0);
      for (int d = srcShape.size() - 1; d >= 0; --d) {
        out[d] = index % srcShape[d];
        index /= srcShape[d];
      }
      return out;
    };
  }
};

} // namespace

void populateLayoutPatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  patterns.add<ConvertLayoutLowering, BroadcastLowering, ExpandDimsLowering, TransLowering, ReshapeLowering>(
      tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
