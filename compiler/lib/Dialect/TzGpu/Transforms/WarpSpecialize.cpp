//===- WarpSpecialize.cpp - producer loops in a warpgroup of their own ----===//
//
// tzgpu-pipeline (with warp-specialize) leaves a function like
//
//   %full = local_alloc; %empty = local_alloc; init_barrier ...
//   scf.for ... {tzgpu.producer_loop} { wait empty; arm full; TMA copies }
//   scf.for ... { wait full; MMAs; arrive empty }
//   inval_barrier ...
//
// which only runs once the two loops run at the same time in different
// warps. This pass makes the split:
//
//   allocations and barrier initialisations
//   tzgpu.warp_specialize producer {
//     clones of the scalar values the producer loops read; the loops
//   } consumer {
//     everything else, in order
//   }
//   invalidation of the producer loops' barriers
//
// The producer region sees only values defined before the
// warp_specialize: what a producer loop reads from the body (a program id,
// a loop bound, a batch offset) is recomputed there from those values,
// which needs it to be made by scalar ops without memory effects (or scalar
// loads) only (Analysis/ProducerValues.h).
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Analysis/ProducerValues.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUWARPSPECIALIZE
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

constexpr int kProducerWarps = 4;
constexpr int kProducerRegisters = 24;

// Registers per consumer thread: what the producer leaves of the 64K, in
// multiples of 8, at most 256.
int consumerRegisters(int consumerWarps) {
  int64_t left = 65536 - int64_t(kProducerWarps) * 32 * kProducerRegisters;
  return int(std::min<int64_t>(256, left / (32 * consumerWarps) / 8 * 8));
}

// The root buffer of a view.
Value rootBuffer(Value v) {
  while (auto index = v.getDefiningOp<MemDescIndexOp>())
    v = index.getSrc();
  return v;
}

// Ops that stay before the warp_specialize (with the views barrier
// initialisations read): buffer allocations, barrier initialisations and
// scalar constants.
bool staysBefore(Operation *op) {
  if (isa<LocalAllocOp, InitBarrierOp>(op))
    return true;
  if (auto c = dyn_cast<arith::ConstantOp>(op))
    return !isa<ShapedType>(c.getType());
  return false;
}

struct WarpSpecialize : impl::TzGpuWarpSpecializeBase<WarpSpecialize> {
  // Makes `v` (defined in the consumer region) available at `b` in the
  // producer region by cloning its computation; null if it cannot be.
  Value recompute(OpBuilder &b, Value v, Region &consumer, IRMapping &map) {
    if (Value known = map.lookupOrNull(v))
      return known;
    Operation *def = v.getDefiningOp();
    if (!def || !consumer.isAncestor(def->getParentRegion()))
      return v; // defined before the warp_specialize
    if (!recomputableInProducer(def)) {
      def->emitError("a warp-specialised loop's copies need this value, which the producer cannot recompute");
      return {};
    }
    for (Value operand : def->getOperands())
      if (!recompute(b, operand, consumer, map))
        return {};
    b.clone(*def, map);
    return map.lookup(v);
  }

  LogicalResult specialize(func::FuncOp func, int consumerWarps) {
    Block &body = func.getBody().front();
    SmallVector<scf::ForOp> producers;
    for (auto loop : body.getOps<scf::ForOp>())
      if (loop->hasAttr(kProducerLoopAttrName))
        producers.push_back(loop);
    if (producers.empty())
      return success();
    // Checked before anything moves (tzgpu-pipeline only splits loops that
    // pass), so that a failure leaves the function as it was.
    for (scf::ForOp loop : producers)
      if (!producerCanRecompute(loop))
        return loop.emitError("this producer loop reads a value the producer partition cannot compute itself");
    llvm::SmallPtrSet<Value, 8> producerBarriers;
    for (scf::ForOp loop : producers)
      loop.getBody()->walk([&](Operation *op) {
        if (auto wait = dyn_cast<WaitBarrierOp>(op))
          producerBarriers.insert(rootBuffer(wait.getBarrier()));
        if (auto expect = dyn_cast<BarrierExpectOp>(op))
          producerBarriers.insert(rootBuffer(expect.getBarrier()));
      });

    Operation *terminator = body.getTerminator();
    OpBuilder b(terminator);
    auto ws = WarpSpecializeOp::create(b, func.getLoc(), consumerWarps, kProducerWarps, kProducerRegisters,
                                       consumerRegisters(consumerWarps));
    Block *producer = &ws.getProducer().emplaceBlock();
    Block *consumer = &ws.getConsumer().emplaceBlock();

    // Partition the body, keeping each part in program order. A view an
    // initialisation reads stays before with it.
    SmallVector<Operation *> ops;
    for (Operation &op : body)
      if (&op != ws && &op != terminator)
        ops.push_back(&op);
    llvm::SmallPtrSet<Operation *, 16> before;
    for (Operation *op : ops) {
      if (staysBefore(op))
        before.insert(op);
      if (auto init = dyn_cast<InitBarrierOp>(op))
        if (Operation *view = init.getBarrier().getDefiningOp(); view && view->getBlock() == &body)
          before.insert(view);
    }
    SmallVector<InvalBarrierOp> invalidations;
    for (Operation *op : ops) {
      if (before.contains(op)) {
        op->moveBefore(ws);
      } else if (auto loop = dyn_cast<scf::ForOp>(op); loop && loop->hasAttr(kProducerLoopAttrName)) {
        loop->removeAttr(kProducerLoopAttrName);
        op->moveBefore(producer, producer->end());
      } else if (auto inval = dyn_cast<InvalBarrierOp>(op);
                 inval && producerBarriers.contains(rootBuffer(inval.getBarrier()))) {
        invalidations.push_back(inval);
      } else {
        op->moveBefore(consumer, consumer->end());
      }
    }
    // The barriers end after both partitions are done with them.
    b.setInsertionPointAfter(ws);
    for (InvalBarrierOp inval : invalidations) {
      IRMapping map;
      if (Value view = recompute(b, inval.getBarrier(), ws.getConsumer(), map))
        map.map(inval.getBarrier(), view);
      else
        return failure();
      b.clone(*inval, map);
      inval.erase();
    }

    // The producer recomputes what it reads from the consumer region.
    b.setInsertionPointToStart(producer);
    IRMapping map;
    bool ok = true;
    producer->walk([&](Operation *op) {
      for (OpOperand &use : op->getOpOperands()) {
        Operation *def = use.get().getDefiningOp();
        if (!def || !ws.getConsumer().isAncestor(def->getParentRegion()))
          continue;
        OpBuilder::InsertionGuard guard(b);
        Value v = recompute(b, use.get(), ws.getConsumer(), map);
        if (!v) {
          ok = false;
          return WalkResult::interrupt();
        }
        use.set(v);
      }
      return WalkResult::advance();
    });
    return success(ok);
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int consumerWarps = moduleNumWarps(module);
    bool any = false;
    for (auto func : module.getOps<func::FuncOp>()) {
      bool has = llvm::any_of(func.getBody().front().getOps<scf::ForOp>(),
                              [](scf::ForOp l) { return l->hasAttr(kProducerLoopAttrName); });
      if (!has)
        continue;
      if (consumerWarps % 4 != 0) {
        func.emitError("warp specialisation needs whole warpgroups of consumers: num_warps ")
            << consumerWarps << " is not a multiple of 4";
        return signalPassFailure();
      }
      if (failed(specialize(func, consumerWarps)))
        return signalPassFailure();
      any = true;
    }
    if (any)
      module->setAttr(kProducerWarpsAttrName, IntegerAttr::get(IntegerType::get(&getContext(), 32), kProducerWarps));
  }
};

} // namespace
} // namespace terrazzo::tzgpu
