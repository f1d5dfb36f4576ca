//===- InsertBarriers.cpp - synchronise where buffers share bytes --------===//
//
// Once buffers whose lifetimes do not overlap share bytes, an op may write
// bytes another thread is still reading for an earlier buffer, or read
// bytes before every thread has written them. This pass tracks which bytes
// were read and written since the block last synchronised and puts a
// tzgpu.barrier before an op that would race with them.
//
// A tzgpu.warp_group_dot's reads are recorded at the op. That is enough while
// its wait follows it at once (tzgpu-lower-warp-group-dots): a barrier
// placed later comes after every warpgroup retired its MMAs. A barrier does
// not wait for MMAs in flight, so the one case where a wait moves further
// away, a loop's MMA left running into the next iteration
// (tzgpu-defer-warp-group-dot-waits), is checked by that pass instead: it
// only defers when the loop's copies never refill the slot the MMA reads
// before the next iteration's wait retires it.
//
// In a tzgpu.warp_specialize, barriers are per partition (see
// visitPartitions).
#include "terrazzo/Dialect/TzGpu/Analysis/SharedMemoryAllocation.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Interfaces/LoopLikeInterface.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUINSERTBARRIERS
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

// Bytes read and written since the last synchronisation.
struct Pending {
  SmallVector<SharedAccess> accesses;
  bool conflictsWith(const SharedAccess &a) const {
    return llvm::any_of(accesses, [&](const SharedAccess &p) {
      return (a.write || p.write) && a.begin < p.end && p.begin < a.end;
    });
  }
  void merge(const Pending &o) { accesses.append(o.accesses.begin(), o.accesses.end()); }
};

bool synchronises(Operation *op) { return isa<AsyncWaitOp, BarrierOp>(op); }

struct InsertBarriers : impl::TzGpuInsertBarriersBase<InsertBarriers> {
  // Walks `block` from `state`, inserting barriers; returns the state at
  // its end.
  Pending visitBlock(Block &block, Pending state) {
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (synchronises(&op)) {
        state = {};
        continue;
      }
      SmallVector<SharedAccess> accesses = sharedAccesses(&op);
      if (llvm::any_of(accesses, [&](const SharedAccess &a) { return state.conflictsWith(a); })) {
        OpBuilder b(&op);
        BarrierOp::create(b, op.getLoc());
        state = {};
      }
      if (auto ws = dyn_cast<WarpSpecializeOp>(&op)) {
        state = visitPartitions(ws, state);
        continue;
      }
      if (op.getNumRegions() > 0) {
        state = visitRegions(&op, state);
        continue;
      }
      if (op.hasAttr(kScratchOffsetAttrName)) {
        // The lowering of an op with scratch ends with a barrier.
        state = {};
        continue;
      }
      // An async copy completes at its async_wait, which synchronises; a TMA
      // copy at the barrier wait of each thread that reads its tile.
      if (isa<AsyncCopyOp, AsyncTmaCopyOp>(op))
        continue;
      for (const SharedAccess &a : accesses)
        state.accesses.push_back(a);
    }
    return state;
  }

  // A barrier inside a partition synchronises that partition's warps only
  // (the lowering makes it a named barrier), so whatever is pending when
  // the partitions start is settled by a barrier of the whole block before
  // them. The partitions order their shared accesses of each other through
  // mbarriers (copies are not recorded); each starts synchronised. After
  // them, what either left pending is.
  Pending visitPartitions(WarpSpecializeOp ws, const Pending &before) {
    if (!before.accesses.empty()) {
      OpBuilder b(ws);
      BarrierOp::create(b, ws.getLoc());
    }
    Pending after;
    for (Region *region : {&ws.getProducer(), &ws.getConsumer()})
      after.merge(visitBlock(region->front(), {}));
    return after;
  }

  Pending visitRegions(Operation *op, const Pending &before) {
    Pending after = before; // a loop may run no iteration, a branch may be empty
    bool loop = isa<LoopLikeOpInterface>(op);
    for (Region &region : op->getRegions())
      for (Block &block : region) {
        Pending end = visitBlock(block, before);
        if (loop) {
          // The next iteration follows the end of this one.
          Pending again = before;
          again.merge(end);
          end = visitBlock(block, again);
        }
        after.merge(end);
      }
    return after;
  }

  void runOnOperation() override {
    for (Region &region : getOperation()->getRegions())
      for (Block &block : region)
        visitBlock(block, {});
  }
};

} // namespace
} // namespace terrazzo::tzgpu
