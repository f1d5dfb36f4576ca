//===- MmaInFlight.cpp - which warpgroup MMAs may outlive their iteration -===//
#include "terrazzo/Dialect/TzGpu/Analysis/MmaInFlight.h"

#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"

using namespace mlir;

namespace terrazzo::tzgpu {

std::optional<unsigned> carriedAccumulator(Operation *mma, Value acc, Value result) {
  auto loop = dyn_cast_or_null<scf::ForOp>(mma->getParentOp());
  auto arg = dyn_cast<BlockArgument>(acc);
  if (!loop || !arg || arg.getOwner() != loop.getBody() || arg == loop.getInductionVar())
    return std::nullopt;
  unsigned index = arg.getArgNumber() - loop.getNumInductionVars();
  if (!acc.hasOneUse() || *acc.getUsers().begin() != mma || !result.hasOneUse())
    return std::nullopt;
  OpOperand &use = *result.getUses().begin();
  if (use.getOwner() != loop.getBody()->getTerminator() || use.getOperandNumber() != index)
    return std::nullopt;
  return index;
}

int mmaGroupsInFlight(scf::ForOp loop) {
  SmallVector<Operation *> dots;
  loop.getBody()->walk([&](Operation *op) {
    if (isa<tz::DotOp, WarpGroupDotOp>(op))
      dots.push_back(op);
  });
  if (dots.size() != 1 || dots.front()->getParentOp() != loop)
    return 0;
  if (auto dot = dyn_cast<tz::DotOp>(dots.front())) {
    bool qualifies = planDot(dot).unit == MmaUnit::Wgmma &&
                     carriedAccumulator(dot, dot.getAcc(), dot.getResult()).has_value();
    return qualifies ? 1 : 0;
  }
  auto mma = cast<WarpGroupDotOp>(dots.front());
  Value result = mma.getD();
  if (auto wait = dyn_cast_or_null<WarpGroupDotWaitOp>(mma->getNextNode());
      wait && wait.getPending() == 0 && wait.getInputs().size() == 1 && wait.getInputs()[0] == result)
    result = wait.getOutputs()[0];
  return carriedAccumulator(mma, mma.getC(), result) ? 1 : 0;
}

} // namespace terrazzo::tzgpu
