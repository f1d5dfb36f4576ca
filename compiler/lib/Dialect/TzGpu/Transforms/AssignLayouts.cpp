//===- AssignLayouts.cpp - the default layout of every tile ---------------===//
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_TZGPUASSIGNLAYOUTS
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

struct AssignLayouts : impl::TzGpuAssignLayoutsBase<AssignLayouts> {
  using TzGpuAssignLayoutsBase::TzGpuAssignLayoutsBase;

  Type encode(Type type) {
    auto tile = dyn_cast<RankedTensorType>(type);
    // Rank-0 tiles do not occur in kernels; they stay as they are.
    if (!tile || tile.getEncoding() || tile.getRank() == 0)
      return type;
    return withLayout(tile, LinearLayout::blocked(tile.getShape(), numWarps));
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (numWarps < 1 || !llvm::isPowerOf2_32(numWarps)) {
      module.emitError("num_warps must be a power of two, got ") << static_cast<int>(numWarps);
      return signalPassFailure();
    }
    module->setAttr(kNumWarpsAttrName, IntegerAttr::get(IntegerType::get(&getContext(), 32), numWarps));
    module.walk([&](Operation *op) {
      for (Region &region : op->getRegions())
        for (Block &block : region)
          for (BlockArgument arg : block.getArguments())
            arg.setType(encode(arg.getType()));
      for (OpResult result : op->getResults())
        result.setType(encode(result.getType()));
      // A tile constant's attribute carries its type too.
      if (auto constant = dyn_cast<arith::ConstantOp>(op))
        if (auto dense = dyn_cast<DenseElementsAttr>(constant.getValue()))
          if (dense.getType() != constant.getType())
            constant.setValueAttr(dense.reshape(cast<ShapedType>(constant.getType())));
    });
    // Functions that take or return tiles (helpers not inlined yet) keep
    // signatures that match their retyped blocks.
    module.walk([&](func::FuncOp f) {
      if (f.isExternal())
        return;
      SmallVector<Type> results;
      f.walk([&](func::ReturnOp r) { results.assign(r.getOperandTypes().begin(), r.getOperandTypes().end()); });
      if (results.size() != f.getNumResults())
        results.assign(f.getResultTypes().begin(), f.getResultTypes().end());
      f.setType(FunctionType::get(&getContext(), f.getBody().getArgumentTypes(), results));
    });
  }
};

} // namespace
} // namespace terrazzo::tzgpu
