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

struct AccelerateDot : impl::TzGpuAccelerateDotBase<AccelerateDot> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    int numWarps = moduleNumWarps(module);
    module.walk([&](tz::DotOp dot) {
      if (!runsOnMma(dot))
        return;
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
