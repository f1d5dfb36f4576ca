//===- ResidentOperands.cpp - loop-invariant wgmma A operands in shared memory -===//
//
// In the attention forward
//
//   q = tz.load(q_ptrs)                      # once
//   for start_n in range(...):
//       s = tz.dot(q, tz.trans(k))           # every iteration
//
// q is loaded into registers in wgmma's A layout and stays there for the
// whole loop: 32 registers per thread for a 128x128 tile on 8 warps, which
// is what decides whether two blocks fit on a multiprocessor. wgmma can read
// A from shared memory as well, so such a tile is instead copied once with
// cp.async into a swizzled buffer of its own and every dot reads it there
// through descriptors. Uses that are not wgmma A operands (the cosine-sim
// forward also reduces q to its norm) keep the original load.
//
// Ordering: the copy is committed as its own group where the load was, so
// it is older than any loop prologue's copies; each pipelined loop starts
// its body with an async_wait that leaves only newer groups in flight and
// synchronises the block, so the buffer is complete and visible before the
// first dot. A reading loop that was not pipelined gets an explicit wait
// for everything before it.
#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"
#include "AsyncCopies.h"

#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace terrazzo::tzgpu {
namespace {

// The wgmma dots that read `load` as A, with the op each reads it through
// (the load or a convert_layout of it). Such a dot must sit directly in an
// scf.for whose parent block is the load's: the buffer lives from the load
// to the last such loop.
struct ResidentUses {
  SmallVector<tz::DotOp> dots;
  SmallVector<Operation *> converts; // convert_layouts used only by those dots
  SmallVector<scf::ForOp> loops;     // the dots' loops, in program order
};

bool isWgmmaA(OpOperand &use) {
  auto dot = dyn_cast<tz::DotOp>(use.getOwner());
  return dot && planDot(dot).unit == MmaUnit::Wgmma && use.getOperandNumber() == 0;
}

ResidentUses residentUses(tz::LoadOp load) {
  ResidentUses r;
  auto addDot = [&](tz::DotOp dot) {
    auto loop = dyn_cast<scf::ForOp>(dot->getParentOp());
    if (!loop || loop->getBlock() != load->getBlock())
      return false;
    r.dots.push_back(dot);
    if (!llvm::is_contained(r.loops, loop))
      r.loops.push_back(loop);
    return true;
  };
  for (OpOperand &use : load.getResult().getUses()) {
    Operation *user = use.getOwner();
    if (isWgmmaA(use)) {
      if (!addDot(cast<tz::DotOp>(user)))
        return {};
    } else if (isa<ConvertLayoutOp>(user) && !user->use_empty() &&
               llvm::all_of(user->getUses(), [](OpOperand &u) { return isWgmmaA(u); })) {
      for (Operation *dotOp : user->getUsers())
        if (!addDot(cast<tz::DotOp>(dotOp)))
          return {};
      r.converts.push_back(user);
    }
  }
  llvm::sort(r.loops, [](scf::ForOp a, scf::ForOp b) { return a->isBeforeInBlock(b); });
  return r;
}

bool isPipelined(scf::ForOp loop) { return !loop.getBody()->getOps<AsyncWaitOp>().empty(); }

} // namespace

int64_t stageResidentOperands(ModuleOp module, const AxisInfoAnalysis &axis, int64_t regionBytes,
                              int64_t maxBytes, int numWarps) {
  SmallVector<tz::LoadOp> loads;
  module.walk([&](tz::LoadOp load) {
    // A persistent kernel's tile loop runs its body once per tile: directly
    // in it is outside loops here (the copy is issued per tile, before the
    // dots' loops, and tzgpu-insert-barriers orders it after the previous
    // tile's reads).
    auto loop = load->getParentOfType<LoopLikeOpInterface>();
    if (!loop || loop->hasAttr(tz::kPersistentTileLoopAttrName))
      loads.push_back(load);
  });
  int64_t end = regionBytes;
  for (tz::LoadOp load : loads) {
    int64_t chunk = chunkElements(load, axis);
    auto tile = dyn_cast<RankedTensorType>(load.getType());
    if (chunk == 0 || !canSwizzle(tile))
      continue;
    ResidentUses uses = residentUses(load);
    if (uses.dots.empty())
      continue;
    MemDescType bufferType = bufferTypeFor(tile, /*stages=*/0, /*swizzled=*/true);
    int64_t bytes = (bufferType.totalBytes() + 1023) / 1024 * 1024;
    if (end + bytes > maxBytes)
      continue;
    end += bytes;

    Location loc = load.getLoc();
    OpBuilder b(load);
    Value buffer = LocalAllocOp::create(b, loc, bufferType, IntegerAttr());
    createAsyncCopy(b, loc, load.getPtr(), load.getMask(), Value(), buffer, chunk, numWarps);
    AsyncCommitOp::create(b, loc);
    if (!isPipelined(uses.loops.front())) {
      OpBuilder before(uses.loops.front());
      AsyncWaitOp::create(before, loc, ValueRange{buffer}, before.getI32IntegerAttr(0));
    }
    for (tz::DotOp dot : uses.dots) {
      OpBuilder at(dot);
      auto read = LocalLoadOp::create(at, loc, tile, buffer);
      dot->setOperand(0, read.getResult());
    }
    for (Operation *convert : uses.converts)
      convert->erase();
    if (load->use_empty())
      load->erase();
  }
  return end;
}

} // namespace terrazzo::tzgpu
