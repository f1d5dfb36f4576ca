//===- GpuPipeline.h - tz kernel to PTX and cubin ---------------*- C++ -*-===//
//
// The whole GPU compilation of one specialized kernel, as the runtime and
// tzc run it: tz -> tzgpu (layouts) -> LLVM + NVVM dialects -> PTX -> cubin.
#pragma once

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <functional>
#include <utility>
#include <string>
#include <vector>

namespace terrazzo::pipeline {

struct GpuCompileOptions {
  std::string arch = "sm_90a";
  int numWarps = 4;
  int numStages = 2; // slots per tzgpu-pipeline buffer; below 2: no pipelining
  // Blocks that must fit on one multiprocessor together (PTX .minnctapersm):
  // ptxas then keeps registers within 64K / (32 * numWarps * this). 0: no
  // such bound.
  int minBlocksPerSM = 0;
  bool fastMath = false;
  // sm_90a: pipelined tiles that can be TMA copies are (tzgpu-pipeline's
  // `tma`); the kernel then takes GpuBinary::tensorMaps.
  bool tma = false;
  // With `tma`: a loop whose pipelined tiles are all TMA copies gets a
  // producer warpgroup of its own that issues them (tzgpu-warp-specialize);
  // GpuBinary::numWarps then counts its warps too.
  bool warpSpecialize = false;
  // Loops annotated `tz.range(..., warp_specialize=...)` decide for
  // themselves (TMA included); off when the launch forbids TMA (tma=False,
  // and the compile a TMA launch falls back to).
  bool loopHints = true;
  // tz-make-persistent first: the kernel walks tiles of the grid passed as
  // three i32 arguments after its own (see the pass).
  bool persistent = false;
  // Stop after PTX (no nvJitLink): the driver JIT-compiles it at load.
  bool skipCubin = false;
  // Called with (stage, text) for "tzgpu", "llvm-mlir", "llvm", "ptx" when set
  // (TZ_DUMP, tzc --emit).
  std::function<void(const std::string &, const std::string &)> dump;
};

// How the host encodes one TMA tensor map (cuTensorMapEncodeTiled) from the
// kernel's arguments (#tzgpu.tensormap; dimension 0 first). The kernel takes
// its tensor maps after its own arguments, in the order of
// GpuBinary::tensorMaps, each as 128 bytes by value.
struct TensorMapSpec {
  int baseArg = 0;            // the argument holding the tensor's address
  std::string elementType;    // "f16" or "bf16"
  int elementBytes = 2;
  int swizzleBytes = 128;
  std::vector<int64_t> box;   // elements per dimension of one copy
  // Extent of dimension i: argument extentArgs[i] if not -1, else
  // extents[i] (-1: unbounded). Stride in elements of dimension i >= 1:
  // argument strideArgs[i - 1] if not -1, else strides[i - 1].
  std::vector<int64_t> extentArgs, extents, strideArgs, strides;
};

struct GpuBinary {
  std::string kernelName;
  std::string ptx;
  std::vector<char> cubin; // empty when skipCubin or nvJitLink is missing
  int numWarps = 4;
  int64_t sharedBytes = 0; // dynamic shared memory to request at launch
  int registers = -1, spillStoreBytes = 0, spillLoadBytes = 0;
  std::string assemblerLog;
  std::vector<TensorMapSpec> tensorMaps; // parameters after the kernel's own
  // Wall-clock seconds of each stage, in order: "tzgpu passes", "lowering to
  // LLVM", then translateToPTX's steps ("to LLVM IR", "libdevice", "LLVM
  // optimisation", "NVPTX codegen"), then unless skipCubin "load nvJitLink"
  // (waiting for the load started at the beginning: only a process's first
  // compilations wait) and, where nvJitLink is found, "PTX to cubin" (ptxas
  // through nvJitLink). Dumps (GpuCompileOptions::dump) are not counted.
  std::vector<std::pair<std::string, double>> stageSeconds;
};

// A failure the kernel's author can act on (it does not fit in shared
// memory, say), at the kernel source line it points at: the runtime renders
// it with that line, like a frontend diagnostic.
class KernelSourceError : public llvm::ErrorInfo<KernelSourceError> {
public:
  static char ID;
  KernelSourceError(std::string file, int line, int col, std::string message)
      : file(std::move(file)), line(line), col(col), message(std::move(message)) {}
  void log(llvm::raw_ostream &os) const override;
  std::error_code convertToErrorCode() const override { return llvm::inconvertibleErrorCode(); }
  std::string file;
  int line, col;
  std::string message;
};

// Compiles `tzModule` (left untouched: a clone is lowered). Errors carry the
// MLIR diagnostics; one raised at a kernel source location by the passes
// before the lowering (an error the author caused, not a compiler bug) is a
// KernelSourceError.
llvm::Expected<GpuBinary> compileForGpu(mlir::ModuleOp tzModule, const GpuCompileOptions &options);

} // namespace terrazzo::pipeline
