//===- TzGpuToLLVMPass.cpp - tz / tzgpu on encoded tiles to LLVM + NVVM --===//
//
// Two conversions in one pass. First the 1:N conversion that turns every
// tile into its registers (the patterns of this folder, with scf structural
// conversions carrying tiles through loops and branches). Then the standard
// conversions take the remaining scalar arith / math / scf / cf / func ops
// to the LLVM dialect, math through libdevice where LLVM has no intrinsic.
#include "Patterns.h"
#include "Utility.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/Transforms/Patterns.h"
#include "mlir/Transforms/DialectConversion.h"

using namespace mlir;

namespace terrazzo::tzgpu {
#define GEN_PASS_DEF_CONVERTTZGPUTOLLVM
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h.inc"

namespace {

// Tiles to their registers, tz pointers to global LLVM pointers.
struct TileTypeConverter : TypeConverter {
  explicit TileTypeConverter(MLIRContext *ctx) {
    addConversion([](Type t) { return t; });
    addConversion([ctx](tz::PointerType) -> Type {
      return LLVM::LLVMPointerType::get(ctx, lowering::kGlobalAddressSpace);
    });
    addConversion([this](RankedTensorType t, SmallVectorImpl<Type> &out) -> std::optional<LogicalResult> {
      if (!t.getEncoding())
        return std::nullopt;
      Type elem = convertType(t.getElementType());
      out.append(getLayout(t).numRegisters(), elem);
      return success();
    });
  }
};

bool hasTile(TypeRange types) {
  return llvm::any_of(types, [](Type t) { return isa<RankedTensorType>(t); });
}

LogicalResult checkSupported(ModuleOp module) {
  WalkResult r = module.walk([](Operation *op) {
    if (auto tile = dyn_cast_or_null<RankedTensorType>(op->getNumResults() ? op->getResult(0).getType() : Type()))
      if (!tile.getEncoding()) {
        op->emitError("tile without a layout: run tzgpu-assign-layouts first");
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

// Ops inside a loop that tzgpu-pipeline rewrote (its body waits on async
// copies), and ops between its prologue's first copy and the loop, run while
// copies into the pipelined buffers are in flight, so their scratch space
// must come after the buffers; so do ops from the copy of a resident
// operand (a slot of one stage, read by dots in later loops) to the last
// op that reads it. Everywhere else scratch may overlap the buffers (before
// the prologue, after the final wait). Marked here, before the lowering
// replaces the loops.
void markScratchAfterPipelinedBuffers(ModuleOp module) {
  MLIRContext *ctx = module.getContext();
  auto mark = [&](Operation *op) { op->setAttr(kScratchAfterPipelinedAttrName, UnitAttr::get(ctx)); };
  module.walk([&](AsyncCopyOp copy) {
    if (copy.getStages() != 1)
      return;
    auto readsSlot = [&](Operation *op) {
      return op->walk([&](LocalLoadOp read) {
                 return read.getStages() == 1 && read.getOffset() == copy.getOffset() ? WalkResult::interrupt()
                                                                                      : WalkResult::advance();
               }).wasInterrupted();
    };
    Operation *last = copy;
    for (Operation *op = copy->getNextNode(); op; op = op->getNextNode())
      if (readsSlot(op))
        last = op;
    for (Operation *op = copy; op != last->getNextNode(); op = op->getNextNode())
      op->walk(mark);
  });
  module.walk([&](scf::ForOp loop) {
    if (loop.getBody()->getOps<AsyncWaitOp>().empty())
      return;
    loop.getBody()->walk(mark);
    // The prologue: back to the first copy after the previous wait.
    Operation *first = nullptr;
    for (Operation *op = loop->getPrevNode(); op && !isa<AsyncWaitOp>(op); op = op->getPrevNode())
      if (isa<AsyncCopyOp>(op))
        first = op;
    for (Operation *op = first; op && op != loop; op = op->getNextNode())
      op->walk(mark);
  });
}

// Kernel arguments known 16-byte aligned (tz.divisibility on a pointer)
// tell LLVM so, which lets it vectorise accesses.
void annotateKernelArguments(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    auto div = func.getArgAttrOfType<IntegerAttr>(i, "tz.divisibility");
    if (!div)
      continue;
    func.removeArgAttr(i, "tz.divisibility");
    if (isa<tz::PointerType>(func.getArgument(i).getType()))
      func.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                      IntegerAttr::get(IntegerType::get(ctx, 64), div.getInt()));
  }
}

struct ConvertTzGpuToLLVM : impl::ConvertTzGpuToLLVMBase<ConvertTzGpuToLLVM> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (failed(checkSupported(module)))
      return signalPassFailure();
    // The analysis reads tz.divisibility, which annotateKernelArguments
    // turns into LLVM alignments.
    AxisInfoAnalysis axis(module);
    module.walk([](func::FuncOp f) { annotateKernelArguments(f); });
    markScratchAfterPipelinedBuffers(module);
    if (failed(lowerTiles(module, axis)) || failed(lowerToLLVM(module)))
      return signalPassFailure();
    markKernels(module, ctx);
  }

  LogicalResult lowerTiles(ModuleOp module, const AxisInfoAnalysis &axis) {
    MLIRContext *ctx = module.getContext();
    TileTypeConverter tc(ctx);
    ConversionTarget target(*ctx);
    target.addLegalDialect<LLVM::LLVMDialect, NVVM::NVVMDialect>();
    target.addIllegalDialect<tz::TzDialect, TzGpuDialect>();
    target.addDynamicallyLegalDialect<arith::ArithDialect, math::MathDialect>(
        [](Operation *op) { return !hasTile(op->getOperandTypes()) && !hasTile(op->getResultTypes()); });
    target.addDynamicallyLegalOp<func::FuncOp>(
        [&](func::FuncOp f) { return tc.isSignatureLegal(f.getFunctionType()) && tc.isLegal(&f.getBody()); });
    target.addDynamicallyLegalOp<func::ReturnOp>([&](func::ReturnOp r) { return tc.isLegal(r); });
    RewritePatternSet patterns(ctx);
    lowering::populateElementwisePatterns(tc, patterns);
    lowering::populateMemoryPatterns(tc, patterns, axis);
    lowering::populateLayoutPatterns(tc, patterns);
    lowering::populateReducePatterns(tc, patterns);
    lowering::populateScanPatterns(tc, patterns);
    lowering::populateDotPatterns(tc, patterns);
    lowering::populateAsyncCopyPatterns(tc, patterns, axis);
    lowering::populateDebugPatterns(tc, patterns);
    scf::populateSCFStructuralTypeConversionsAndLegality(tc, patterns, target);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, tc);
    populateReturnOpTypeConversionPattern(patterns, tc);
    return applyPartialConversion(module, target, std::move(patterns));
  }

  LogicalResult lowerToLLVM(ModuleOp module) {
    MLIRContext *ctx = module.getContext();
    LowerToLLVMOptions options(ctx);
    LLVMTypeConverter tc(ctx, options);
    LLVMConversionTarget target(*ctx);
    target.addLegalDialect<NVVM::NVVMDialect>();
    target.addLegalOp<ModuleOp>();
    RewritePatternSet patterns(ctx);
    populateSCFToControlFlowConversionPatterns(patterns);
    // libdevice first: LLVM's intrinsics for exp/log/sin are not all
    // selectable by NVPTX.
    populateLibDeviceConversionPatterns(tc, patterns, /*benefit=*/10);
    populateMathToLLVMConversionPatterns(tc, patterns);
    arith::populateArithToLLVMConversionPatterns(tc, patterns);
    cf::populateControlFlowToLLVMConversionPatterns(tc, patterns);
    populateFuncToLLVMConversionPatterns(tc, patterns);
    return applyFullConversion(module, target, std::move(patterns));
  }

  static void markKernels(ModuleOp module, MLIRContext *ctx) {
    int numWarps = moduleNumWarps(module);
    module.walk([&](LLVM::LLVMFuncOp f) {
      if (!f->hasAttr(tz::kKernelAttrName))
        return;
      f->removeAttr(tz::kKernelAttrName);
      f->setAttr("nvvm.kernel", UnitAttr::get(ctx));
      f->setAttr("nvvm.maxntid", DenseI32ArrayAttr::get(ctx, {32 * numWarps, 1, 1}));
    });
  }
};

} // namespace
} // namespace terrazzo::tzgpu
