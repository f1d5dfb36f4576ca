//===- LowerWarpGroupDots.cpp - wgmma dots as ops on typed buffers -------===//
//
// A warpgroup MMA reads its operands from shared memory (A may also come
// from registers). Until this pass a tz.dot marked for it says so only
// through planDot; here the buffers it reads become operands: the ones the
// pipeliner already filled, or new ones the operand is stored into, which
// tzgpu-allocate-shared-memory then places like every other buffer and
// tzgpu-insert-barriers synchronises. The MMA is asynchronous; the wait
// right after it is where later passes may move it.
#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/IR/Dominance.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPULOWERWARPGROUPDOTS
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

// `tile` written into a new one-tile swizzled buffer.
Value storedInBuffer(OpBuilder &b, Location loc, Value tile) {
  auto type = cast<RankedTensorType>(tile.getType());
  MemDescType bufferType = bufferTypeFor(type, /*stages=*/0, /*swizzled=*/true);
  Value buffer = LocalAllocOp::create(b, loc, bufferType, IntegerAttr());
  LocalStoreOp::create(b, loc, tile, buffer);
  return buffer;
}

// B [K, N] as the [N, K] tile wgmma reads K-major, in the permuted layout
// (free: the same registers).
Value transposed(OpBuilder &b, Location loc, Value tile) {
  auto type = cast<RankedTensorType>(tile.getType());
  SmallVector<int32_t> order{1, 0};
  auto shape = SmallVector<int64_t>{type.getShape()[1], type.getShape()[0]};
  auto resultType = withLayout(RankedTensorType::get(shape, type.getElementType()), getLayout(type).permuted(order));
  return tz::TransOp::create(b, loc, resultType, tile, b.getDenseI32ArrayAttr(order));
}

// The buffers tiles were stored into, by tile and whether stored
// transposed: a tile two dots read the same way (the attention backward's
// dS for dQ and dK) is stored once, where the first dot needs it, if that
// point dominates the later dot.
struct StoredTiles {
  DominanceInfo &dominance;
  llvm::DenseMap<std::pair<Value, unsigned>, Value> buffers; // (tile, transposed)

  Value get(OpBuilder &b, Location loc, Value tile, bool transpose, Operation *user) {
    auto it = buffers.find({tile, unsigned(transpose)});
    if (it != buffers.end() && dominance.properlyDominates(it->second.getDefiningOp(), user))
      return it->second;
    Value buffer = storedInBuffer(b, loc, transpose ? transposed(b, loc, tile) : tile);
    buffers[{tile, unsigned(transpose)}] = buffer;
    return buffer;
  }
};

void lower(tz::DotOp dot, StoredTiles &stored) {
  DotPlan plan = planDot(dot);
  OpBuilder b(dot);
  Location loc = dot.getLoc();
  Value a;
  if (plan.aInRegisters)
    a = dot.getA();
  else if (plan.aBuffer)
    a = plan.aBuffer->read.getSrc();
  else
    a = stored.get(b, loc, dot.getA(), /*transpose=*/false, dot);
  Value bOperand;
  bool bKMajor = plan.bKMajor;
  if (plan.bBuffer)
    bOperand = plan.bBuffer->read.getSrc();
  else
    bOperand = stored.get(b, loc, dot.getB(), /*transpose=*/bKMajor, dot);
  auto mma = WarpGroupDotOp::create(b, loc, dot.getType(), a, bOperand, dot.getAcc(), bKMajor);
  auto wait = WarpGroupDotWaitOp::create(b, loc, TypeRange{dot.getType()}, ValueRange{mma.getD()},
                                         b.getI32IntegerAttr(0));
  dot.getResult().replaceAllUsesWith(wait.getOutputs()[0]);
  SmallVector<Operation *> reads;
  for (Value operand : {dot.getA(), dot.getB()})
    if (Operation *def = operand.getDefiningOp(); def && isa<LocalLoadOp, tz::TransOp>(def))
      reads.push_back(def);
  dot.erase();
  // The loads (and transposes of loads) the buffers replaced.
  for (Operation *def : reads)
    if (def->use_empty()) {
      Operation *src = def->getOperand(0).getDefiningOp();
      def->erase();
      if (src && isa<LocalLoadOp>(src) && src->use_empty())
        src->erase();
    }
}

struct LowerWarpGroupDots : impl::TzGpuLowerWarpGroupDotsBase<LowerWarpGroupDots> {
  void runOnOperation() override {
    SmallVector<tz::DotOp> dots;
    getOperation().walk([&](tz::DotOp dot) {
      if (planDot(dot).unit == MmaUnit::Wgmma)
        dots.push_back(dot);
    });
    StoredTiles stored{getAnalysis<DominanceInfo>(), {}};
    for (tz::DotOp dot : dots)
      lower(dot, stored);
  }
};

} // namespace
} // namespace terrazzo::tzgpu
