//===- TmaCopies.cpp - one stage of a loop's TMA copies ------------------===//
//
// What tzgpu-pipeline emits per stage of a loop whose tiles are copied
// with TMA (Pipeline.cpp says when and where): the stage's barrier armed
// with the bytes of all its tiles, then one tzgpu.async_tma_copy per tile,
// at coordinates evaluated for the iteration the stage is for.
#include "AsyncCopies.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;

namespace terrazzo::tzgpu {

MemDescType barrierBufferType(MLIRContext *ctx, int64_t stages) {
  return MemDescType::get(ctx, ArrayRef<int64_t>{stages, 1, 1}, IntegerType::get(ctx, 64),
                          SharedEncodingAttr::get(ctx, 0, 0), /*mutableMemory=*/true);
}

Value barrierAt(OpBuilder &b, Location loc, Value barriers, Value slot) {
  MLIRContext *ctx = b.getContext();
  auto one = MemDescType::get(ctx, ArrayRef<int64_t>{1, 1}, IntegerType::get(ctx, 64),
                              SharedEncodingAttr::get(ctx, 0, 0), /*mutableMemory=*/true);
  return MemDescIndexOp::create(b, loc, one, barriers, slot);
}

namespace {
// The ops of `slice` that compute atoms of `plan`'s coordinates, in the
// slice's order.
SmallVector<Operation *> coordinateOps(scf::ForOp loop, const TmaCopyPlan &plan, ArrayRef<Operation *> slice) {
  llvm::SmallPtrSet<Operation *, 16> needed;
  SmallVector<Value> work;
  for (const IndexPolynomial &c : plan.coords)
    for (const auto &[m, coef] : c.terms)
      for (const void *a : m)
        if (a != iterationAtom(loop))
          work.push_back(Value::getFromOpaquePointer(a));
  while (!work.empty()) {
    Operation *def = work.pop_back_val().getDefiningOp();
    if (!def || def->getBlock() != loop.getBody() || !needed.insert(def).second)
      continue;
    work.append(def->getOperands().begin(), def->getOperands().end());
  }
  SmallVector<Operation *> ops;
  for (Operation *op : slice)
    if (needed.contains(op))
      ops.push_back(op);
  return ops;
}
} // namespace

void issueTmaCopies(OpBuilder &b, scf::ForOp loop, Value index, Value slot, Value barriers,
                    ArrayRef<TmaStageCopy> copies) {
  Location loc = loop.getLoc();
  Value inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, index, loop.getUpperBound());
  Value barrier = barrierAt(b, loc, barriers, slot);
  int64_t bytes = 0;
  for (const TmaStageCopy &c : copies) {
    auto tile = cast<RankedTensorType>(c.load->getResult(0).getType());
    bytes += tile.getNumElements() * (tile.getElementType().getIntOrFloatBitWidth() / 8);
  }
  BarrierExpectOp::create(b, loc, barrier, bytes, inRange);
  Value iterations; // (index - lower bound) / step, made when a coordinate needs it
  for (const TmaStageCopy &c : copies) {
    IRMapping map;
    map.map(loop.getInductionVar(), index);
    for (Operation *op : coordinateOps(loop, *c.plan, c.slice))
      b.clone(*op, map);
    SmallVector<Value> coords;
    for (const IndexPolynomial &coord : c.plan->coords)
      coords.push_back(materialize(b, loc, coord, c.plan->atomOrder, [&](const void *a) -> Value {
        if (a != iterationAtom(loop))
          return map.lookupOrDefault(Value::getFromOpaquePointer(a));
        if (!iterations)
          iterations = arith::DivSIOp::create(b, loc, arith::SubIOp::create(b, loc, index, loop.getLowerBound()),
                                              loop.getStep());
        return iterations;
      }));
    auto tile = bufferTypeFor(cast<RankedTensorType>(c.load->getResult(0).getType()), /*stages=*/0, /*swizzled=*/true);
    Value dst = MemDescIndexOp::create(b, loc, tile, c.buffer, slot);
    AsyncTmaCopyOp::create(b, c.load->getLoc(), c.tensorMap, coords, dst, barrier, inRange);
  }
}

} // namespace terrazzo::tzgpu
