//===- AccelerateDot.cpp - dots on tensor cores get the mma layout -------===//
#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUACCELERATEDOT
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

bool runsOnMma(tz::DotOp dot) {
  auto a = cast<RankedTensorType>(dot.getA().getType());
  auto b = cast<RankedTensorType>(dot.getB().getType());
  auto c = cast<RankedTensorType>(dot.getType());
  if (a.getRank() != 2)
    return false;
  Type in = a.getElementType();
  if (in != b.getElementType() || !(in.isF16() || in.isBF16()) || !c.getElementType().isF32())
    return false;
  return c.getShape()[0] % 16 == 0 && c.getShape()[1] % 8 == 0 && a.getShape()[1] % 16 == 0;
}

// Whether a dot that runs on mma also fits one wgmma per 64-row block of
// each warpgroup (see the pass description).
bool runsOnWgmma(tz::DotOp dot, int numWarps) {
  auto c = cast<RankedTensorType>(dot.getType());
  int64_t M = c.getShape()[0], N = c.getShape()[1];
  int64_t K = cast<RankedTensorType>(dot.getA().getType()).getShape()[1];
  return numWarps % 4 == 0 && M % (16 * numWarps) == 0 && K % 64 == 0 && N % 64 == 0 && N <= 256;
}

struct AccelerateDot : impl::TzGpuAccelerateDotBase<AccelerateDot> {
  using TzGpuAccelerateDotBase::TzGpuAccelerateDotBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    int numWarps = moduleNumWarps(module);
    module.walk([&](tz::DotOp dot) {
      if (!runsOnMma(dot))
        return;
      if (wgmma && runsOnWgmma(dot, numWarps)) {
        dot->setAttr(kWgmmaAttrName, UnitAttr::get(dot.getContext()));
        module->setAttr(kWgmmaAttrName, UnitAttr::get(dot.getContext()));
      }
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
