//===- SharedMemoryAllocation.cpp - where each buffer lives in shared memory -===//
#include "terrazzo/Dialect/TzGpu/Analysis/SharedMemoryAllocation.h"

#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"
#include "terrazzo/Dialect/TzGpu/Analysis/Scratch.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

using namespace mlir;

namespace terrazzo::tzgpu {

LocalAllocOp allocationOf(Value buffer) {
  while (auto view = buffer.getDefiningOp<MemDescIndexOp>())
    buffer = view.getSrc();
  return buffer.getDefiningOp<LocalAllocOp>();
}

namespace {

// Program-order positions: an op's position, and for an op with regions
// the last position inside it.
struct ProgramOrder {
  llvm::DenseMap<Operation *, int64_t> position, lastInside;
  explicit ProgramOrder(ModuleOp module) {
    int64_t next = 0;
    module.walk<WalkOrder::PreOrder>([&](Operation *op) { position[op] = next++; });
    module.walk<WalkOrder::PostOrder>([&](Operation *op) {
      int64_t last = position[op];
      op->walk([&](Operation *inner) { last = std::max(last, position[inner]); });
      lastInside[op] = last;
    });
  }
};

// The last position at which a use by `user` keeps a buffer allocated by
// `alloc` alive: the use itself, or the end of the outermost loop around
// the use that does not contain the allocation. With `wholePartitions`, a
// use in a producer partition keeps it alive to the end of the
// warp_specialize (the producer runs alongside all of the consumer region,
// which comes after it in program order).
int64_t liveUntil(const ProgramOrder &order, Operation *alloc, Operation *user, bool wholePartitions) {
  int64_t end = order.position.lookup(user);
  for (Operation *p = user->getParentOp(); p; p = p->getParentOp()) {
    if (p->isAncestor(alloc))
      break;
    if (isa<LoopLikeOpInterface>(p))
      end = std::max(end, order.lastInside.lookup(p));
    if (auto ws = dyn_cast<WarpSpecializeOp>(p);
        wholePartitions && ws && ws.getProducer().isAncestor(user->getParentRegion()))
      end = std::max(end, order.lastInside.lookup(p));
  }
  return end;
}

bool inProducer(Operation *op) {
  for (Operation *p = op->getParentOp(); p; p = p->getParentOp())
    if (auto ws = dyn_cast<WarpSpecializeOp>(p))
      return ws.getProducer().isAncestor(op->getParentRegion());
  return false;
}

// Every op that uses `buffer` or a view of it.
void collectUsers(Value buffer, SmallVectorImpl<Operation *> &users) {
  for (Operation *user : buffer.getUsers()) {
    users.push_back(user);
    if (auto view = dyn_cast<MemDescIndexOp>(user))
      collectUsers(view.getResult(), users);
  }
}

bool overlapInTime(const SharedBuffer &a, const SharedBuffer &b) {
  return a.firstUse <= b.lastUse && b.firstUse <= a.lastUse;
}

} // namespace

SharedMemoryAllocation::SharedMemoryAllocation(ModuleOp module) {
  ProgramOrder order(module);
  module.walk([&](Operation *op) {
    if (auto alloc = dyn_cast<LocalAllocOp>(op)) {
      MemDescType type = alloc.getType();
      SharedBuffer b{op, false, type.totalBytes(), type.alignment(), order.position.lookup(op),
                     order.position.lookup(op)};
      SmallVector<Operation *> users;
      collectUsers(alloc.getResult(), users);
      // A buffer the producer fills and the consumers read is done with
      // once the consumers are: every copy the producer issues is one they
      // wait for (an epilogue's scratch after the consumer loop may take
      // its bytes). Only a buffer nothing else uses lives on as long as
      // the producer might.
      bool producerOnly = llvm::all_of(users, [](Operation *u) { return isa<MemDescIndexOp>(u) || inProducer(u); });
      for (Operation *user : users) {
        b.lastUse = std::max(b.lastUse, liveUntil(order, op, user, producerOnly));
        // A warpgroup MMA reads its buffers until the wait that retires it.
        if (auto mma = dyn_cast<WarpGroupDotOp>(user))
          for (Operation *wait : mma.getD().getUsers())
            if (isa<WarpGroupDotWaitOp>(wait))
              b.lastUse = std::max(b.lastUse, liveUntil(order, op, wait, producerOnly));
      }
      all.push_back(b);
      return;
    }
    ScratchNeed need = scratchNeed(op);
    if (need.bytes > 0) {
      int64_t at = order.position.lookup(op);
      all.push_back(SharedBuffer{op, true, need.bytes, need.alignment, at, at});
    }
  });

  // Largest first, each at the lowest aligned offset clear of the buffers
  // already placed that are alive at the same time.
  std::vector<SharedBuffer *> bySize;
  for (SharedBuffer &b : all)
    bySize.push_back(&b);
  std::stable_sort(bySize.begin(), bySize.end(),
                   [](const SharedBuffer *a, const SharedBuffer *b) { return a->bytes > b->bytes; });
  std::vector<SharedBuffer *> placed;
  for (SharedBuffer *b : bySize) {
    std::vector<SharedBuffer *> live;
    for (SharedBuffer *p : placed)
      if (overlapInTime(*p, *b))
        live.push_back(p);
    std::vector<int64_t> candidates{0};
    for (SharedBuffer *p : live)
      candidates.push_back(p->offset + p->bytes);
    int64_t best = -1;
    for (int64_t c : candidates) {
      int64_t offset = (c + b->alignment - 1) / b->alignment * b->alignment;
      bool clear = llvm::all_of(live, [&](SharedBuffer *p) {
        return offset + b->bytes <= p->offset || p->offset + p->bytes <= offset;
      });
      if (clear && (best < 0 || offset < best))
        best = offset;
    }
    b->offset = best;
    placed.push_back(b);
    total = std::max(total, best + b->bytes);
  }
}

SmallVector<SharedAccess> sharedAccesses(Operation *op) {
  SmallVector<SharedAccess> out;
  // The bytes of the whole buffer, or of one tile when the view selects it
  // with a constant (as each of a loop's mbarriers is initialised).
  auto addBuffer = [&](Value buffer, bool write) {
    LocalAllocOp alloc = allocationOf(buffer);
    if (!alloc || !alloc.getOffset())
      return;
    int64_t begin = *alloc.getOffset(), bytes = alloc.getType().totalBytes();
    IntegerAttr tile;
    if (auto view = buffer.getDefiningOp<MemDescIndexOp>();
        view && view.getSrc() == alloc.getResult() && matchPattern(view.getIndex(), m_Constant(&tile))) {
      bytes = alloc.getType().totalBytes() / alloc.getType().getShape().front();
      begin += tile.getInt() * bytes;
    }
    out.push_back({begin, begin + bytes, write});
  };
  if (auto copy = dyn_cast<AsyncCopyOp>(op))
    addBuffer(copy.getDst(), true);
  else if (auto copy = dyn_cast<AsyncTmaCopyOp>(op)) {
    addBuffer(copy.getDst(), true);
    addBuffer(copy.getBarrier(), false);
  } else if (isa<InitBarrierOp, InvalBarrierOp>(op))
    // Initialising or ending a barrier must not race with its use.
    addBuffer(op->getOperand(0), true);
  else if (isa<BarrierExpectOp, WaitBarrierOp>(op))
    // Arrivals and waits synchronise among themselves through the barrier.
    addBuffer(op->getOperand(0), false);
  else if (auto store = dyn_cast<LocalStoreOp>(op))
    addBuffer(store.getDst(), true);
  else if (auto load = dyn_cast<LocalLoadOp>(op)) {
    // A load whose every user is a dot that planDot reads from the buffer
    // itself (directly or through tz.trans) reads nothing here: the dot
    // does. Any other user makes it a real read into registers.
    auto readByDot = [&](Operation *u) {
      auto dot = dyn_cast<tz::DotOp>(u);
      if (!dot || cast<RankedTensorType>(dot.getA().getType()).getRank() != 2)
        return false;
      DotPlan plan = planDot(dot);
      auto reads = [&](const std::optional<BufferOperand> &b) { return b && b->read == load; };
      return reads(plan.aBuffer) || reads(plan.bBuffer);
    };
    bool onlyDots = !load->use_empty() && llvm::all_of(load->getUsers(), [&](Operation *u) {
      return readByDot(u) || (isa<tz::TransOp>(u) && !u->use_empty() && llvm::all_of(u->getUsers(), readByDot));
    });
    if (!onlyDots)
      addBuffer(load.getSrc(), false);
  } else if (auto mma = dyn_cast<WarpGroupDotOp>(op)) {
    if (isa<MemDescType>(mma.getA().getType()))
      addBuffer(mma.getA(), false);
    addBuffer(mma.getB(), false);
  } else if (auto dot = dyn_cast<tz::DotOp>(op)) {
    if (cast<RankedTensorType>(dot.getA().getType()).getRank() == 2) {
      DotPlan plan = planDot(dot);
      if (plan.aBuffer)
        addBuffer(plan.aBuffer->read.getSrc(), false);
      if (plan.bBuffer)
        addBuffer(plan.bBuffer->read.getSrc(), false);
    }
  }
  if (auto offset = op->getAttrOfType<IntegerAttr>(kScratchOffsetAttrName)) {
    auto bytes = op->getAttrOfType<IntegerAttr>(kScratchBytesAttrName);
    out.push_back({offset.getInt(), offset.getInt() + (bytes ? bytes.getInt() : 0), true});
  }
  return out;
}

} // namespace terrazzo::tzgpu
