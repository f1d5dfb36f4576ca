//===- LLVMIRToPTX.cpp - LLVM + NVVM dialects to PTX, in process ----------===//
//
// MLIR (LLVM + NVVM dialects) -> LLVM IR -> libdevice -> middle end (O1 with
// GVN and O3's unroller, see buildTailoredPipeline) -> NVPTX assembly. The
// steps match `mlir-opt --convert-nvvm-to-llvm | mlir-translate
// --mlir-to-llvmir | opt -passes=PIPELINE | llc -O3` (PIPELINE from
// middleEndPipeline), so a failure can be replayed on the command line from
// the TZ_DUMP output.
//
//===----------------------------------------------------------------------===//
#include "terrazzo/Target/PTXBackend.h"

#include <chrono>

#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/DiagnosticInfo.h"
#include "llvm/IR/DiagnosticPrinter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassInstrumentation.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/IPO/Internalize.h"
#include "llvm/Transforms/Scalar/GVN.h"
#include "llvm/Transforms/Scalar/MergedLoadStoreMotion.h"

#include <cstdlib>
#include <mutex>

namespace terrazzo::target {
namespace {

constexpr const char *kTriple = "nvptx64-nvidia-cuda";

/// Collects MLIR diagnostics so that a failure is reported as an llvm::Error
/// rather than printed to stderr by the context's default handler.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext *context)
      : handler(context, [this](mlir::Diagnostic &diag) {
          llvm::raw_string_ostream os(text);
          os << diag.getLocation() << ": " << diag << "\n";
          for (const mlir::Diagnostic &note : diag.getNotes())
            os << "  note: " << note << "\n";
          return mlir::success();
        }) {}
  const std::string &messages() const { return text; }

private:
  std::string text;
  mlir::ScopedDiagnosticHandler handler;
};

llvm::Error failure(const llvm::Twine &what, llvm::StringRef details) {
  std::string message = what.str();
  if (!details.empty())
    message += ":\n" + details.rtrim().str();
  return llvm::createStringError(message);
}

void initializeNVPTX() {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
  });
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createTargetMachine(const TargetOptions &options) {
  if (!llvm::is_contained(supportedArchs(), options.arch))
    return llvm::createStringError("unsupported GPU architecture '" + options.arch +
                                   "' (supported: " + llvm::join(supportedArchs(), ", ") + ")");
  if (options.optLevel < 0 || options.optLevel > 3)
    return llvm::createStringError("optimization level " + llvm::Twine(options.optLevel) + " is not in 0..3");
  initializeNVPTX();
  llvm::Triple triple(kTriple);
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return failure("the NVPTX target is not available", error);
  auto level = llvm::CodeGenOpt::getLevel(options.optLevel).value_or(llvm::CodeGenOptLevel::Aggressive);
  std::unique_ptr<llvm::TargetMachine> machine(target->createTargetMachine(
      triple, options.arch, options.ptxFeatures, llvm::TargetOptions(), std::nullopt, std::nullopt, level));
  if (!machine)
    return llvm::createStringError("cannot create an NVPTX target machine for " + options.arch);
  return machine;
}

/// NVVM ops built on inline PTX (wgmma.mma_async, the mbarrier family, ...)
/// have no LLVM IR translation until they are rewritten to llvm.inline_asm.
mlir::LogicalResult lowerInlinePTXOps(mlir::ModuleOp module) {
  mlir::PassManager pm(module->getContext());
  pm.addPass(mlir::createConvertNVVMToLLVMPass());
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
  return pm.run(module);
}

void registerTranslations(mlir::MLIRContext &context) {
  mlir::DialectRegistry registry;
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  mlir::registerNVVMDialectTranslation(registry);
  context.appendDialectRegistry(registry);
}

/// MLIR marks kernels (`nvvm.kernel`) with the ptx_kernel calling convention.
bool isKernel(const llvm::GlobalValue &value) {
  auto *fn = llvm::dyn_cast<llvm::Function>(&value);
  return fn && fn->getCallingConv() == llvm::CallingConv::PTX_Kernel;
}

/// Only kernels are entry points: every other function (libdevice's included)
/// becomes internal, so the middle end may inline it into the kernels and drop it.
/// Global variables keep their linkage (the host may look them up by name).
void internalizeNonKernels(llvm::Module &module) {
  llvm::internalizeModule(module, [](const llvm::GlobalValue &value) {
    return isKernel(value) || !llvm::isa<llvm::Function>(value);
  });
}

/// NVVMReflect reads nvvm-reflect-ftz for libdevice's __CUDA_FTZ; the
/// denormal attribute makes NVPTX itself emit the .ftz forms.
void setFloatingPointMode(llvm::Module &module, bool fastMath) {
  module.addModuleFlag(llvm::Module::Override, "nvvm-reflect-ftz", fastMath ? 1 : 0);
  if (!fastMath)
    return;
  for (llvm::Function &fn : module)
    if (!fn.isDeclaration())
      fn.addFnAttr("denormal-fp-math-f32", "preserve-sign,preserve-sign");
}

/// What the middle end runs: LLVM's default module pipeline at `level`, or
/// `passes`, a pipeline in `opt -passes=` syntax, when not empty.
struct MiddleEnd {
  int level = 1;
  std::string passes;
};

/// The options' middle end, unless the environment overrides it (to compare
/// pipelines without rebuilding): TZ_LLVM_PASSES (`opt -passes=` text; it
/// must name nvvm-reflect itself), else TZ_LLVM_OPT_LEVEL (0..3).
llvm::Expected<MiddleEnd> middleEnd(const TargetOptions &options) {
  MiddleEnd choice;
  choice.level = options.irOptLevel;
  if (const char *passes = std::getenv("TZ_LLVM_PASSES"); passes && *passes) {
    choice.passes = passes;
    return choice;
  }
  if (const char *env = std::getenv("TZ_LLVM_OPT_LEVEL"); env && *env) {
    if (llvm::StringRef(env).getAsInteger(10, choice.level) || choice.level < 0 || choice.level > 3)
      return llvm::createStringError("TZ_LLVM_OPT_LEVEL must be 0, 1, 2 or 3, not '" + llvm::Twine(env) + "'");
  } else if (choice.level < 0 || choice.level > 3) {
    return llvm::createStringError("LLVM optimization level " + llvm::Twine(choice.level) + " is not in 0..3");
  }
  return choice;
}

/// The default middle end: LLVM's O1 pipeline with two pieces of O3 that the
/// MLIR output needs.
///
/// - GVN (after merging the loads and stores of diamonds, as O2 and O3 do
///   before it), late in the function simplification: the lowering hands
///   over straight-line tile code whose redundant address and index
///   arithmetic only GVN removes (without it small matmuls kept 2-6 more
///   registers, and NVPTX codegen had 6% more to do on the flash forward).
/// - O3's loop unroller in place of O1's: it also unrolls loops with a run-time
///   trip count (a sum over splits, the CUDA-core dot's k loop), whose
///   loads then issue together.
///
/// On every library kernel and bench matmul config this gives the code O3
/// gives (bench/codegen_compare.py; docs/gpu-backend.md, "Compile time") for
/// 60% (bench matmul) to 81% (flash forward) of O3's work. The O1 pipeline
/// is printed, its unroller swapped and the text parsed back, so that the
/// rest stays LLVM's own O1; should the swap not apply (another LLVM), O3
/// runs instead.
llvm::ModulePassManager buildTailoredPipeline(llvm::PassBuilder &builder, llvm::PassInstrumentationCallbacks &pic) {
  llvm::ModulePassManager o1 = builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O1);
  std::string text;
  llvm::raw_string_ostream os(text);
  o1.printPipeline(os, [&](llvm::StringRef className) {
    llvm::StringRef name = pic.getPassNameForClassName(className);
    return name.empty() ? className : name;
  });
  constexpr llvm::StringLiteral o1Unroll = "loop-unroll<O1>";
  llvm::ModulePassManager tailored;
  size_t at = text.find(o1Unroll.data());
  if (at != std::string::npos && text.find(o1Unroll.data(), at + 1) == std::string::npos) {
    text.replace(at, o1Unroll.size(), "loop-unroll<O3>");
    if (llvm::Error error = builder.parsePassPipeline(tailored, text))
      llvm::consumeError(std::move(error));
    else
      return tailored;
  }
  return builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
}

/// The analysis managers and the pass builder of one middle-end run.
/// Constructing the PassBuilder with the target machine registers NVPTX's
/// callbacks, which add NVVMReflect at the start of the default pipelines.
struct MiddleEndBuilder {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassInstrumentationCallbacks pic; // knows the passes' textual names
  llvm::PassBuilder builder;

  MiddleEndBuilder(llvm::TargetMachine &machine, bool tailored)
      : builder(&machine, llvm::PipelineTuningOptions(), std::nullopt, &pic) {
    if (tailored)
      builder.registerScalarOptimizerLateEPCallback([](llvm::FunctionPassManager &fpm, llvm::OptimizationLevel) {
        fpm.addPass(llvm::MergedLoadStoreMotionPass());
        fpm.addPass(llvm::GVNPass());
      });
    builder.registerModuleAnalyses(mam);
    builder.registerCGSCCAnalyses(cgam);
    builder.registerFunctionAnalyses(fam);
    builder.registerLoopAnalyses(lam);
    builder.crossRegisterProxies(lam, fam, cgam, mam);
  }

  llvm::Expected<llvm::ModulePassManager> pipeline(const MiddleEnd &choice) {
    llvm::ModulePassManager pipeline;
    if (!choice.passes.empty()) {
      if (llvm::Error error = builder.parsePassPipeline(pipeline, choice.passes))
        return llvm::createStringError("TZ_LLVM_PASSES is not a pass pipeline: " + llvm::toString(std::move(error)));
      return pipeline;
    }
    if (choice.level == 1)
      return buildTailoredPipeline(builder, pic);
    static const llvm::OptimizationLevel levels[] = {llvm::OptimizationLevel::O0, llvm::OptimizationLevel::O1,
                                                     llvm::OptimizationLevel::O2, llvm::OptimizationLevel::O3};
    return choice.level == 0 ? builder.buildO0DefaultPipeline(levels[0])
                             : builder.buildPerModuleDefaultPipeline(levels[choice.level]);
  }
};

bool isTailored(const MiddleEnd &choice) { return choice.passes.empty() && choice.level == 1; }

/// Whether `module` issues TMA copies (cp.async.bulk.tensor). Such modules
/// keep O3: on the flash forward with TMA copies the tailored pipeline placed
/// four address computations differently (O3's speculative execution hoists
/// them), the PTX had the same instructions with registers numbered
/// differently, and ptxas made 8 more SASS instructions of it (2496 against
/// 2488). Two O3 compiles of that kernel in one process can differ the same
/// way, so it is likely noise; O3 stays for that piece until a GPU run
/// decides.
bool issuesTmaCopies(const llvm::Module &module) {
  for (const llvm::Function &fn : module)
    if (fn.isDeclaration() && fn.getName().starts_with("llvm.nvvm.cp.async.bulk.tensor"))
      return true;
  return false;
}

llvm::Error optimize(llvm::Module &module, llvm::TargetMachine &machine, const MiddleEnd &choice) {
  MiddleEndBuilder stage(machine, isTailored(choice));
  llvm::Expected<llvm::ModulePassManager> pipeline = stage.pipeline(choice);
  if (!pipeline)
    return pipeline.takeError();
  pipeline->run(module, stage.mam);
  return llvm::Error::success();
}

llvm::Expected<std::string> emitAssembly(llvm::Module &module, llvm::TargetMachine &machine) {
  llvm::SmallString<0> ptx;
  llvm::raw_svector_ostream os(ptx);
  llvm::legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
    return llvm::createStringError("NVPTX cannot emit assembly for this target machine");
  codegen.run(module);
  return ptx.str().str();
}

} // namespace

llvm::ArrayRef<llvm::StringLiteral> supportedArchs() {
  static constexpr llvm::StringLiteral archs[] = {"sm_80", "sm_86", "sm_89", "sm_90", "sm_90a"};
  return archs;
}

llvm::Expected<std::string> middleEndPipeline(const TargetOptions &options) {
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  llvm::Expected<MiddleEnd> choice = middleEnd(options);
  if (!choice)
    return choice.takeError();
  MiddleEndBuilder stage(**machine, isTailored(*choice));
  llvm::Expected<llvm::ModulePassManager> pipeline = stage.pipeline(*choice);
  if (!pipeline)
    return pipeline.takeError();
  std::string text;
  llvm::raw_string_ostream os(text);
  pipeline->printPipeline(os, [&](llvm::StringRef className) {
    llvm::StringRef name = stage.pic.getPassNameForClassName(className);
    return name.empty() ? className : name;
  });
  return text;
}

llvm::Expected<std::string> translateToPTX(mlir::ModuleOp module, const TargetOptions &options,
                                           std::string *llvmIROut,
                                           std::vector<std::pair<std::string, double>> *stageSeconds) {
  auto last = std::chrono::steady_clock::now();
  auto record = [&](const char *step) {
    auto now = std::chrono::steady_clock::now();
    if (stageSeconds)
      stageSeconds->emplace_back(step, std::chrono::duration<double>(now - last).count());
    last = now;
  };
  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine = createTargetMachine(options);
  if (!machine)
    return machine.takeError();
  llvm::Expected<MiddleEnd> pipeline = middleEnd(options);
  if (!pipeline)
    return pipeline.takeError();

  mlir::MLIRContext &context = *module->getContext();
  registerTranslations(context);
  DiagnosticCollector diagnostics(&context);
  if (mlir::failed(lowerInlinePTXOps(module)))
    return failure("lowering NVVM ops to inline PTX failed", diagnostics.messages());

  llvm::LLVMContext llvmContext;
  // Linker and backend problems arrive through the LLVM context; keep them for
  // the error message instead of printing them.
  std::string llvmDiagnostics;
  llvmContext.setDiagnosticHandlerCallBack(
      [](const llvm::DiagnosticInfo *info, void *sink) {
        llvm::raw_string_ostream os(*static_cast<std::string *>(sink));
        llvm::DiagnosticPrinterRawOStream printer(os);
        info->print(printer);
        os << "\n";
      },
      &llvmDiagnostics);

  std::unique_ptr<llvm::Module> llvmModule = mlir::translateModuleToLLVMIR(module, llvmContext);
  if (!llvmModule)
    return failure("translating the module to LLVM IR failed", diagnostics.messages());
  llvmModule->setTargetTriple(llvm::Triple(kTriple));
  llvmModule->setDataLayout((*machine)->createDataLayout());
  record("to LLVM IR");

  if (llvm::Error error = linkLibdevice(*llvmModule, options.fastMath))
    return failure(llvm::toString(std::move(error)), llvmDiagnostics);
  record("libdevice");
  internalizeNonKernels(*llvmModule);
  setFloatingPointMode(*llvmModule, options.fastMath);
  if (isTailored(*pipeline) && issuesTmaCopies(*llvmModule))
    pipeline->level = 3;
  if (llvm::Error error = optimize(*llvmModule, **machine, *pipeline))
    return error;
  record("LLVM optimisation");

  if (llvmIROut) {
    llvmIROut->clear();
    llvm::raw_string_ostream os(*llvmIROut);
    llvmModule->print(os, nullptr);
    last = std::chrono::steady_clock::now(); // the dump is not counted
  }
  auto ptx = emitAssembly(*llvmModule, **machine);
  record("NVPTX codegen");
  return ptx;
}

} // namespace terrazzo::target
