//===- PTXBackend.h - LLVM + NVVM dialects to PTX, PTX to cubin -*- C++ -*-===//
//
// The last two steps of the GPU pipeline. translateToPTX takes a module that
// the lowering has brought down to the LLVM and NVVM dialects and produces PTX
// text (LLVM IR, libdevice, O3, NVPTX codegen, all in process). compilePTXToCubin
// assembles that PTX with nvJitLink, loaded at run time so that the library
// still loads where the CUDA toolkit is absent; it needs no GPU, so CI can check
// register counts and spills of every kernel.
//
//===----------------------------------------------------------------------===//
#ifndef TERRAZZO_TARGET_PTXBACKEND_H
#define TERRAZZO_TARGET_PTXBACKEND_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace llvm {
class Module;
} // namespace llvm

namespace terrazzo::target {

/// The architectures Terrazzo generates code for: sm_80, sm_86, sm_89, sm_90
/// and sm_90a (mma.sync needs sm_80; wgmma and TMA need sm_90a).
llvm::ArrayRef<llvm::StringLiteral> supportedArchs();

struct TargetOptions {
  /// One of supportedArchs().
  std::string arch = "sm_90a";
  /// 0 to 3: NVPTX codegen.
  int optLevel = 3;
  /// 0 to 3: LLVM's module pipeline (the middle end). 1 by default: O1 with
  /// GVN and O3's loop unroller (LLVMIRToPTX.cpp). The MLIR lowering hands over code that is already simplified,
  /// and on every library kernel and bench matmul config this gives the
  /// registers, spills and loop instructions O3 gives (docs/gpu-backend.md,
  /// "Compile time") for 60-80% of O3's work; 0, 2 and 3 are LLVM's plain
  /// pipelines. The environment variable TZ_LLVM_OPT_LEVEL (0..3) overrides
  /// it, to compare; TZ_LLVM_PASSES (an `opt -passes=` pipeline) replaces the
  /// pipeline.
  int irOptLevel = 1;
  /// PTX ISA features for NVPTX; TMA into shared::cta needs +ptx86.
  std::string ptxFeatures = "+ptx86";
  /// Flush f32 denormals to zero and take libdevice's approximate paths
  /// (__CUDA_FTZ = 1, __CUDA_PREC_SQRT = 0).
  bool fastMath = false;
};

/// Translates `module` (LLVM + NVVM dialects) to PTX for `options.arch`.
/// The module is rewritten in place: NVVM ops implemented with inline PTX are
/// lowered to llvm.inline_asm first. libdevice is linked only when the module
/// calls a `__nv_*` function. When `llvmIROut` is given it receives the
/// optimized LLVM IR (what TZ_DUMP=llvm shows). When `stageSeconds` is given,
/// the wall-clock seconds of its steps are appended to it: "to LLVM IR",
/// "libdevice", "LLVM optimisation" and "NVPTX codegen".
llvm::Expected<std::string> translateToPTX(mlir::ModuleOp module,
                                           const TargetOptions &options,
                                           std::string *llvmIROut = nullptr,
                                           std::vector<std::pair<std::string, double>> *stageSeconds = nullptr);

/// The middle end translateToPTX runs for `options` (after the environment
/// overrides), in `opt -passes=` syntax: to replay a compilation with opt,
/// and for tests.
llvm::Expected<std::string> middleEndPipeline(const TargetOptions &options);

/// libdevice.10.bc, embedded into the library at build time.
llvm::ArrayRef<char> embeddedLibdevice();

/// Links the `__nv_*` functions that `module` declares from libdevice (nothing
/// when it declares none) and resolves libdevice's `__CUDA_PREC_SQRT` query,
/// which NVVMReflect does not know. Non-kernel functions are internalized
/// by translateToPTX afterwards.
llvm::Error linkLibdevice(llvm::Module &module, bool fastMath);

struct CubinResult {
  std::vector<char> cubin;
  /// nvJitLink's info log (ptxas -v style), kept for dumps and warnings.
  std::string infoLog;
  /// Parsed from the info log; -1 when the log did not mention the kernel.
  int registers = -1;
  int spillStoreBytes = 0, spillLoadBytes = 0;
  /// Static shared memory declared by the kernel (without the 1 KB that
  /// sm_90 reserves per block).
  int sharedBytes = 0;
};

/// Assembles `ptx` for `arch` (one of supportedArchs()) with nvJitLink at -O3. The
/// statistics are those of `kernelName`, or the largest over all kernels of
/// the PTX when it is empty. Fails with nvJitLink's error log.
llvm::Expected<CubinResult> compilePTXToCubin(llvm::StringRef ptx,
                                              llvm::StringRef arch,
                                              llvm::StringRef kernelName = "");

/// Whether libnvJitLink could be loaded (it is looked for once; this waits
/// for a load that preloadNvJitLink started).
bool nvJitLinkAvailable();

/// Starts looking for and loading libnvJitLink on another thread, once per
/// process, so that the first compilation does not wait for it: the library
/// is about 100 MB, read from disk on a fresh machine while the frontend and
/// LLVM work.
void preloadNvJitLink();

} // namespace terrazzo::target

#endif // TERRAZZO_TARGET_PTXBACKEND_H
