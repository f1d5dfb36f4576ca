// The public C++ API of libterrazzo: load a kernel from source, look at its
// IR for given arguments, and run it on the CPU interpreter.
//
//   auto kernel = terrazzo::Kernel::fromFile("add.py", "add");
//   kernel->interpret({n / 256}, {x, y, out, n}, {{"BLOCK", 256}});
//
// Errors in the kernel source throw terrazzo::dsl::DslError, whose what()
// shows file:line:col, the source line and a caret.
#pragma once

#include "terrazzo/dsl/HostValue.h"
#include "terrazzo/dsl/Source.h"

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#define TERRAZZO_API __attribute__((visibility("default")))

namespace terrazzo {

using dsl::DslError;
using dsl::HostValue;
using dsl::Resolver;
using Keywords = std::vector<std::pair<std::string, HostValue>>;

// Version of the compiler; part of every cache key.
TERRAZZO_API const char *version();

// True when a CUDA driver and at least one GPU are present.
TERRAZZO_API bool gpuAvailable();
// Why gpuAvailable() is false ("" when it is true).
TERRAZZO_API std::string gpuUnavailableReason();

// How a kernel is compiled for and launched on the GPU.
struct GpuOptions {
  int numWarps = 4;
  int numStages = 2;
  // Blocks that must fit on one multiprocessor together (caps registers
  // per thread at 64K / (threads per block * this)); 0: no bound.
  int minBlocksPerSM = 0;
  // sm_90a: copy each pipelined tile that can be a TMA copy with TMA (1),
  // or none (0); -1: as the TZ_TMA environment
  // variable says ("1": on), off by default until its speed is measured.
  // A launch whose tensors a TMA tensor map cannot describe exactly runs
  // the kernel compiled without TMA instead.
  int tma = -1;
  // sm_90a: give a loop whose pipelined tiles are all TMA copies a producer
  // warpgroup that issues them while num_warps consumer warps compute
  // (1), or not (0); -1: as TZ_WARP_SPECIALIZE says ("1": on), off by
  // default until measured. Needs TMA: on unless `tma` is 0. The block
  // then has num_warps + 4 warps.
  int warpSpecialize = -1;
  // Persistent (1): the kernel is compiled to loop over the tiles of the
  // grid (tz-make-persistent) and launched with as many programs as the
  // device runs at once (multiprocessors x resident blocks of this kernel),
  // or fewer when there are fewer tiles; program_id / num_programs still say
  // the tile of the launch grid. 0: one program per tile. -1: as the
  // TZ_PERSISTENT environment variable says ("1": on), off by default.
  int persistent = -1;
  // Target architecture, e.g. "sm_90a"; empty: the current device's (sm_90
  // becomes sm_90a), or sm_90a when there is no GPU.
  std::string arch;
};

// Whether `options` ask for a persistent launch (GpuOptions::persistent,
// -1 resolved through TZ_PERSISTENT).
TERRAZZO_API bool wantsPersistent(const GpuOptions &options);

// What compiling one specialization for the GPU produced (tzc --emit, tests).
struct GpuCompilation {
  std::string kernelName, arch;
  std::string tzgpu, llvmDialect, llvmIR, ptx; // every stage, as text
  size_t cubinBytes = 0; // 0: nvJitLink not available, or a warp-specialised kernel (the driver assembles it)
  int launchWarps = 0;   // warps per block at launch: num_warps, plus 4 when warp-specialised
  int registers = -1, spillStoreBytes = 0, spillLoadBytes = 0;
  int64_t sharedBytes = 0; // dynamic shared memory per block
  std::string assemblerLog;
  // Seconds per compile stage: "frontend" (source to tz IR, when this call
  // made the specialization, else 0), then the GPU pipeline's stages.
  std::vector<std::pair<std::string, double>> stageSeconds;
  // The whole compilation's wall-clock seconds (binding the arguments to the
  // cubin), printing the stage texts included: the stages plus that printing
  // and small setup between them.
  double compileSeconds = 0;
};

// A GPU launch resolved once (specialization, device, options, loaded
// function) so that later launches with arguments of the same kinds only
// pack values and call the driver: the Python module's cached launch path
// (python/src/FastLaunch.cpp). Made by Kernel::planLaunch.
struct GpuLaunchPlan {
  // How each kernel parameter travels: folded into the code by
  // specialization (constexprs, ints equal to 1, None), or as a run-time
  // argument of this kind, in an 8-byte slot.
  enum class Slot : char { Folded, Pointer, I1, I32, I64, F32, F64 };
  std::vector<Slot> params; // one per kernel parameter, in declaration order
  size_t numArguments = 0;  // the params that are not Folded
  void *function = nullptr; // CUfunction
  void *context = nullptr;  // CUcontext the function was loaded into (launch only there)
  int device = 0;           // that context's device ordinal
  unsigned blockThreads = 0, sharedBytes = 0;
  // Module-level names the code depends on: the globals the kernel (and the
  // functions it inlined) read, and globals named as parameter defaults. A
  // plan may be reused only while each still has the value it had.
  std::vector<std::pair<std::shared_ptr<const Resolver>, std::string>> dependencies;
  std::shared_ptr<const void> owner; // keeps the specialization and its module loaded
  // The kernel's TMA tensor maps, encoded at each launch (null: it takes
  // none); private to the runtime.
  std::shared_ptr<void> tensorMaps;
  // A persistent kernel (GpuOptions::persistent) takes the launch grid as
  // three i32 arguments after the others and runs on at most
  // residentPrograms programs.
  bool persistent = false;
  unsigned residentPrograms = 0;
};

// Launches a planned kernel: `arguments` holds one pointer per run-time
// argument (numArguments), each to an 8-byte little-endian slot. The caller
// has checked that the calling thread's current context is plan.context and
// that the arguments are of the kinds the plan was made for.
// False (nothing launched) when the kernel's TMA tensor maps cannot
// describe these arguments: the caller then takes Kernel::launch, which
// runs the kernel compiled without TMA.
TERRAZZO_API bool launchPlanned(const GpuLaunchPlan &plan, std::array<unsigned, 3> grid, void **arguments,
                                void *stream);
// The calling thread's current CUDA context (null: none); the number of devices.
TERRAZZO_API void *currentGpuContext();
TERRAZZO_API int gpuDeviceCount();

// Counters of the GPU kernel caches of this process (for tests and tools).
struct GpuCacheStats {
  size_t compiled = 0;   // compiled from source in this process
  size_t diskHits = 0;   // loaded from the on-disk cache
  size_t memoryHits = 0; // launches served by an already loaded kernel
  size_t tmaLaunches = 0;  // launches that passed TMA tensor maps
  size_t tmaFallbacks = 0; // launches whose tensors no tensor map could describe (run without TMA)
};
TERRAZZO_API GpuCacheStats gpuCacheStats();

// Counters of persistent launches (GpuOptions::persistent) in this process,
// on the GPU and on the interpreter: the launches, the programs they ran
// and the tiles (programs of the launch grid) those programs walked.
struct PersistentLaunchStats {
  size_t gpuLaunches = 0, gpuPrograms = 0, gpuTiles = 0;
  size_t interpretedLaunches = 0, interpretedPrograms = 0, interpretedTiles = 0;
};
TERRAZZO_API PersistentLaunchStats persistentLaunchStats();

// The on-disk cache ($TZ_CACHE_DIR) for other small records, such as the
// autotuner's choices: a missing, truncated or corrupt entry reads as empty.
TERRAZZO_API bool diskCacheGet(const std::string &key, std::string &payload);
TERRAZZO_API void diskCachePut(const std::string &key, const std::string &payload);

// Called by the interpreter between programs and every few thousand loop
// iterations, so that a long or endless run can be stopped: the function
// may throw, and the exception leaves Kernel::interpret. (The Python module
// installs one that raises KeyboardInterrupt on Ctrl-C.) Null: none.
TERRAZZO_API void setInterruptCheck(void (*check)());

class TERRAZZO_API Kernel {
public:
  // `source` holds the function `name` (or a whole module containing it);
  // `lineOffset` is added to line numbers in diagnostics.
  static std::shared_ptr<Kernel> fromSource(const std::string &source, const std::string &filename,
                                            int lineOffset, const std::string &name,
                                            std::shared_ptr<const Resolver> resolver);
  // Loads `name` from a kernel source file; module-level functions, constants
  // and `import terrazzo as tz` in that file are visible to the kernel.
  static std::shared_ptr<Kernel> fromFile(const std::string &path, const std::string &name);
  // Loads `name` from a source of the kernel library (kernels/<file>, built
  // into libterrazzo.so), e.g. fromLibrary("flash_attention.py", "flash_attention_fwd").
  static std::shared_ptr<Kernel> fromLibrary(const std::string &file, const std::string &name);
  // File names of the kernel library's sources.
  static std::vector<std::string> libraryFiles();

  ~Kernel();
  const std::string &name() const;
  std::vector<std::string> paramNames() const;
  // This kernel as a value another kernel can call or take as a constexpr.
  HostValue asValue() const;

  // The tz-dialect IR of the specialization for these arguments; with
  // `persistent`, after tz-make-persistent (as a persistent launch runs it).
  std::string ir(const std::vector<HostValue> &args, const Keywords &keywords = {}, bool persistent = false);

  // Runs every program of `grid` on the CPU interpreter. Pointer arguments
  // must describe host memory. device_print output goes to `printOutput`
  // when given, else to stdout. `persistentPrograms` > 0 runs the kernel
  // made persistent (as GpuOptions::persistent) on that many programs, or
  // one per tile when the grid has fewer.
  void interpret(std::array<int64_t, 3> grid, const std::vector<HostValue> &args,
                 const Keywords &keywords = {}, std::string *printOutput = nullptr, int persistentPrograms = 0);

  // Compiles the specialization for these arguments to PTX and (when
  // nvJitLink is available) a cubin, without a GPU and without the caches.
  GpuCompilation compileForGpu(const std::vector<HostValue> &args, const Keywords &keywords = {},
                               const GpuOptions &options = {});

  // Compiles (or reads from the on-disk cache) the code launch() would run
  // for these arguments and options, without a GPU and without launching,
  // and keeps it so that the next launch() or planLaunch() with the same
  // options loads it instead of compiling again. The autotuners call it to
  // read each candidate's registers, spills and shared memory before timing
  // any. An empty options.arch means the current device's (sm_90a without
  // one). The stage texts of the result are empty except `ptx`. Throws what
  // launch() would (a kernel that does not fit names the bytes).
  GpuCompilation prepareLaunch(const std::vector<HostValue> &args, const Keywords &keywords = {},
                               const GpuOptions &options = {});

  // Launches every program of `grid` on the GPU, on `stream` (a CUstream;
  // null: the default stream). Pointer arguments must be device memory of
  // the current CUDA context. The first launch of a specialization compiles
  // it, or loads it from the on-disk cache ($TZ_CACHE_DIR).
  void launch(std::array<int64_t, 3> grid, const std::vector<HostValue> &args, const Keywords &keywords = {},
              const GpuOptions &options = {}, void *stream = nullptr);

  // Resolves what launch() resolves before it packs arguments (binding,
  // specialization, the function loaded for the current device and these
  // options, compiling it if needed) and returns it for repeated launches.
  // Checks the options as launch() does; argument values are not checked.
  std::shared_ptr<const GpuLaunchPlan> planLaunch(const std::vector<HostValue> &args, const Keywords &keywords = {},
                                                  const GpuOptions &options = {});
  // The plan's `dependencies` for these arguments, without a GPU (tests).
  std::vector<std::pair<std::shared_ptr<const Resolver>, std::string>>
  dependencies(const std::vector<HostValue> &args, const Keywords &keywords = {});
  // For each parameter, whether it is annotated tz.constexpr.
  std::vector<bool> constexprParams() const;

  // Number of compilations so far (for tests of the cache): a new
  // specialization, or one recompiled because a global it read changed.
  size_t numSpecializations() const;

private:
  struct Impl;
  explicit Kernel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace terrazzo
