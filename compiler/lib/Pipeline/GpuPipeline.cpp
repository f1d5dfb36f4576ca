//===- GpuPipeline.cpp - tz kernel to PTX and cubin ----------------------===//
#include "terrazzo/Pipeline/GpuPipeline.h"

#include "terrazzo/Dialect/Tz/Transforms/Passes.h"
#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"
#include "terrazzo/Target/PTXBackend.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>


using namespace mlir;

namespace terrazzo::pipeline {

char KernelSourceError::ID = 0;

void KernelSourceError::log(llvm::raw_ostream &os) const {
  os << file << ":" << line << ":" << col << ": error: " << message;
}

namespace {
std::string printed(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

// The most dynamic shared memory a block may opt into on `arch`.
int64_t sharedLimitFor(llvm::StringRef arch) {
  if (arch.starts_with("sm_90"))
    return 227 * 1024;
  if (arch == "sm_80")
    return 163 * 1024;
  if (arch == "sm_86" || arch == "sm_87" || arch == "sm_89")
    return 99 * 1024;
  return 48 * 1024;
}
// The tensor maps tzgpu-pipeline added as kernel arguments, in order.
void collectTensorMaps(ModuleOp module, GpuBinary &bin) {
  for (auto f : module.getOps<func::FuncOp>())
    for (unsigned i = 0; i < f.getNumArguments(); ++i) {
      auto spec = f.getArgAttrOfType<tzgpu::TensorMapSpecAttr>(i, tzgpu::kTensorMapAttrName);
      if (!spec)
        continue;
      TensorMapSpec t;
      t.baseArg = spec.getBase();
      t.elementType = spec.getElementType().isBF16() ? "bf16" : "f16";
      t.elementBytes = spec.getElementType().getIntOrFloatBitWidth() / 8;
      t.swizzleBytes = spec.getSwizzle();
      t.box.assign(spec.getBox().begin(), spec.getBox().end());
      t.extentArgs.assign(spec.getExtentArgs().begin(), spec.getExtentArgs().end());
      t.extents.assign(spec.getExtents().begin(), spec.getExtents().end());
      t.strideArgs.assign(spec.getStrideArgs().begin(), spec.getStrideArgs().end());
      t.strides.assign(spec.getStrides().begin(), spec.getStrides().end());
      bin.tensorMaps.push_back(std::move(t));
    }
}
} // namespace

llvm::Expected<GpuBinary> compileForGpu(ModuleOp tzModule, const GpuCompileOptions &options) {
  OwningOpRef<ModuleOp> module;
  MLIRContext *ctx = tzModule->getContext();
  GpuBinary bin;
  // Loaded while the passes and LLVM run; waited for before PTX to cubin.
  if (!options.skipCubin)
    target::preloadNvJitLink();
  for (auto f : tzModule.getOps<func::FuncOp>())
    bin.kernelName = f.getName().str();
  bin.numWarps = options.numWarps;

  // Collect diagnostics so that a failure reports them, not a bare "failed".
  std::string diagnostics;
  std::optional<KernelSourceError> firstAtSource;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    llvm::raw_string_ostream os(diagnostics);
    os << d.getLocation() << ": " << d << "\n";
    if (auto at = dyn_cast<FileLineColLoc>(d.getLocation());
        at && d.getSeverity() == DiagnosticSeverity::Error && !firstAtSource)
      firstAtSource.emplace(at.getFilename().str(), at.getLine(), at.getColumn(), d.str());
    return success();
  });
  // `userFacing`: the passes' errors at a source location are the author's
  // to fix; the lowering's are compiler bugs and keep the whole dump.
  using Clock = std::chrono::steady_clock;
  auto secondsSince = [](Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  };
  auto runPasses = [&](auto build, const char *stage, bool userFacing) -> llvm::Error {
    PassManager pm(ctx);
    build(pm);
    auto start = Clock::now();
    LogicalResult ran = pm.run(*module);
    bin.stageSeconds.emplace_back(stage, secondsSince(start));
    if (failed(ran)) {
      if (userFacing && firstAtSource)
        return llvm::make_error<KernelSourceError>(std::move(*firstAtSource));
      return llvm::createStringError("GPU compilation of '" + bin.kernelName + "' failed in " + stage + ":\n" +
                                     diagnostics);
    }
    return llvm::Error::success();
  };
  // Buffers and scratch are placed once, by tzgpu-allocate-shared-memory,
  // before the lowering: the pipeliner sizes its buffers knowing the scratch
  // its loops need, so nothing is lowered twice.
  int64_t sharedLimit = sharedLimitFor(options.arch);
  module = OwningOpRef<ModuleOp>(cast<ModuleOp>(tzModule->clone()));
  if (auto err = runPasses(
          [&](PassManager &pm) {
            if (options.persistent)
              pm.addPass(tz::createTzMakePersistent());
            tzgpu::TzGpuAssignLayoutsOptions layouts;
            layouts.numWarps = options.numWarps;
            pm.addPass(tzgpu::createTzGpuAssignLayouts(layouts));
            tzgpu::TzGpuAccelerateDotOptions accelerate;
            accelerate.wgmma = options.arch == "sm_90a";
            pm.addPass(tzgpu::createTzGpuAccelerateDot(accelerate));
            pm.addPass(tzgpu::createTzGpuRemoveLayoutConversions());
            pm.addPass(createCanonicalizerPass());
            pm.addPass(createCSEPass());
            tzgpu::TzGpuPipelineOptions pipeline;
            pipeline.numStages = options.numStages;
            pipeline.maxBytes = sharedLimit;
            pipeline.tma = options.tma && options.arch == "sm_90a";
            pipeline.warpSpecialize = pipeline.tma && options.warpSpecialize;
            pipeline.loopHints = options.loopHints && options.arch == "sm_90a";
            pm.addPass(tzgpu::createTzGpuPipeline(pipeline));
            pm.addPass(createCanonicalizerPass());
            pm.addPass(createCSEPass());
            pm.addPass(tzgpu::createTzGpuLowerWarpGroupDots());
            pm.addPass(tzgpu::createTzGpuDeferWarpGroupDotWaits());
            pm.addPass(tzgpu::createTzGpuWarpSpecialize());
            tzgpu::TzGpuAllocateSharedMemoryOptions allocate;
            allocate.maxBytes = sharedLimit;
            pm.addPass(tzgpu::createTzGpuAllocateSharedMemory(allocate));
            pm.addPass(tzgpu::createTzGpuInsertBarriers());
          },
          "tzgpu passes", /*userFacing=*/true))
    return std::move(err);
  if (options.dump)
    options.dump("tzgpu", printed(*module));
  collectTensorMaps(*module, bin);
  // A warp-specialised kernel launches its producer warps too; setmaxnreg
  // needs the kernel assembled whole, which nvJitLink does not do (it drops
  // the instruction): the driver assembles its PTX at load instead.
  bin.numWarps = tzgpu::moduleLaunchWarps(*module);
  bool warpSpecialised = bin.numWarps != options.numWarps;
  if (auto err = runPasses(
          [&](PassManager &pm) {
            pm.addPass(tzgpu::createConvertTzGpuToLLVM());
            pm.addPass(createCanonicalizerPass());
            pm.addPass(createCSEPass());
          },
          "lowering to LLVM", /*userFacing=*/false))
    return std::move(err);
  bin.sharedBytes = 0;
  if (auto attr = (*module)->getAttrOfType<IntegerAttr>(tzgpu::kSharedBytesAttrName))
    bin.sharedBytes = attr.getInt();
  if (options.minBlocksPerSM > 0 && !warpSpecialised) // one block per SM for setmaxnreg
    (*module)->walk([&](LLVM::LLVMFuncOp f) {
      if (f->hasAttr("nvvm.kernel"))
        f->setAttr("nvvm.minctasm", IntegerAttr::get(IntegerType::get(f.getContext(), 32), options.minBlocksPerSM));
    });
  if (options.dump)
    options.dump("llvm-mlir", printed(*module));

  target::TargetOptions targetOptions;
  targetOptions.arch = options.arch;
  targetOptions.fastMath = options.fastMath;
  std::string llvmIR;
  auto ptx = target::translateToPTX(*module, targetOptions, options.dump ? &llvmIR : nullptr, &bin.stageSeconds);
  if (!ptx)
    return ptx.takeError();
  bin.ptx = std::move(*ptx);
  if (options.dump) {
    options.dump("llvm", llvmIR);
    options.dump("ptx", bin.ptx);
  }
  if (options.skipCubin || warpSpecialised)
    return bin;
  auto loadStart = Clock::now();
  bool haveNvJitLink = target::nvJitLinkAvailable();
  bin.stageSeconds.emplace_back("load nvJitLink", secondsSince(loadStart));
  if (!haveNvJitLink)
    return bin;
  auto cubinStart = Clock::now();
  auto cubin = target::compilePTXToCubin(bin.ptx, options.arch, bin.kernelName);
  bin.stageSeconds.emplace_back("PTX to cubin", secondsSince(cubinStart));
  if (!cubin)
    return cubin.takeError();
  bin.cubin = std::move(cubin->cubin);
  bin.registers = cubin->registers;
  bin.spillStoreBytes = cubin->spillStoreBytes;
  bin.spillLoadBytes = cubin->spillLoadBytes;
  bin.assemblerLog = std::move(cubin->infoLog);
  return bin;
}

} // namespace terrazzo::pipeline
