//===- ProducerValues.cpp - what a producer partition computes itself ----===//
#include "terrazzo/Dialect/TzGpu/Analysis/ProducerValues.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/IR/TzGpuDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseSet.h"

using namespace mlir;

namespace terrazzo::tzgpu {

bool recomputableInProducer(Operation *op) {
  if (op->getNumRegions() != 0)
    return false;
  auto scalar = [](Type t) { return !isa<ShapedType>(t); };
  if (!llvm::all_of(op->getResultTypes(), scalar) || !llvm::all_of(op->getOperandTypes(), scalar))
    return false;
  // Division may trap, so it is not speculatable (isPure), but the
  // consumers compute the same values anyway.
  return isMemoryEffectFree(op) || isa<tz::LoadOp>(op);
}

namespace {
bool computable(Value v, llvm::DenseSet<Value> &known) {
  if (known.contains(v))
    return true;
  bool ok;
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    ok = isa<func::FuncOp>(arg.getOwner()->getParentOp());
  } else {
    Operation *def = v.getDefiningOp();
    ok = isa<LocalAllocOp>(def) ||
         (recomputableInProducer(def) &&
          llvm::all_of(def->getOperands(), [&](Value operand) { return computable(operand, known); }));
  }
  if (ok)
    known.insert(v);
  return ok;
}
} // namespace

bool producerCanRecompute(scf::ForOp loop) {
  llvm::DenseSet<Value> known;
  WalkResult r = loop->walk([&](Operation *op) {
    for (Value operand : op->getOperands()) {
      Operation *def = operand.getDefiningOp();
      bool inside = def ? loop->isAncestor(def) : loop->isAncestor(cast<BlockArgument>(operand).getOwner()->getParentOp());
      if (!inside && !computable(operand, known))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return !r.wasInterrupted();
}

} // namespace terrazzo::tzgpu
