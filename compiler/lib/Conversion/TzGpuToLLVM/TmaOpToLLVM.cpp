//===- TmaOpToLLVM.cpp - mbarriers and TMA copies ------------------------===//
//
// Thread 0 of the block (of a warp_specialize partition, in one)
// initialises, arms and invalidates mbarriers and issues TMA copies (through the PTX predicate of the NVVM op where it has
// one, else a branch); every thread waits on a barrier itself, and every
// thread arrives where a tzgpu.arrive_barrier says so. A
// tzgpu.async_tma_copy of a tile [rows, cols] is one cp.async.bulk.tensor
// per 128-byte column block: block b starts at column coordinate c0 + 64 b
// (16-bit elements) and lands b * rows * 128 bytes into the tile, which is
// how the 128-byte swizzle stores it.
#include "Patterns.h"
#include "Utility.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;

namespace terrazzo::tzgpu::lowering {
namespace {

struct InitBarrierOpLowering : OpConversionPattern<InitBarrierOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(InitBarrierOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    NVVM::MBarrierInitOp::create(rewriter, loc, adaptor.getBarrier(), i32Const(rewriter, loc, op.getCount()),
                                 isFirstThread(rewriter, loc));
    // The initialisation must be visible to the copies' complete-tx; and
    // every thread's earlier generic writes of bytes TMA will now write
    // must be ordered before those async-proxy writes (the block
    // synchronises after this op: tzgpu-insert-barriers).
    NVVM::FenceMbarrierInitOp::create(rewriter, loc);
    fenceProxyAsync(rewriter, loc);
    rewriter.eraseOp(op);
    return success();
  }
};

struct InvalBarrierOpLowering : OpConversionPattern<InvalBarrierOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(InvalBarrierOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    guardedEffect(rewriter, loc, isFirstThread(rewriter, loc),
                  [&](OpBuilder &b) { NVVM::MBarrierInvalOp::create(b, loc, adaptor.getBarrier()); });
    rewriter.eraseOp(op);
    return success();
  }
};

struct BarrierExpectOpLowering : OpConversionPattern<BarrierExpectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(BarrierExpectOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value issue = arith::AndIOp::create(rewriter, loc, adaptor.getPred(), isFirstThread(rewriter, loc));
    NVVM::MBarrierArriveExpectTxOp::create(rewriter, loc, Type(), adaptor.getBarrier(),
                                           i32Const(rewriter, loc, op.getBytes()), NVVM::MemScopeKind::CTA,
                                           /*relaxed=*/false, issue);
    rewriter.eraseOp(op);
    return success();
  }
};

struct WaitBarrierOpLowering : OpConversionPattern<WaitBarrierOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(WaitBarrierOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    // The suspend-time hint of each try (ns); the op loops until the phase
    // completed.
    NVVM::MBarrierTryWaitParityOp::create(rewriter, loc, adaptor.getBarrier(), adaptor.getPhase(),
                                          i32Const(rewriter, loc, 10000000));
    // The threads of a warp may leave the waiting loop at different
    // iterations; what follows is often a warp-collective .aligned
    // instruction (wgmma.fence), which needs the warp converged again.
    NVVM::SyncWarpOp::create(rewriter, loc, i32Const(rewriter, loc, -1));
    rewriter.eraseOp(op);
    return success();
  }
};

struct ArriveBarrierOpLowering : OpConversionPattern<ArriveBarrierOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(ArriveBarrierOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    guardedEffect(rewriter, loc, adaptor.getPred(), [&](OpBuilder &b) {
      NVVM::MBarrierArriveOp::create(b, loc, b.getI64Type(), adaptor.getBarrier(), /*count=*/Value(),
                                     NVVM::MemScopeKindAttr::get(b.getContext(), NVVM::MemScopeKind::CTA));
    });
    rewriter.eraseOp(op);
    return success();
  }
};

struct AsyncTmaCopyOpLowering : OpConversionPattern<AsyncTmaCopyOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult matchAndRewrite(AsyncTmaCopyOp op, OpAdaptor adaptor,
                                ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MemDescType tile = op.getDst().getType();
    int64_t rows = tile.tileShape()[0], perBlock = 128 / tile.elementBytes();
    int64_t blocks = tile.tileShape()[1] / perBlock;
    Value issue = arith::AndIOp::create(rewriter, loc, adaptor.getPred(), isFirstThread(rewriter, loc));
    // The copy into shared::cta takes no PTX predicate: branch around it.
    guardedEffect(rewriter, loc, issue, [&](OpBuilder &b) {
      SmallVector<Value> coords(adaptor.getCoords().begin(), adaptor.getCoords().end());
      Value firstColumn = coords[0];
      for (int64_t blk = 0; blk < blocks; ++blk) {
        Value dst = blk ? sharedByteAddress(b, loc, adaptor.getDst(), i32Const(b, loc, blk * rows * 128))
                        : adaptor.getDst();
        if (blk)
          coords[0] = arith::AddIOp::create(b, loc, firstColumn, i32Const(b, loc, blk * perBlock));
        NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp::create(
            b, loc, dst, adaptor.getMap(), coords, adaptor.getBarrier(), /*im2colOffsets=*/ValueRange{},
            /*multicastMask=*/Value(), /*l2CacheHint=*/Value(), NVVM::TMALoadMode::TILE, /*isCTAOnly=*/true,
            /*group=*/NVVM::CTAGroupKindAttr(), /*predicate=*/Value());
      }
    });
    rewriter.eraseOp(op);
    return success();
  }
};

} // namespace

void populateTmaPatterns(TypeConverter &tc, RewritePatternSet &patterns) {
  patterns.add<InitBarrierOpLowering, InvalBarrierOpLowering, BarrierExpectOpLowering, WaitBarrierOpLowering,
               ArriveBarrierOpLowering, AsyncTmaCopyOpLowering>(tc, patterns.getContext());
}

} // namespace terrazzo::tzgpu::lowering
