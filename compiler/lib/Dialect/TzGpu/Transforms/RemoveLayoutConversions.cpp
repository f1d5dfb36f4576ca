//===- RemoveLayoutConversions.cpp - loop-carried tiles in their layout --===//
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUREMOVELAYOUTCONVERSIONS
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

// The layout every use of `arg` converts it to, if they all agree.
std::optional<RankedTensorType> uniformConvertTarget(Value arg) {
  std::optional<RankedTensorType> target;
  for (Operation *user : arg.getUsers()) {
    auto cvt = dyn_cast<ConvertLayoutOp>(user);
    if (!cvt || (target && *target != cvt.getType()))
      return std::nullopt;
    target = cast<RankedTensorType>(cvt.getType());
  }
  return target;
}

// Carries iter_arg `i` of `loop` in `type`: converts the init before the
// loop, the result after it, and lets the body use the argument directly.
void retypeIterArg(scf::ForOp loop, unsigned i, RankedTensorType type, Value yielded) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  OpOperand &init = loop.getInitArgsMutable()[i];
  auto oldType = cast<RankedTensorType>(init.get().getType());
  init.set(ConvertLayoutOp::create(b, loc, type, init.get()));
  BlockArgument arg = loop.getRegionIterArgs()[i];
  arg.setType(type);
  for (Operation *user : llvm::make_early_inc_range(arg.getUsers()))
    user->getResult(0).replaceAllUsesWith(arg);
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  yield->setOperand(i, yielded);
  Value result = loop.getResult(i);
  result.setType(type);
  b.setInsertionPointAfter(loop);
  auto back = ConvertLayoutOp::create(b, loc, oldType, result);
  result.replaceAllUsesExcept(back, back);
}

struct RemoveLayoutConversions : impl::TzGpuRemoveLayoutConversionsBase<RemoveLayoutConversions> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    module.walk([&](scf::ForOp loop) {
      auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
      for (unsigned i = 0; i < loop.getNumRegionIterArgs(); ++i) {
        Value arg = loop.getRegionIterArgs()[i];
        if (!isa<RankedTensorType>(arg.getType()) || arg.use_empty())
          continue;
        auto target = uniformConvertTarget(arg);
        if (!target)
          continue;
        // The yielded value must come from the target layout.
        auto back = yield.getOperand(i).getDefiningOp<ConvertLayoutOp>();
        if (!back || back.getSrc().getType() != *target)
          continue;
        retypeIterArg(loop, i, *target, back.getSrc());
      }
    });
    RewritePatternSet patterns(&getContext());
    ConvertLayoutOp::getCanonicalizationPatterns(patterns, &getContext());
    if (failed(applyPatternsGreedily(module, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace terrazzo::tzgpu
