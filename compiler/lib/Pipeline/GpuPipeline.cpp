//===- GpuPipeline.cpp - tz kernel to PTX and cubin ----------------------===//
#include "terrazzo/Pipeline/GpuPipeline.h"

#include "terrazzo/Dialect/TzGpu/Transforms/Passes.h"
#include "terrazzo/Target/PTXBackend.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;

namespace terrazzo::pipeline {

namespace {
std::string printed(Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

// Shared memory the pipelined buffers of one loop may take: the block's
// opt-in maximum (227 KB on sm_90, 163 KB on sm_80, 99 KB on sm_86/sm_89)
// less room for the scratch space the other ops need.
int64_t pipelinedBytesFor(llvm::StringRef arch) {
  if (arch.starts_with("sm_90"))
    return 160 * 1024;
  if (arch == "sm_80")
    return 96 * 1024;
  return 48 * 1024;
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
} // namespace

llvm::Expected<GpuBinary> compileForGpu(ModuleOp tzModule, const GpuCompileOptions &options) {
  OwningOpRef<ModuleOp> module;
  MLIRContext *ctx = tzModule->getContext();
  GpuBinary bin;
  for (auto f : tzModule.getOps<func::FuncOp>())
    bin.kernelName = f.getName().str();
  bin.numWarps = options.numWarps;

  // Collect diagnostics so that a failure reports them, not a bare "failed".
  std::string diagnostics;
  ScopedDiagnosticHandler handler(ctx, [&](Diagnostic &d) {
    llvm::raw_string_ostream os(diagnostics);
    os << d.getLocation() << ": " << d << "\n";
    return success();
  });
  auto runPasses = [&](auto build, const char *stage) -> llvm::Error {
    PassManager pm(ctx);
    build(pm);
    if (failed(pm.run(*module)))
      return llvm::createStringError("GPU compilation of '" + bin.kernelName + "' failed in " + stage + ":\n" +
                                     diagnostics);
    return llvm::Error::success();
  };
  // The pipelined buffers are sized before the scratch space the lowering
  // needs is known: when the two together exceed what a block may use,
  // lower again with the buffers' budget cut by the excess.
  int64_t pipelineBudget = pipelinedBytesFor(options.arch), sharedLimit = sharedLimitFor(options.arch);
  for (int attempt = 0;; ++attempt) {
    module = OwningOpRef<ModuleOp>(cast<ModuleOp>(tzModule->clone()));
    if (auto err = runPasses(
            [&](PassManager &pm) {
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
              pipeline.maxBytes = pipelineBudget;
              pm.addPass(tzgpu::createTzGpuPipeline(pipeline));
              pm.addPass(createCanonicalizerPass());
              pm.addPass(createCSEPass());
            },
            "layout assignment and optimisation"))
      return std::move(err);
    if (options.dump)
      options.dump("tzgpu", printed(*module));
    if (auto err = runPasses(
            [&](PassManager &pm) {
              pm.addPass(tzgpu::createConvertTzGpuToLLVM());
              pm.addPass(createCanonicalizerPass());
              pm.addPass(createCSEPass());
            },
            "the lowering to LLVM"))
      return std::move(err);
    bin.sharedBytes = 0;
    if (auto attr = (*module)->getAttrOfType<IntegerAttr>(tzgpu::kSharedBytesAttrName))
      bin.sharedBytes = attr.getInt();
    if (bin.sharedBytes <= sharedLimit || pipelineBudget == 0 || attempt == 3)
      break;
    pipelineBudget = std::max<int64_t>(0, pipelineBudget - (bin.sharedBytes - sharedLimit)) / 1024 * 1024;
    diagnostics.clear();
  }
  if (options.minBlocksPerSM > 0)
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
  auto ptx = target::translateToPTX(*module, targetOptions, options.dump ? &llvmIR : nullptr);
  if (!ptx)
    return ptx.takeError();
  bin.ptx = std::move(*ptx);
  if (options.dump) {
    options.dump("llvm", llvmIR);
    options.dump("ptx", bin.ptx);
  }
  if (options.skipCubin || !target::nvJitLinkAvailable())
    return bin;
  auto cubin = target::compilePTXToCubin(bin.ptx, options.arch, bin.kernelName);
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
