//===- ScanOpToLLVM.cpp - tz.scan ----------------------------------------===//
//
// Through shared memory: the tile is written out, then each register walks
// the axis up to (or, reversed, down to) its own position. Linear work per
// element: simple and correct for the tile sizes scans see; a work-efficient
// scan over lanes and warps is left for when a kernel needs it.
#include "Combine.h"
#include "Patterns.h"
#include "Utility.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

struct ScanOpLowering : OpConversionPattern<tz::ScanOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult matchAndRewrite(tz::ScanOp op, OneToNOpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    tz::ReduceKind kind = op.getKind();
    if (isArgKind(kind))
      return rewriter.notifyMatchFailure(op, "argmax/argmin scans are not lowered");
    auto type = cast<RankedTensorType>(op.getType());
    LinearLayout layout = layoutOf(type);
    int axis = op.getAxis();
    int64_t length = type.getShape()[axis];
    ValueRange src = adaptor.getSrc();
    Type elem = src.front().getType();

    requireSharedBytes(op, layout.numElements() * sharedStorageBytes(elem));
    Value base = sharedBase(rewriter, loc, op);
    ThreadIds ids = threadIds(rewriter, loc);
    storeTileShared(rewriter, loc, base, layout, src, ids);
    barrier(rewriter, loc);
    ThreadCoords tc = threadCoords(rewriter, loc, layout, ids);

    // Stride of the axis in the row-major tile.
    int64_t stride = 1;
    for (int d = layout.rank() - 1; d > axis; --d)
      stride *= layout.shape()[d];
    SmallVector<Value> values;
    for (int r = 0; r < layout.numRegisters(); ++r) {
      SmallVector<Value> coord = registerCoord(rewriter, loc, tc, r);
      Value pos = coord[axis];
      coord[axis] = i32Const(rewriter, loc, 0);
      Value rowStart = linearIndex(rewriter, loc, layout.shape(), coord);
      // Walk [0, pos] forwards or [pos, length) for a reverse scan; the
      // element at pos starts the accumulator.
      Value lo = op.getReverse() ? arith::AddIOp::create(rewriter, loc, pos, i32Const(rewriter, loc, 1)).getResult()
                                 : i32Const(rewriter, loc, 0);
      Value hi = op.getReverse() ? i32Const(rewriter, loc, length) : pos;
      Value self = loadShared(rewriter, loc, base,
                              arith::AddIOp::create(rewriter, loc, rowStart,
                                                    arith::MulIOp::create(rewriter, loc, pos,
                                                                          i32Const(rewriter, loc, stride))),
                              elem);
      auto loop = scf::ForOp::create(rewriter, loc, lo, hi, i32Const(rewriter, loc, 1), ValueRange{self});
      {
        OpBuilder::InsertionGuard g(rewriter);
        rewriter.setInsertionPointToStart(loop.getBody());
        Value k = loop.getInductionVar();
        Value idx = arith::AddIOp::create(rewriter, loc, rowStart,
                                          arith::MulIOp::create(rewriter, loc, k, i32Const(rewriter, loc, stride)));
        Value v = loadShared(rewriter, loc, base, idx, elem);
        // Earlier elements combine on the left (matters for nothing we
        // support, all kinds commute, but keeps float sums in order).
        Value acc = loop.getRegionIterArgs()[0];
        Partial out = op.getReverse() ? combine(rewriter, loc, kind, {acc, {}}, {v, {}})
                                      : combine(rewriter, loc, kind, {v, {}}, {acc, {}});
        scf::YieldOp::create(rewriter, loc, out.value);
      }
      values.push_back(loop.getResult(0));
    }
    barrier(rewriter, loc);
    rewriter.replaceOpWithMultiple(op, {values});
    return success();
  }
};

} // namespace

void populateScanPatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  patterns.add<ScanOpLowering>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
