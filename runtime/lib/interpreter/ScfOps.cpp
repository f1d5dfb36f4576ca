//===- ScfOps.cpp - structured control flow: scf.for, scf.while, scf.if ---===//
//
// Regions run through Executor::runBlock, which hands back the terminator
// (scf.yield or scf.condition) without running it; these handlers read its
// operands to carry values into the next iteration or out of the op.
#include "Executor.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;

namespace terrazzo::interp {
namespace {

TileRef makeScalar(ElemKind kind, int64_t value) {
  auto tile = std::make_shared<Tile>();
  tile->reset(kind, {});
  tile->i[0] = value;
  return tile;
}

// Binds the results of `op` to the operands of a region's terminator.
void bindResults(Executor &ex, Operation *op, ArrayRef<TileRef> values) {
  for (auto [result, tile] : llvm::zip(op->getResults(), values))
    ex.bind(result, tile);
}

void runFor(Executor &ex, Operation *raw) {
  auto op = cast<scf::ForOp>(raw);
  ElemKind ivKind = Executor::elemKind(raw, op.getInductionVar().getType());
  unsigned bits = intBitWidth(ivKind);
  int64_t lower = ex.get(op.getLowerBound()).i[0];
  int64_t upper = ex.get(op.getUpperBound()).i[0];
  int64_t step = ex.get(op.getStep()).i[0];
  if (step <= 0)
    Executor::fail(raw, "scf.for step must be positive, got " + llvm::Twine(step));
  bool isUnsigned = static_cast<bool>(op.getUnsignedCmp());
  auto inRange = [&](int64_t iv) {
    return isUnsigned ? zeroExtend(iv, bits) < zeroExtend(upper, bits) : iv < upper;
  };

  SmallVector<TileRef, 4> args;
  args.push_back(nullptr); // the induction variable, set per iteration
  for (Value init : op.getInitArgs())
    args.push_back(ex.getRef(init));
  Block &body = *op.getBody();
  for (int64_t iv = lower; inRange(iv);) {
    ex.countIteration();
    args[0] = makeScalar(ivKind, iv);
    Operation *yield = ex.runBlock(body, args);
    for (auto [slot, value] : llvm::zip(llvm::drop_begin(args), yield->getOperands()))
      slot = ex.getRef(value);
    // Stop instead of wrapping around when iv + step leaves the type's range.
    int64_t next = wrapToWidth(static_cast<uint64_t>(iv) + static_cast<uint64_t>(step), bits);
    if (isUnsigned ? zeroExtend(next, bits) <= zeroExtend(iv, bits) : next <= iv)
      break;
    iv = next;
  }
  bindResults(ex, raw, llvm::ArrayRef(args).drop_front());
}

void runWhile(Executor &ex, Operation *raw) {
  auto op = cast<scf::WhileOp>(raw);
  SmallVector<TileRef, 4> args = ex.getRefs(op.getInits());
  while (true) {
    ex.countIteration();
    auto condition = cast<scf::ConditionOp>(ex.runBlock(op.getBefore().front(), args));
    SmallVector<TileRef, 4> forwarded = ex.getRefs(condition.getArgs());
    if (ex.get(condition.getCondition()).i[0] == 0) {
      bindResults(ex, raw, forwarded);
      return;
    }
    Operation *yield = ex.runBlock(op.getAfter().front(), forwarded);
    args = ex.getRefs(yield->getOperands());
  }
}

void runIf(Executor &ex, Operation *raw) {
  auto op = cast<scf::IfOp>(raw);
  bool taken = ex.get(op.getCondition()).i[0] != 0;
  Region &region = taken ? op.getThenRegion() : op.getElseRegion();
  if (region.empty())
    return; // no else branch (and then no results)
  Operation *yield = ex.runBlock(region.front(), {});
  bindResults(ex, raw, ex.getRefs(yield->getOperands()));
}

} // namespace

void registerScfHandlers(HandlerTable &table) {
  addHandler<scf::ForOp>(table, runFor);
  addHandler<scf::WhileOp>(table, runWhile);
  addHandler<scf::IfOp>(table, runIf);
}

} // namespace terrazzo::interp
