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
    // A tensor map is the generic address of its kernel parameter.
    addConversion([ctx](TensorMapType) -> Type { return LLVM::LLVMPointerType::get(ctx); });
    // A buffer is the address of its first byte.
    addConversion([ctx](MemDescType) -> Type {
      return LLVM::LLVMPointerType::get(ctx, lowering::kSharedAddressSpace);
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

// Kernel arguments known 16-byte aligned (tz.divisibility on a pointer)
// tell LLVM so, which lets it vectorise accesses.
//
// A tensor map travels by value as a 128-byte, 64-byte aligned parameter
// the copies read where it is (__grid_constant__); the host encoded it from
// the tzgpu.tensormap attribute, which the lowering no longer needs.
void annotateKernelArguments(func::FuncOp func) {
  MLIRContext *ctx = func.getContext();
  for (unsigned i = 0; i < func.getNumArguments(); ++i) {
    if (isa<TensorMapType>(func.getArgument(i).getType())) {
      func.removeArgAttr(i, kTensorMapAttrName);
      func.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(),
                      TypeAttr::get(LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), 128)));
      func.setArgAttr(i, "nvvm.grid_constant", UnitAttr::get(ctx));
      func.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(), IntegerAttr::get(IntegerType::get(ctx, 64), 64));
      continue;
    }
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
    if (failed(lowerTiles(module, axis)))
      return signalPassFailure();
    if (module->hasAttr(lowering::kLoweringErrorAttrName)) {
      module->removeAttr(lowering::kLoweringErrorAttrName);
      return signalPassFailure();
    }
    lowering::lowerWarpSpecializeToBranches(module);
    keepTileLoopInvariantsInside(module, ctx);
    if (failed(lowerToLLVM(module)))
      return signalPassFailure();
    placeLoopAnnotations(module);
    markKernels(module, ctx);
  }

  LogicalResult lowerTiles(ModuleOp module, const AxisInfoAnalysis &axis) {
    MLIRContext *ctx = module.getContext();
    TileTypeConverter tc(ctx);
    ConversionTarget target(*ctx);
    target.addLegalDialect<LLVM::LLVMDialect, NVVM::NVVMDialect>();
    target.addIllegalDialect<tz::TzDialect, TzGpuDialect>();
    // Kept while its regions' ops lower: they read which partition they
    // are in (lowering::enclosingPartition).
    target.addLegalOp<WarpSpecializeOp>();
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
    lowering::populateWarpGroupDotPatterns(tc, patterns);
    lowering::populateAsyncCopyPatterns(tc, patterns, axis);
    lowering::populateTmaPatterns(tc, patterns);
    lowering::populateDebugPatterns(tc, patterns);
    scf::populateSCFStructuralTypeConversionsAndLegality(tc, patterns, target);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns, tc);
    populateReturnOpTypeConversionPattern(patterns, tc);
    return applyPartialConversion(module, target, std::move(patterns));
  }

  // A persistent kernel's tile loop (tz-make-persistent) runs a whole
  // kernel body per tile. LLVM's LICM would hoist every per-thread address
  // offset its tiles share out of it, to be kept in registers across all
  // of the body: the 128x256 matmul tile went from 254 registers to 255
  // and 536 bytes of spills. The tile loop's latch says not to (the scalar
  // tile-invariant work was already hoisted by tz-make-persistent).
  // scf-to-cf copies the loop's discardable `llvm.loop_annotation` to its
  // back edge; placeLoopAnnotations makes it the branch's own.
  static constexpr const char *kLoopAnnotation = "llvm.loop_annotation";
  static void keepTileLoopInvariantsInside(ModuleOp module, MLIRContext *ctx) {
    auto licm = LLVM::LoopLICMAttr::get(ctx, BoolAttr::get(ctx, true), BoolAttr());
    auto annotation = LLVM::LoopAnnotationAttr::get(ctx, {}, {}, {}, {}, {}, licm, {}, {}, {}, {}, {}, {}, {}, {}, {});
    module.walk([&](scf::ForOp loop) {
      if (loop->hasAttr(tz::kPersistentTileLoopAttrName))
        loop->setAttr(kLoopAnnotation, annotation);
    });
  }
  static void placeLoopAnnotations(ModuleOp module) {
    module.walk([](LLVM::BrOp br) {
      if (auto annotation = br->getAttrOfType<LLVM::LoopAnnotationAttr>(kLoopAnnotation)) {
        br.setLoopAnnotationAttr(annotation);
        br->removeDiscardableAttr(kLoopAnnotation);
      }
    });
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
    if (module->hasAttr(kWgmmaAttrName))
      lowering::populateCallFreeFloatMathPatterns(tc, patterns, /*benefit=*/20);
    populateMathToLLVMConversionPatterns(tc, patterns);
    arith::populateArithToLLVMConversionPatterns(tc, patterns);
    cf::populateControlFlowToLLVMConversionPatterns(tc, patterns);
    populateFuncToLLVMConversionPatterns(tc, patterns);
    return applyFullConversion(module, target, std::move(patterns));
  }

  // A warp-specialised kernel runs exactly its threads, one block per
  // multiprocessor: ptxas needs both (.reqntid, .minnctapersm 1) to know the
  // register count setmaxnreg starts from.
  static void markKernels(ModuleOp module, MLIRContext *ctx) {
    int threads = 32 * moduleLaunchWarps(module);
    bool specialised = module->hasAttr(kProducerWarpsAttrName);
    module.walk([&](LLVM::LLVMFuncOp f) {
      if (!f->hasAttr(tz::kKernelAttrName))
        return;
      f->removeAttr(tz::kKernelAttrName);
      f->setAttr("nvvm.kernel", UnitAttr::get(ctx));
      f->setAttr(specialised ? "nvvm.reqntid" : "nvvm.maxntid", DenseI32ArrayAttr::get(ctx, {threads, 1, 1}));
      if (specialised)
        f->setAttr("nvvm.minctasm", IntegerAttr::get(IntegerType::get(ctx, 32), 1));
    });
  }
};

} // namespace
} // namespace terrazzo::tzgpu
