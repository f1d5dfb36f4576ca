//===- Pipeline.cpp - loads feeding dots run ahead with cp.async ---------===//
//
// In a loop like
//
//   for k in range(lo, hi, step):
//       a = tz.load(a_ptrs(k)); b = tz.load(b_ptrs(k))
//       acc = tz.dot(a, b, acc)
//
// every iteration waits for its loads before its dot. With S stages, tiles
// are copied into S shared-memory slots by cp.async, S - 1 iterations ahead:
//
//   prologue: copy tiles of iterations 0 .. S-2 into slots 0 .. S-2
//   iteration i: wait for tile i (barrier), copy tile i + S - 1 into the slot
//                iteration i - 1 read, then compute on slot i % S
//
// so the copies of later tiles overlap this iteration's math. When the
// loop's only dot is a warpgroup MMA whose accumulator it carries
// (mmaGroupsInFlight), that MMA may still be reading its slot during the
// next iteration (tzgpu-defer-warp-group-dot-waits): the copies then run
// S - 2 iterations ahead instead, so iteration i refills the slot of
// iteration i - 2, which the wait of iteration i - 1 retired. A 2-D load
// qualifies when each of its uses is a dot operand (A, B, or B through
// tz.trans; the backward reads one tile both ways), which the dots then read
// from the buffer directly: with ldmatrix from rows padded by 16 bytes, or,
// for dots planned as warpgroup MMAs (planDot), through wgmma descriptors
// from the 128-byte
// swizzle; its addresses and mask come from
// pure ops of the loop index and loop-invariant values (so they can be
// computed for a later iteration), its elements are 16 bit and the axis
// analysis proves chunks of at least 4 bytes (cp.async's smallest)
// contiguous and aligned. Copies past the end of the loop are masked off
// (zero bytes read).
//
// With TMA (the `tma` option, sm_90a), a load whose buffer is swizzled and
// that can be a TMA copy (planTmaCopy) is copied by one thread instead,
// completing on the stage's mbarrier (the loop's other loads keep cp.async,
// and the loop waits for both):
//
//   prologue: init one mbarrier per slot; arm slots 0 .. ahead-1 with the
//             bytes of their TMA tiles and issue their copies
//   iteration i: wait on slot i % S's barrier for parity (i / S) % 2, arm
//                and fill the slot of iteration i + ahead, compute
//   after the loop: invalidate the barriers (their bytes may be reused)
//
// Every thread waits itself, so nothing synchronises the block for the
// data; tzgpu-insert-barriers still puts a barrier before a copy that
// refills a slot other threads read in an earlier iteration.
//
// With warp specialisation too, a top-level loop whose loads are all TMA
// copies is split into a producer loop and the loop itself instead
// (splitProducerLoop), for tzgpu-warp-specialize to run in different warps.
#include "AsyncCopies.h"
#include "LayoutRematerialization.h"

#include "terrazzo/Analysis/AxisInfo.h"
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"
#include "terrazzo/Dialect/TzGpu/Analysis/MmaInFlight.h"
#include "terrazzo/Dialect/TzGpu/Analysis/ProducerValues.h"
#include "terrazzo/Dialect/TzGpu/Analysis/Scratch.h"
#include "terrazzo/Dialect/TzGpu/Analysis/TmaCopyPlan.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/LoopLikeInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUPIPELINE
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

int64_t chunkElements(tz::LoadOp load, const AxisInfoAnalysis &axis) {
  auto tile = dyn_cast<RankedTensorType>(load.getType());
  if (!tile || tile.getRank() != 2 || tile.getElementType().getIntOrFloatBitWidth() != 16)
    return 0;
  int64_t bytes = 2, cols = tile.getShape()[1];
  if ((cols * bytes) % 16 != 0)
    return 0;
  if (Value other = load.getOther()) {
    // Masked-off chunks are zero-filled: only a zero `other` is honoured.
    auto cst = other.getDefiningOp<arith::ConstantOp>();
    auto dense = cst ? dyn_cast<DenseElementsAttr>(cst.getValue()) : DenseElementsAttr();
    if (!dense || !dense.isSplat())
      return 0;
    Attribute v = dense.getSplatValue<Attribute>();
    auto f = dyn_cast<FloatAttr>(v);
    if (!f || !f.getValue().isZero() || f.getValue().isNegative())
      return 0;
  }
  AxisInfo p = axis.get(load.getPtr());
  int64_t n = std::min({p.contiguity[1], std::max<int64_t>(1, p.div(1) / bytes), 16 / bytes});
  if (Value mask = load.getMask())
    n = std::min(n, axis.get(mask).constancy[1]);
  return n * bytes >= 4 ? n : 0;
}

void createAsyncCopy(OpBuilder &b, Location loc, Value ptr, Value mask, Value predicate, Value dst, int64_t chunk,
                     int numWarps) {
  auto tile = cast<RankedTensorType>(ptr.getType());
  LinearLayout copyLayout = LinearLayout::blocked(tile.getShape(), numWarps, chunk);
  TileRebuilder rebuilder;
  auto inCopyLayout = [&](Value v) -> Value {
    if (rebuilder.canRebuild(v, copyLayout))
      return rebuilder.rebuild(v, copyLayout);
    return ConvertLayoutOp::create(b, loc, retyped(v, copyLayout), v);
  };
  Value copyMask = mask ? inCopyLayout(mask) : Value();
  if (predicate) {
    auto maskType = RankedTensorType::get(tile.getShape(), b.getI1Type(),
                                          LinearEncodingAttr::fromLayout(b.getContext(), copyLayout));
    Value splat = tz::SplatOp::create(b, loc, maskType, predicate);
    copyMask = copyMask ? arith::AndIOp::create(b, loc, copyMask, splat).getResult() : splat;
  }
  AsyncCopyOp::create(b, loc, inCopyLayout(ptr), copyMask, dst);
}

namespace {

// Address computations larger than this are not worth copying per stage.
constexpr int kMaxSliceOps = 64;

// The dots that read `load` from its slot: every use must be a dot operand
// (A or B), or a transpose used once, as B (empty if any use is not).
SmallVector<tz::DotOp> dotsFedFromShared(tz::LoadOp load) {
  SmallVector<tz::DotOp> dots;
  for (OpOperand &use : load.getResult().getUses()) {
    Value v = load.getResult();
    Operation *user = use.getOwner();
    bool transposed = false;
    if (auto trans = dyn_cast<tz::TransOp>(user)) {
      if (!trans.getResult().hasOneUse())
        return {};
      v = trans.getResult();
      user = *v.getUsers().begin();
      transposed = true;
    }
    auto dot = dyn_cast<tz::DotOp>(user);
    if (!dot || dot->getBlock() != load->getBlock() || !(dot.getB() == v || (!transposed && dot.getA() == v)))
      return {};
    dots.push_back(dot);
  }
  return dots;
}

// A pointer the loop carries and advances by the same offset every
// iteration (`p += BLOCK_K * stride`): at iteration n it is init + n * step.
struct CarriedPointer {
  BlockArgument arg;
  Value init;
  Value step; // the offset added each iteration, computed from loop invariants
};

// `arg` as a CarriedPointer, if the loop yields addptr(arg, step) for it with
// `step` computed by pure ops of the body from values defined outside it.
std::optional<CarriedPointer> carriedPointer(scf::ForOp loop, BlockArgument arg) {
  auto iterArgs = loop.getRegionIterArgs();
  auto it = llvm::find(iterArgs, arg);
  if (it == iterArgs.end())
    return std::nullopt;
  unsigned i = it - iterArgs.begin();
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  auto advance = yield.getOperand(i).getDefiningOp<tz::AddPtrOp>();
  if (!advance || advance.getPtr() != arg || !isa<RankedTensorType>(arg.getType()))
    return std::nullopt;
  SmallVector<Value> work{advance.getOffset()};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (isa<BlockArgument>(v)) {
      if (cast<BlockArgument>(v).getOwner() == loop.getBody())
        return std::nullopt;
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (!loop->isAncestor(def))
      continue;
    if (def->getBlock() != loop.getBody() || !isPure(def) || def->getNumRegions() != 0)
      return std::nullopt;
    work.append(def->getOperands().begin(), def->getOperands().end());
  }
  return CarriedPointer{arg, loop.getInitArgs()[i], advance.getOffset()};
}

// Ops of the loop body that `roots` depend on, in program order. Fails when
// one has effects or regions, or a loop-carried value other than a
// CarriedPointer (collected in `carried`, with the ops of its step in the
// slice) is involved; requires the loop index or such a pointer to be
// involved (a loop-invariant load gains nothing).
bool collectSlice(scf::ForOp loop, ValueRange roots, SmallVector<Operation *> &slice,
                  SmallVector<CarriedPointer> &carried) {
  Block *body = loop.getBody();
  llvm::SetVector<Operation *> found;
  SmallVector<Value> work(roots.begin(), roots.end());
  bool usesIndex = false;
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg == loop.getInductionVar()) {
        usesIndex = true;
      } else if (arg.getOwner() == body) {
        std::optional<CarriedPointer> c = carriedPointer(loop, arg);
        if (!c)
          return false;
        if (llvm::none_of(carried, [&](const CarriedPointer &x) { return x.arg == arg; })) {
          carried.push_back(*c);
          work.push_back(c->step);
        }
        usesIndex = true;
      }
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (!loop->isAncestor(def))
      continue;
    if (def->getBlock() != body || !isPure(def) || def->getNumRegions() != 0)
      return false;
    if (!found.insert(def))
      continue;
    if (found.size() > kMaxSliceOps)
      return false;
    work.append(def->getOperands().begin(), def->getOperands().end());
  }
  slice.assign(found.begin(), found.end());
  llvm::sort(slice, [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  return usesIndex;
}

// Loops that contain no other loop (at any depth) and write no global
// memory: copies issued ahead must not pass a store that could change what
// they read, and only such loops' buffers can share offset 0.
bool isInnermostWithoutStores(scf::ForOp loop) {
  WalkResult r = loop.getBody()->walk([](Operation *op) {
    if (isa<LoopLikeOpInterface, tz::StoreOp, tz::AtomicRMWOp, tz::AtomicCASOp>(op))
      return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !r.wasInterrupted();
}

struct Pipelined {
  tz::LoadOp load;
  SmallVector<Operation *> slice;
  int64_t chunk;
  SmallVector<tz::DotOp> dots; // that read the buffer
  bool swizzled = false;         // for wgmma dots, else padded for ldmatrix
  Value buffer;                  // the tzgpu.local_alloc of its tiles
  SmallVector<CarriedPointer> carried; // pointers of the slice the loop advances
  std::shared_ptr<const TmaCopyPlan> tma; // how it is a TMA copy, when it can be one
  Value tensorMap;                     // the kernel argument of its tensor map
};

// Whether a wgmma dot keeps its A operand off the scratch space while it
// reads a swizzled buffer: A is in the register layout wgmma takes, or in a
// buffer itself (one of `placed`). A dot whose A went through scratch while
// its B came from a swizzled slot gave non-finite results on the H100 in
// cosine-sim attention's backward (test_int8_key_mask_and_bshd_layout), not
// yet understood; such dots read B through scratch instead, which passes.
bool keepsAOffScratch(tz::DotOp dot, ArrayRef<Pipelined> placed) {
  if (planDot(dot).unit != MmaUnit::Wgmma)
    return false;
  auto aType = cast<RankedTensorType>(dot.getA().getType());
  if (inMmaOperandA(aType, moduleNumWarps(dot)))
    return true;
  Operation *a = dot.getA().getDefiningOp();
  return llvm::any_of(placed, [&](const Pipelined &p) { return tz::LoadOp(p.load).getOperation() == a; });
}

struct Pipeline : impl::TzGpuPipelineBase<Pipeline> {
  using TzGpuPipelineBase::TzGpuPipelineBase;

  int numWarps = 4;
  // The bytes of the loops split so far (alive together).
  int64_t specializedBytes = 0;

  // The tile of `p.load` for the iteration at `index`, issued at `b`'s
  // insertion point into `slot`: addresses in a layout that gives each
  // thread whole chunks, the mask also requiring `index < hi`.
  void issueCopy(OpBuilder &b, Pipelined &p, scf::ForOp loop, Value index, Value slot) {
    Location loc = p.load.getLoc();
    IRMapping map;
    map.map(loop.getInductionVar(), index);
    // Ops that do not read a carried pointer first (the steps among them),
    // then each carried pointer at that iteration, then the rest.
    llvm::SmallPtrSet<Operation *, 16> readsCarried;
    for (Operation *op : p.slice)
      if (llvm::any_of(op->getOperands(), [&](Value v) {
            Operation *def = v.getDefiningOp();
            return (def && readsCarried.contains(def)) ||
                   llvm::any_of(p.carried, [&](const CarriedPointer &c) { return c.arg == v; });
          }))
        readsCarried.insert(op);
    for (Operation *op : p.slice)
      if (!readsCarried.contains(op))
        b.clone(*op, map);
    if (!p.carried.empty()) {
      Value n = arith::DivSIOp::create(b, loc, arith::SubIOp::create(b, loc, index, loop.getLowerBound()),
                                       loop.getStep());
      for (const CarriedPointer &c : p.carried) {
        Value step = map.lookupOrDefault(c.step);
        auto stepType = cast<RankedTensorType>(step.getType());
        Value count = n;
        if (!stepType.getElementType().isInteger(32))
          count = arith::ExtSIOp::create(b, loc, stepType.getElementType(), n);
        Value offset = arith::MulIOp::create(b, loc, step, tz::SplatOp::create(b, loc, stepType, count));
        map.map(c.arg, tz::AddPtrOp::create(b, loc, c.init.getType(), c.init, offset).getResult());
      }
    }
    for (Operation *op : p.slice)
      if (readsCarried.contains(op))
        b.clone(*op, map);
    Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, loop.getUpperBound());
    Value mask = p.load.getMask() ? map.lookupOrDefault(p.load.getMask()) : Value();
    createAsyncCopy(b, loc, map.lookupOrDefault(p.load.getPtr()), mask, inRange, tileOf(b, loc, p, slot), p.chunk,
                    numWarps);
  }

  // Arms the barrier of `slot` and issues the TMA copies of the iteration
  // at `index` into it (TmaCopies.cpp).
  void issueTmaStage(OpBuilder &b, MutableArrayRef<Pipelined> loads, scf::ForOp loop, Value index, Value slot,
                     Value barriers) {
    SmallVector<TmaStageCopy> copies;
    for (Pipelined &p : loads)
      copies.push_back({p.load, p.tma.get(), p.slice, p.tensorMap, p.buffer});
    issueTmaCopies(b, loop, index, slot, barriers, copies);
  }

  // The view of tile `slot` of `p`'s buffer.
  Value tileOf(OpBuilder &b, Location loc, const Pipelined &p, Value slot) {
    auto type = bufferTypeFor(cast<RankedTensorType>(p.load->getResult(0).getType()), /*stages=*/0, p.swizzled);
    return MemDescIndexOp::create(b, loc, type, p.buffer, slot);
  }

  static int64_t bufferBytes(const Pipelined &p, int stages) {
    return bufferTypeFor(cast<RankedTensorType>(p.load->getResult(0).getType()), stages, p.swizzled).totalBytes();
  }

  // The candidates whose buffers fit in `budget`, in order. A buffer stays
  // swizzled only while every dot reading it keeps A off the scratch space
  // (keepsAOffScratch); since the budget may leave out an A load that relied
  // on, placing repeats until no buffer changes (each repetition unswizzles
  // at least one). Each buffer is counted at the 1024-byte alignment a
  // swizzled buffer may need.
  SmallVector<Pipelined> placeInBudget(SmallVector<Pipelined> &candidates, int64_t budget) {
    while (true) {
      SmallVector<Pipelined> placed;
      int64_t bytes = 0;
      for (Pipelined &p : candidates) {
        int64_t need = (bufferBytes(p, numStages) + 1023) / 1024 * 1024;
        if (bytes + need > budget)
          continue;
        bytes += need;
        placed.push_back(p);
      }
      bool changed = false;
      for (Pipelined &p : candidates) {
        if (p.swizzled && !llvm::all_of(p.dots, [&](tz::DotOp d) { return keepsAOffScratch(d, placed); })) {
          p.swizzled = false;
          changed = true;
        }
      }
      if (!changed)
        return placed;
    }
  }

  // The most scratch space an op of the loop needs while its buffers are
  // alive, counting a dot's operands that are candidates as read from
  // their buffers (so they need none).
  static int64_t scratchInLoop(scf::ForOp loop, ArrayRef<Pipelined> candidates) {
    auto isCandidate = [&](Value v) {
      if (auto trans = v.getDefiningOp<tz::TransOp>())
        v = trans.getSrc();
      return llvm::any_of(candidates, [&](const Pipelined &p) { return p.load->getResult(0) == v; });
    };
    int64_t most = 0;
    loop.getBody()->walk([&](Operation *op) {
      int64_t bytes = scratchNeed(op).bytes;
      if (auto dot = dyn_cast<tz::DotOp>(op); dot && bytes > 0) {
        DotPlan plan = planDot(dot);
        if (plan.unit != MmaUnit::Fma)
          bytes = (isCandidate(dot.getA()) ? 0 : plan.aScratchBytes) + (isCandidate(dot.getB()) ? 0 : plan.bScratchBytes);
      }
      most = std::max(most, (bytes + 1023) / 1024 * 1024);
    });
    return most;
  }

  // Returns the bytes of shared memory the loop's buffers take (0 if
  // nothing was pipelined).
  int64_t pipelineLoop(scf::ForOp loop, const AxisInfoAnalysis &axis) {
    if (!loop.getInductionVar().getType().isInteger(32))
      return 0;
    SmallVector<Pipelined> candidates;
    for (auto load : loop.getBody()->getOps<tz::LoadOp>()) {
      Pipelined p{load, {}, chunkElements(load, axis), dotsFedFromShared(load)};
      if (p.dots.empty() || p.chunk == 0) // chunk 0 also for every tile that is not 2-D
        continue;
      SmallVector<Value> roots{load.getPtr()};
      if (load.getMask())
        roots.push_back(load.getMask());
      if (!collectSlice(loop, roots, p.slice, p.carried))
        continue;
      p.swizzled = canSwizzle(cast<RankedTensorType>(load.getType())) &&
                   llvm::all_of(p.dots, [](tz::DotOp d) { return planDot(d).unit == MmaUnit::Wgmma; });
      candidates.push_back(std::move(p));
    }
    int64_t scratch = scratchInLoop(loop, candidates);
    SmallVector<Pipelined> loads = placeInBudget(candidates, maxBytes - scratch);
    if (loads.empty())
      return 0;
    int64_t bytes = scratch;
    for (const Pipelined &p : loads)
      bytes += (bufferBytes(p, numStages) + 1023) / 1024 * 1024;

    // TMA copies for the loads that have a plan, in swizzled buffers (TMA
    // writes the swizzle wgmma reads), when the barriers fit too; cp.async
    // for the others.
    // A loop's own `tz.range(..., warp_specialize=...)` (when loop hints
    // are honoured) decides for it, TMA included.
    bool loopTma = tma, loopSpecialize = warpSpecialize;
    if (auto hint = loop->getAttrOfType<BoolAttr>(tz::kWarpSpecializeAttrName); hint && loopHints) {
      loopSpecialize = hint.getValue();
      loopTma = tma || loopSpecialize;
    }
    if (loopTma && loop->getParentOfType<ModuleOp>()->hasAttr(kWgmmaAttrName))
      for (Pipelined &p : loads)
        if (p.swizzled)
          if (std::optional<TmaCopyPlan> plan = planTmaCopy(p.load, loop))
            p.tma = std::make_shared<const TmaCopyPlan>(std::move(*plan));
    int64_t barrierBytes = barrierBufferType(loop.getContext(), numStages).totalBytes();
    if (bytes + barrierBytes > maxBytes)
      for (Pipelined &p : loads)
        p.tma = nullptr;
    SmallVector<Pipelined> viaTma, viaAsync;
    for (Pipelined &p : loads)
      (p.tma ? viaTma : viaAsync).push_back(p);
    bool useTma = !viaTma.empty();
    if (useTma) {
      bytes += barrierBytes;
      auto func = loop->getParentOfType<func::FuncOp>();
      for (Pipelined &p : viaTma) {
        unsigned index = func.getNumArguments();
        auto attrs = DictionaryAttr::get(
            loop.getContext(), {NamedAttribute(StringAttr::get(loop.getContext(), kTensorMapAttrName), p.tma->spec)});
        if (failed(func.insertArgument(index, TensorMapType::get(loop.getContext()), attrs, p.load.getLoc())))
          return 0;
        p.tensorMap = func.getArgument(index);
      }
    }

    // Warp specialisation: the copies go to a producer loop of their own
    // (and their barriers double: one more per stage for its release).
    if (useTma && viaAsync.empty() && loopSpecialize && numWarps % 4 == 0 && numWarps <= 16 &&
        isa<func::FuncOp>(loop->getParentOp()) && loop->getParentRegion()->hasOneBlock() &&
        specializedBytes + bytes + 2 * barrierBytes <= maxBytes &&
        splitProducerLoop(loop, viaTma)) {
      // The producer runs alongside all of the consumers: the buffers of
      // every split loop are alive together.
      specializedBytes += bytes + 2 * barrierBytes;
      return specializedBytes;
    }

    Location loc = loop.getLoc();
    Value lo = loop.getLowerBound(), step = loop.getStep();
    auto i32 = [&](OpBuilder &b, int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); };

    // How many iterations ahead the copies run: S - 1, or S - 2 when one
    // slot is left to an MMA in flight (needs S >= 3 to run ahead at all).
    int inFlight = numStages >= 3 ? mmaGroupsInFlight(loop) : 0;
    int ahead = numStages - 1 - inFlight;

    // The buffers, then the prologue: iterations 0 .. ahead - 1.
    OpBuilder b(loop);
    SmallVector<Value> asyncBuffers; // written by cp.async, awaited by async_wait
    for (SmallVector<Pipelined> *group : {&viaAsync, &viaTma})
      for (Pipelined &p : *group) {
        p.buffer = LocalAllocOp::create(
            b, loc, bufferTypeFor(cast<RankedTensorType>(p.load->getResult(0).getType()), numStages, p.swizzled),
            IntegerAttr());
        if (group == &viaAsync)
          asyncBuffers.push_back(p.buffer);
      }
    Value barriers;
    if (useTma) {
      barriers = LocalAllocOp::create(b, loc, barrierBufferType(loop.getContext(), numStages), IntegerAttr());
      for (int s = 0; s < numStages; ++s)
        InitBarrierOp::create(b, loc, barrierAt(b, loc, barriers, i32(b, s)), 1);
    }
    for (int s = 0; s < ahead; ++s) {
      Value index = arith::AddIOp::create(b, loc, lo, arith::MulIOp::create(b, loc, step, i32(b, s)));
      if (!viaAsync.empty()) {
        for (Pipelined &p : viaAsync)
          issueCopy(b, p, loop, index, i32(b, s));
        AsyncCommitOp::create(b, loc);
      }
      if (useTma)
        issueTmaStage(b, viaTma, loop, index, i32(b, s), barriers);
    }

    // Each iteration: wait for its tile, refill the slot iteration
    // i + ahead - S read (no longer read by anything), then read its own
    // slot where the loads were.
    b.setInsertionPointToStart(loop.getBody());
    if (!viaAsync.empty())
      AsyncWaitOp::create(b, loc, asyncBuffers, b.getI32IntegerAttr(ahead - 1));
    Value iteration = arith::DivSIOp::create(b, loc, arith::SubIOp::create(b, loc, loop.getInductionVar(), lo), step);
    Value slot = arith::RemSIOp::create(b, loc, iteration, i32(b, numStages));
    Value aheadValue = i32(b, ahead);
    Value nextSlot =
        arith::RemSIOp::create(b, loc, arith::AddIOp::create(b, loc, iteration, aheadValue), i32(b, numStages));
    Value nextIndex =
        arith::AddIOp::create(b, loc, loop.getInductionVar(), arith::MulIOp::create(b, loc, step, aheadValue));
    if (useTma) {
      // Slot s is filled for iterations s, s + S, s + 2S, ...: iteration i
      // waits for the (i / S)-th phase of its barrier to complete.
      Value phase = arith::AndIOp::create(b, loc, arith::DivSIOp::create(b, loc, iteration, i32(b, numStages)), i32(b, 1));
      WaitBarrierOp::create(b, loc, barrierAt(b, loc, barriers, slot), phase);
    }
    if (!viaAsync.empty()) {
      for (Pipelined &p : viaAsync)
        issueCopy(b, p, loop, nextIndex, nextSlot);
      AsyncCommitOp::create(b, loc);
    }
    if (useTma)
      issueTmaStage(b, viaTma, loop, nextIndex, nextSlot, barriers);
    for (SmallVector<Pipelined> *group : {&viaAsync, &viaTma})
      for (Pipelined &p : *group) {
        OpBuilder at(p.load);
        auto read = LocalLoadOp::create(at, p.load.getLoc(), p.load.getType(), tileOf(at, p.load.getLoc(), p, slot));
        p.load.getResult().replaceAllUsesWith(read.getResult());
        p.load.erase();
      }

    // Nothing may still be writing the buffers once the loop is left. Every
    // TMA copy issued was for an iteration that waited for it; the barriers
    // end there.
    b.setInsertionPointAfter(loop);
    if (!viaAsync.empty())
      AsyncWaitOp::create(b, loc, asyncBuffers, b.getI32IntegerAttr(0));
    if (useTma)
      for (int s = 0; s < numStages; ++s)
        InvalBarrierOp::create(b, loc, barrierAt(b, loc, barriers, i32(b, s)));
    return bytes;
  }

  // The loop's TMA copies (all its pipelined loads) move to a producer loop
  // before it, over the same range:
  //
  //   producer, iteration n: wait until slot n % S is empty (its empty
  //       barrier completed phase n / S - 1: at once for n < S), arm its
  //       full barrier and issue the copies of iteration n into it
  //   loop, iteration n: wait on slot n % S's full barrier for parity
  //       (n / S) % 2, compute, then arrive on its empty barrier
  //
  // A slot is released where the iteration ends, when every read of it is
  // done (tzgpu-defer-warp-group-dot-waits moves the release with an MMA it
  // leaves in flight).
  //
  // Does nothing and returns false when the producer loop would read a
  // value the producer partition cannot compute (producerCanRecompute).
  bool splitProducerLoop(scf::ForOp loop, MutableArrayRef<Pipelined> loads) {
    Location loc = loop.getLoc();
    MLIRContext *ctx = loop.getContext();
    Value lo = loop.getLowerBound(), step = loop.getStep();
    auto i32 = [&](OpBuilder &b, int64_t v) { return arith::ConstantIntOp::create(b, loc, v, 32); };
    auto slotAndUse = [&](OpBuilder &b, Value index) {
      Value n = arith::DivSIOp::create(b, loc, arith::SubIOp::create(b, loc, index, lo), step);
      Value slot = arith::RemSIOp::create(b, loc, n, i32(b, numStages));
      Value use = arith::DivSIOp::create(b, loc, n, i32(b, numStages));
      return std::make_pair(slot, use);
    };

    OpBuilder b(loop);
    for (Pipelined &p : loads)
      p.buffer = LocalAllocOp::create(
          b, loc, bufferTypeFor(cast<RankedTensorType>(p.load->getResult(0).getType()), numStages, true),
          IntegerAttr());
    Value full = LocalAllocOp::create(b, loc, barrierBufferType(ctx, numStages), IntegerAttr());
    Value empty = LocalAllocOp::create(b, loc, barrierBufferType(ctx, numStages), IntegerAttr());
    for (int s = 0; s < numStages; ++s) {
      InitBarrierOp::create(b, loc, barrierAt(b, loc, full, i32(b, s)), 1);
      InitBarrierOp::create(b, loc, barrierAt(b, loc, empty, i32(b, s)), 32 * numWarps);
    }

    auto producer = scf::ForOp::create(b, loc, lo, loop.getUpperBound(), step);
    producer->setAttr(kProducerLoopAttrName, UnitAttr::get(ctx));
    b.setInsertionPointToStart(producer.getBody());
    auto [fillSlot, fillUse] = slotAndUse(b, producer.getInductionVar());
    Value emptyPhase = arith::XOrIOp::create(b, loc, arith::AndIOp::create(b, loc, fillUse, i32(b, 1)), i32(b, 1));
    WaitBarrierOp::create(b, loc, barrierAt(b, loc, empty, fillSlot), emptyPhase);
    issueTmaStage(b, loads, loop, producer.getInductionVar(), fillSlot, full);
    if (!producerCanRecompute(producer)) {
      // Undo, in reverse order of creation.
      SmallVector<Operation *> made;
      for (Operation *op = loads.front().buffer.getDefiningOp(); op != loop; op = op->getNextNode())
        made.push_back(op);
      for (Operation *op : llvm::reverse(made))
        op->erase();
      for (Pipelined &p : loads)
        p.buffer = Value();
      return false;
    }

    b.setInsertionPointToStart(loop.getBody());
    auto [slot, use] = slotAndUse(b, loop.getInductionVar());
    WaitBarrierOp::create(b, loc, barrierAt(b, loc, full, slot), arith::AndIOp::create(b, loc, use, i32(b, 1)));
    for (Pipelined &p : loads) {
      OpBuilder at(p.load);
      auto read = LocalLoadOp::create(at, p.load.getLoc(), p.load.getType(), tileOf(at, p.load.getLoc(), p, slot));
      p.load.getResult().replaceAllUsesWith(read.getResult());
      p.load.erase();
    }
    b.setInsertionPoint(loop.getBody()->getTerminator());
    Value always = arith::ConstantIntOp::create(b, loc, 1, 1);
    ArriveBarrierOp::create(b, loc, barrierAt(b, loc, empty, slot), always);

    b.setInsertionPointAfter(loop);
    for (int s = 0; s < numStages; ++s) {
      InvalBarrierOp::create(b, loc, barrierAt(b, loc, full, i32(b, s)));
      InvalBarrierOp::create(b, loc, barrierAt(b, loc, empty, i32(b, s)));
    }
    return true;
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (numStages < 2)
      return;
    numWarps = moduleNumWarps(module);
    AxisInfoAnalysis axis(module);
    // Innermost loops only (isInnermostWithoutStores): their buffers are
    // never live together, so each loop may take the whole budget.
    SmallVector<scf::ForOp> loops;
    module.walk([&](scf::ForOp loop) {
      if (isInnermostWithoutStores(loop))
        loops.push_back(loop);
    });
    int64_t region = 0;
    for (scf::ForOp loop : loops)
      region = std::max(region, pipelineLoop(loop, axis));
    stageResidentOperands(module, axis, region, maxBytes, numWarps);
  }
};

} // namespace
} // namespace terrazzo::tzgpu
