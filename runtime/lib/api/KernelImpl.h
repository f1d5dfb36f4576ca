// Kernel::Impl and what hangs off it: the specializations of a kernel and,
// per specialization, the GPU kernels loaded for it. Private to runtime/lib/api.
#pragma once

#include "ParamKind.h"

#include "terrazzo/Terrazzo.h"
#include "terrazzo/gpu/CudaDriver.h"

#include "terrazzo/dsl/CodeGen.h"
#include "terrazzo/dsl/JitFunction.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace terrazzo {

namespace pipeline {
struct GpuBinary;
}

// A hash of the compiler's sources (CompilerIdentity.cpp, generated at
// build time): part of every on-disk cache key, so that a rebuilt compiler
// never reuses what an older one cached.
const char *compilerIdentity();

// TZ_DUMP=ir,tzgpu,llvm-mlir,llvm,ptx (or all) asks for the IR of each
// compiled stage on stderr.
bool dumpRequested(const std::string &stage);

// A DslError at `loc` (the kernel line it points at, quoted from the
// specialization's sources).
[[noreturn]] void throwAtSource(mlir::Location loc, const std::string &message, const dsl::SpecializedKernel &k);


class TensorMapEncoder;

// A specialization compiled and loaded for one device and set of options.
struct LoadedGpuKernel {
  std::shared_ptr<gpu::GpuModule> module;
  CUfunction function = nullptr;
  unsigned blockThreads = 128;
  unsigned sharedBytes = 0;
  std::vector<ParamKind> params; // one per run-time argument, in order
  // Persistent (GpuOptions::persistent): it takes the launch grid after
  // those, and the device runs this many of its programs at once
  // (multiprocessors x blocks per multiprocessor).
  bool persistent = false;
  unsigned residentPrograms = 0;
  // The TMA tensor maps it takes after those (null: none).
  std::shared_ptr<TensorMapEncoder> tensorMaps;
};

// One compiled specialization owns its MLIR context.
struct Specialization {
  std::string key;
  std::unique_ptr<mlir::MLIRContext> context;
  dsl::SpecializedKernel kernel;
  double frontendSeconds = 0; // source to tz IR (generateKernel)
  // The kernel after tz-make-persistent, once an interpreter run or
  // Kernel::ir asked for it (persistentModule in Persistent.h).
  mlir::OwningOpRef<mlir::ModuleOp> persistent;
  // GPU kernels by device ordinal and options (see gpuKey in GpuLaunch.cpp).
  std::map<std::string, std::shared_ptr<LoadedGpuKernel>> gpu;
  // Binaries compiled by Kernel::prepareLaunch and not loaded yet, by their
  // on-disk cache key: the launch that follows loads one instead of
  // compiling it again (even when the disk cache is off).
  std::map<std::string, std::shared_ptr<const pipeline::GpuBinary>> prepared;
};

struct Kernel::Impl {
  std::shared_ptr<dsl::JitFunction> fn;
  std::mutex mutex;
  // Shared, so a caller keeps its specialization alive while another thread
  // replaces the cache entry (a re-specialization after a global changed).
  std::map<std::string, std::shared_ptr<Specialization>> cache;
  std::atomic<size_t> compilations{0}; // read without the mutex (compileForGpu)

  std::shared_ptr<Specialization> specialize(const std::vector<HostValue> &bound);
};

} // namespace terrazzo
