//===- DeferWarpGroupDotWaits.cpp - keep a loop's MMA in flight ----------===//
//
// tzgpu-lower-warp-group-dots puts a wait right after each warpgroup MMA, so
// a GEMM's main loop runs
//
//   iteration i: wait for tile i, issue the copies of a later tile,
//                MMA(i), wait for MMA(i)
//
// and the tensor cores idle while the next iteration waits for its tile and
// issues its copies. When the loop carries the accumulator and nothing else
// reads it (mmaGroupsInFlight), the MMA may run on into the next iteration:
//
//   iteration i: wait for tile i, issue copies, MMA(i),
//                wait until at most one group is in flight (retires MMA(i-1))
//   after the loop: wait for the last MMA
//
// MMA(i) reads slot i % S of its buffers until that wait in iteration i + 1,
// so the copies must leave that slot alone meanwhile. tzgpu-pipeline makes
// them run S - 2 iterations ahead for such loops: the copy issued in
// iteration i + 1 fills slot (i + S - 1) % S, never i % S. This pass checks
// the schedule it relies on from the IR: each buffer the MMA reads is a
// pipelined buffer of S tiles whose in-loop tzgpu.async_wait leaves
// `pending` copy groups outstanding (the copies run pending + 1 iterations
// ahead), with S >= pending + 3, and is written by nothing but those async
// copies; or, for TMA copies, each copy fills slot (n + a) % S where the
// loop waits on the barrier of slot n % S, with S >= a + 2; or it is not
// written in the loop at all. A warp-specialised loop (tzgpu-pipeline's
// producer/consumer split) writes none of its buffers: its copies are the
// producer's, which refills a slot only after the loop released it, so
// the release moves to the wait that retires the MMA reading the slot.
#include "terrazzo/Dialect/TzGpu/Analysis/MmaInFlight.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUDEFERWARPGROUPDOTWAITS
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

// The buffer `view` is a view of (through memdesc_index), or itself.
Value rootBuffer(Value view) {
  while (auto index = view.getDefiningOp<MemDescIndexOp>())
    view = index.getSrc();
  return view;
}

// How many iterations ahead of the one waiting on slot n % S a TMA copy of
// `loop` fills its slot (n + a) % S: a, if the IR shows it.
std::optional<int64_t> tmaCopyAhead(scf::ForOp loop, AsyncTmaCopyOp copy, int64_t stages) {
  auto slotOf = [&](Value view) -> std::optional<std::pair<Value, int64_t>> {
    auto index = view.getDefiningOp<MemDescIndexOp>();
    auto rem = index ? index.getIndex().getDefiningOp<arith::RemSIOp>() : arith::RemSIOp();
    IntegerAttr s;
    if (!rem || !matchPattern(rem.getRhs(), m_Constant(&s)) || s.getInt() != stages)
      return std::nullopt;
    Value n = rem.getLhs();
    IntegerAttr a;
    if (auto add = n.getDefiningOp<arith::AddIOp>(); add && matchPattern(add.getRhs(), m_Constant(&a)))
      return std::make_pair(add.getLhs(), a.getInt());
    return std::make_pair(n, int64_t(0));
  };
  auto filled = slotOf(copy.getDst());
  if (!filled)
    return std::nullopt;
  for (auto wait : loop.getBody()->getOps<WaitBarrierOp>())
    if (auto waited = slotOf(wait.getBarrier()); waited && waited->second == 0 && waited->first == filled->first)
      return filled->second;
  return std::nullopt;
}

// Whether the copies and stores of `loop` leave the slot an MMA in flight
// reads from `operand` alone until the next iteration's wait.
bool slotSurvivesNextIteration(scf::ForOp loop, Value operand) {
  if (!isa<MemDescType>(operand.getType()))
    return true; // A in registers
  Value buffer = rootBuffer(operand);
  bool written = false, onlyAsyncCopies = true;
  SmallVector<AsyncTmaCopyOp> tmaCopies;
  loop.getBody()->walk([&](Operation *op) {
    Value dst;
    if (auto copy = dyn_cast<AsyncCopyOp>(op))
      dst = copy.getDst();
    else if (auto copy = dyn_cast<AsyncTmaCopyOp>(op)) {
      dst = copy.getDst();
      if (rootBuffer(dst) == buffer)
        tmaCopies.push_back(copy);
    } else if (auto store = dyn_cast<LocalStoreOp>(op)) {
      dst = store.getDst();
      if (rootBuffer(dst) == buffer)
        onlyAsyncCopies = false;
    }
    if (dst && rootBuffer(dst) == buffer)
      written = true;
  });
  if (!written)
    return true;
  if (!onlyAsyncCopies)
    return false;
  // A buffer made in the loop is a new one each iteration (no schedule to
  // check); one that comes in as an argument is checked like an allocation.
  if (Operation *def = buffer.getDefiningOp(); def && loop->isAncestor(def))
    return false;
  int64_t stages = cast<MemDescType>(buffer.getType()).numTiles();
  if (!tmaCopies.empty())
    return llvm::all_of(tmaCopies, [&](AsyncTmaCopyOp copy) {
      std::optional<int64_t> ahead = tmaCopyAhead(loop, copy, stages);
      return ahead && stages >= *ahead + 2;
    });
  std::optional<int64_t> pending;
  for (auto wait : loop.getBody()->getOps<AsyncWaitOp>())
    if (llvm::is_contained(wait.getBuffers(), buffer))
      pending = pending ? std::min<int64_t>(*pending, wait.getPending()) : wait.getPending();
  return pending && stages >= *pending + 3;
}

// A warp-specialised loop's release of its stage (tzgpu-pipeline's form:
// an arrive on the empty barrier of slot n % S, n the iteration number).
struct StageRelease {
  ArriveBarrierOp arrive;
  Value barriers; // the S empty barriers
  Value iteration;
  int64_t stages;
};

std::optional<StageRelease> stageRelease(ArriveBarrierOp arrive) {
  auto index = arrive.getBarrier().getDefiningOp<MemDescIndexOp>();
  auto rem = index ? index.getIndex().getDefiningOp<arith::RemSIOp>() : arith::RemSIOp();
  IntegerAttr s;
  if (!rem || !matchPattern(rem.getRhs(), m_Constant(&s)) ||
      cast<MemDescType>(index.getSrc().getType()).numTiles() != s.getInt())
    return std::nullopt;
  return StageRelease{arrive, index.getSrc(), rem.getLhs(), s.getInt()};
}

// The loop's stage releases, or nullopt if one is not in the form above.
std::optional<SmallVector<StageRelease>> stageReleases(scf::ForOp loop) {
  SmallVector<StageRelease> releases;
  for (auto arrive : loop.getBody()->getOps<ArriveBarrierOp>()) {
    std::optional<StageRelease> r = stageRelease(arrive);
    if (!r)
      return std::nullopt;
    releases.push_back(*r);
  }
  return releases;
}

void defer(scf::ForOp loop, WarpGroupDotOp mma, WarpGroupDotWaitOp wait, unsigned index,
           ArrayRef<StageRelease> releases) {
  // In the loop: the MMA's value goes straight to the next iteration, and
  // a wait that leaves this iteration's group in flight retires the last.
  wait.getOutputs()[0].replaceAllUsesWith(mma.getD());
  OpBuilder b(wait);
  auto retire = WarpGroupDotWaitOp::create(b, wait.getLoc(), TypeRange{}, ValueRange{}, b.getI32IntegerAttr(1));
  wait.erase();
  b.setInsertionPointAfter(retire);
  // A warp-specialised loop released its stage at the end of the
  // iteration; the MMA now reads it until that wait in the next one, so
  // iteration n releases the stage of iteration n - 1 (if any) there.
  for (StageRelease r : releases) {
    Location loc = r.arrive.getLoc();
    auto i32 = [&](int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); };
    Value previous = arith::RemSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, r.iteration, i32(r.stages - 1)), i32(r.stages));
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, r.iteration, i32(0));
    auto view = MemDescIndexOp::create(b, loc, r.arrive.getBarrier().getType(), r.barriers, previous);
    ArriveBarrierOp::create(b, loc, view, arith::AndIOp::create(b, loc, any, r.arrive.getPred()));
    Operation *oldView = r.arrive.getBarrier().getDefiningOp();
    r.arrive.erase();
    if (oldView->use_empty())
      oldView->erase();
  }
  // After it: the last MMA is retired before its accumulator is read.
  b.setInsertionPointAfter(loop);
  Value result = loop.getResult(index);
  auto last = WarpGroupDotWaitOp::create(b, loop.getLoc(), TypeRange{result.getType()}, ValueRange{result},
                                         b.getI32IntegerAttr(0));
  result.replaceAllUsesExcept(last.getOutputs()[0], last);
}

struct DeferWarpGroupDotWaits : impl::TzGpuDeferWarpGroupDotWaitsBase<DeferWarpGroupDotWaits> {
  void runOnOperation() override {
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) { loops.push_back(loop); });
    for (scf::ForOp loop : loops) {
      if (mmaGroupsInFlight(loop) != 1)
        continue;
      auto mmas = loop.getBody()->getOps<WarpGroupDotOp>();
      if (std::distance(mmas.begin(), mmas.end()) != 1)
        continue;
      WarpGroupDotOp mma = *mmas.begin();
      auto wait = dyn_cast_or_null<WarpGroupDotWaitOp>(mma->getNextNode());
      if (!wait || wait.getPending() != 0 || wait.getInputs().size() != 1 || wait.getInputs()[0] != mma.getD())
        continue; // already deferred, or not the lowering's form
      std::optional<unsigned> index = carriedAccumulator(mma, mma.getC(), wait.getOutputs()[0]);
      if (!index || !slotSurvivesNextIteration(loop, mma.getA()) || !slotSurvivesNextIteration(loop, mma.getB()))
        continue;
      std::optional<SmallVector<StageRelease>> releases = stageReleases(loop);
      if (!releases)
        continue;
      defer(loop, mma, wait, *index, *releases);
    }
  }
};

} // namespace
} // namespace terrazzo::tzgpu
