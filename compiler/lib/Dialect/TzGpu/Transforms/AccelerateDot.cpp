//===- AccelerateDot.cpp - dots on tensor cores get the mma layout -------===//
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Analysis/DotPlan.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUACCELERATEDOT
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

struct AccelerateDot : impl::TzGpuAccelerateDotBase<AccelerateDot> {
  using TzGpuAccelerateDotBase::TzGpuAccelerateDotBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int numWarps = moduleNumWarps(module);
    module.walk([&](tz::DotOp dot) {
      MmaUnit unit = eligibleMmaUnit(dot, numWarps, wgmma);
      if (unit == MmaUnit::Fma)
        return;
      // The module says the target has warpgroup MMAs; planDot then tells
      // a wgmma dot by its types and this accumulator layout.
      if (unit == MmaUnit::Wgmma)
        module->setAttr(kWgmmaAttrName, UnitAttr::get(dot.getContext()));
      auto type = cast<RankedTensorType>(dot.getType());
      auto mmaType = withLayout(type, LinearLayout::mmaAccumulator(type.getShape(), numWarps));
      if (type == mmaType)
        return;
      OpBuilder b(dot);
      Value acc = ConvertLayoutOp::create(b, dot.getLoc(), mmaType, dot.getAcc());
      dot.getAccMutable().assign(acc);
      dot.getResult().setType(mmaType);
      b.setInsertionPointAfter(dot);
      auto back = ConvertLayoutOp::create(b, dot.getLoc(), type, dot.getResult());
      dot.getResult().replaceAllUsesExcept(back, back);
    });
  }
};

} // namespace
} // namespace terrazzo::tzgpu
