// Kernel::compileForGpu, prepareLaunch and launch: the GPU side of the
// public API. A launch finds its specialization (as the interpreter does),
// then the kernel loaded for the current device and options: from memory,
// else from a binary prepareLaunch compiled, else from the on-disk cache,
// else compiled now and published there.
#include "GpuBinaryFormat.h"
#include "KernelImpl.h"
#include "Persistent.h"
#include "TensorMaps.h"

#include "terrazzo/Pipeline/GpuPipeline.h"
#include "terrazzo/Target/PTXBackend.h"
#include "terrazzo/gpu/DiskCache.h"

#include "terrazzo/Dialect/Tz/IR/TzDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/raw_ostream.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <climits>
#include <optional>
#include <cstdlib>
#include <cstring>

namespace terrazzo {

namespace {
std::atomic<size_t> compiledCount{0}, diskHitCount{0}, memoryHitCount{0}, tmaLaunchCount{0}, tmaFallbackCount{0};

std::string defaultArch() {
  if (!gpu::driverAvailable())
    return "sm_90a";
  const gpu::DeviceInfo &d = gpu::currentDevice();
  std::string arch = "sm_" + std::to_string(d.ccMajor * 10 + d.ccMinor);
  // Hopper's wgmma and TMA need the architecture-specific target.
  return arch == "sm_90" ? "sm_90a" : arch;
}

// Launch options checked before anything is compiled, so a bad one is a
// clear error naming the option instead of a failure deep in the compiler
// (a layout that cannot split over 3 warps) or a binary the hardware refuses
// (num_warps 64 is 2048 threads; a block holds at most 1024).
void validateGpuOptions(const GpuOptions &options) {
  if (options.numWarps < 1 || options.numWarps > 32 || (options.numWarps & (options.numWarps - 1)))
    throw std::invalid_argument("num_warps must be a power of two from 1 to 32, got " +
                                std::to_string(options.numWarps));
  if (options.numStages < 1 || options.numStages > 8)
    throw std::invalid_argument("num_stages must be from 1 to 8, got " + std::to_string(options.numStages));
  if (options.minBlocksPerSM < 0 || options.minBlocksPerSM > 32)
    throw std::invalid_argument("min_blocks_per_sm must be from 0 to 32, got " +
                                std::to_string(options.minBlocksPerSM));
  if (!options.arch.empty() && !llvm::is_contained(target::supportedArchs(), llvm::StringRef(options.arch))) {
    std::string known;
    for (llvm::StringRef a : target::supportedArchs())
      known += (known.empty() ? "" : ", ") + a.str();
    throw std::invalid_argument("arch '" + options.arch + "' is not a GPU architecture terrazzo compiles for (" +
                                known + ")");
  }
}

std::string printed(mlir::Operation *op) {
  std::string text;
  llvm::raw_string_ostream os(text);
  op->print(os);
  return text;
}

mlir::func::FuncOp kernelFunc(const Specialization &spec) {
  mlir::ModuleOp module = spec.kernel.module.get();
  return *module.getOps<mlir::func::FuncOp>().begin();
}

std::vector<ParamKind> paramKinds(mlir::func::FuncOp f) {
  std::vector<ParamKind> kinds;
  for (mlir::Type t : f.getArgumentTypes()) {
    if (mlir::isa<tz::PointerType>(t))
      kinds.push_back(ParamKind::Pointer);
    else if (t.isInteger(1))
      kinds.push_back(ParamKind::I1);
    else if (t.isInteger(64))
      kinds.push_back(ParamKind::I64);
    else if (t.isF32())
      kinds.push_back(ParamKind::F32);
    else if (t.isF64())
      kinds.push_back(ParamKind::F64);
    else
      kinds.push_back(ParamKind::I32);
  }
  return kinds;
}

// Tiles are spread over the threads of a block, each holding its share in
// registers. Past this many elements per thread the code is one long unrolled
// spill (a 2**16-element tile on 4 warps took 36 s to compile, 2**20 ran out
// of memory), so it is refused up front at the line that makes the tile.
constexpr int64_t kMaxTileElementsPerThread = 256;

// The source line and column an op came from ({INT_MAX, INT_MAX} if none),
// to report the first offending line of the kernel.
std::pair<unsigned, unsigned> sourcePosition(mlir::Location loc) {
  if (auto fused = mlir::dyn_cast<mlir::FusedLoc>(loc))
    if (!fused.getLocations().empty())
      loc = fused.getLocations().front();
  if (auto fl = mlir::dyn_cast<mlir::FileLineColLoc>(loc))
    return {fl.getLine(), fl.getColumn()};
  return {UINT_MAX, UINT_MAX};
}

void checkTileSizes(const Specialization &spec, int numWarps) {
  int64_t limit = kMaxTileElementsPerThread * 32 * numWarps;
  mlir::Operation *first = nullptr;
  int64_t elements = 0;
  spec.kernel.module.get()->walk([&](mlir::Operation *op) {
    for (mlir::Type type : op->getResultTypes()) {
      auto tile = mlir::dyn_cast<mlir::RankedTensorType>(type);
      if (!tile || !tile.hasStaticShape() || tile.getNumElements() <= limit)
        continue;
      if (!first || sourcePosition(op->getLoc()) < sourcePosition(first->getLoc())) {
        first = op;
        elements = tile.getNumElements();
      }
    }
  });
  if (!first)
    return;
  throwAtSource(first->getLoc(),
                "this tile has " + std::to_string(elements) + " elements, " +
                    std::to_string(elements / (32 * numWarps)) + " per thread with num_warps=" +
                    std::to_string(numWarps) + "; the GPU compiler takes at most " +
                    std::to_string(kMaxTileElementsPerThread) + " per thread (" + std::to_string(limit) +
                    " elements): use smaller blocks or more warps",
                spec.kernel);
}

pipeline::GpuBinary compileOrThrow(const Specialization &spec, const pipeline::GpuCompileOptions &options) {
  checkTileSizes(spec, options.numWarps);
  auto bin = pipeline::compileForGpu(spec.kernel.module.get(), options);
  if (bin)
    return std::move(*bin);
  std::optional<pipeline::KernelSourceError> atSource;
  llvm::Error rest = llvm::handleErrors(bin.takeError(), [&](const pipeline::KernelSourceError &e) {
    atSource.emplace(e);
  });
  if (atSource) {
    // Shown at the kernel line, with the source, like a frontend error.
    dsl::SourceLoc at{atSource->line, atSource->col};
    for (const dsl::SourceFilePtr &src : spec.kernel.sources)
      if (src->filename() == atSource->file && !src->lineText(at.line).empty())
        throw dsl::DslError(src.get(), at, atSource->message);
    dsl::SourceFile bare(atSource->file, "");
    throw dsl::DslError(&bare, at, atSource->message);
  }
  throw std::runtime_error(llvm::toString(std::move(rest)));
}

bool environmentSaysOn(const char *name) {
  const char *v = std::getenv(name);
  return v && std::string(v) == "1";
}

// Whether `options` ask for warp specialisation (GpuOptions::warpSpecialize;
// -1: TZ_WARP_SPECIALIZE), which needs TMA copies (not `tma` 0).
bool wantsWarpSpecialize(const GpuOptions &options) {
  static const bool fromEnvironment = environmentSaysOn("TZ_WARP_SPECIALIZE");
  bool asked = options.warpSpecialize >= 0 ? options.warpSpecialize == 1 : fromEnvironment;
  return asked && options.tma != 0;
}

// Whether `options` ask for TMA copies (GpuOptions::tma; -1: TZ_TMA, or
// warp specialisation asked for).
bool wantsTma(const GpuOptions &options) {
  if (options.tma >= 0)
    return options.tma == 1;
  static const bool fromEnvironment = environmentSaysOn("TZ_TMA");
  return fromEnvironment || wantsWarpSpecialize(options);
}

// The on-disk cache key of `spec` compiled for `arch` and `options`: the
// tz IR says everything the code depends on (the source closure and every
// specialized value); version, the compiler's identity, target and options complete it.
std::string binaryKey(const Specialization &spec, const GpuOptions &options, const std::string &arch) {
  std::string key = std::string("terrazzo ") + version() + " " + compilerIdentity() + "\narch " + arch + "\nwarps " +
                    std::to_string(options.numWarps) + "\nstages " + std::to_string(options.numStages) +
                    "\nmin blocks per SM " + std::to_string(options.minBlocksPerSM) + "\ntma " +
                    (wantsTma(options) ? "1" : "0") + "\nwarp specialize " +
                    (wantsWarpSpecialize(options) ? "1" : "0") + "\nloop hints " + (options.tma != 0 ? "1" : "0") + "\npersistent " + (wantsPersistent(options) ? "1" : "0") +
                    "\n";
  // The LLVM middle end when the environment overrides it: comparing
  // pipelines must not reuse each other's binaries.
  auto env = [](const char *name) {
    const char *value = std::getenv(name);
    return std::string(value ? value : "");
  };
  if (!env("TZ_LLVM_OPT_LEVEL").empty() || !env("TZ_LLVM_PASSES").empty())
    key += "llvm middle end " + env("TZ_LLVM_OPT_LEVEL") + " " + env("TZ_LLVM_PASSES") + "\n";
  return key + printed(spec.kernel.module.get());
}

// The binary for `key`: from the on-disk cache, else compiled now and
// published there.
std::shared_ptr<const pipeline::GpuBinary> cachedOrCompiled(const Specialization &spec, const GpuOptions &options,
                                                            const std::string &arch, const std::string &key) {
  gpu::DiskCache &disk = gpu::DiskCache::global();
  if (auto blob = disk.get(key)) {
    if (std::optional<pipeline::GpuBinary> bin = decodeGpuBinary(*blob)) {
      ++diskHitCount;
      return std::make_shared<const pipeline::GpuBinary>(std::move(*bin));
    }
  }
  pipeline::GpuCompileOptions copts;
  copts.arch = arch;
  copts.numWarps = options.numWarps;
  copts.numStages = options.numStages;
  copts.minBlocksPerSM = options.minBlocksPerSM;
  copts.tma = wantsTma(options);
  copts.warpSpecialize = wantsWarpSpecialize(options);
  copts.loopHints = options.tma != 0;
  copts.persistent = wantsPersistent(options);
  bool wantDump =
      dumpRequested("tzgpu") || dumpRequested("llvm-mlir") || dumpRequested("llvm") || dumpRequested("ptx");
  if (wantDump)
    copts.dump = [](const std::string &stage, const std::string &text) {
      if (dumpRequested(stage))
        llvm::errs() << "// -----// " << stage << " //----- //\n" << text << "\n";
    };
  pipeline::GpuBinary bin = compileOrThrow(spec, copts);
  if (dumpRequested("times")) {
    llvm::errs() << "// terrazzo compile of " << bin.kernelName << ": frontend " << spec.frontendSeconds << " s";
    for (const auto &[stage, seconds] : bin.stageSeconds)
      llvm::errs() << ", " << stage << " " << seconds << " s";
    llvm::errs() << "\n";
  }
  ++compiledCount;
  disk.put(key, encodeGpuBinary(bin));
  return std::make_shared<const pipeline::GpuBinary>(std::move(bin));
}

std::shared_ptr<LoadedGpuKernel> loadBinary(const Specialization &spec, const pipeline::GpuBinary &bin) {
  auto loaded = std::make_shared<LoadedGpuKernel>();
  bool usePTX = bin.cubin.empty();
  loaded->module = usePTX ? gpu::GpuModule::load(bin.ptx.data(), bin.ptx.size() + 1, true)
                          : gpu::GpuModule::load(bin.cubin.data(), bin.cubin.size(), false);
  loaded->function = loaded->module->function(bin.kernelName);
  loaded->blockThreads = 32 * bin.numWarps;
  loaded->sharedBytes = static_cast<unsigned>(bin.sharedBytes);
  if (loaded->sharedBytes > 0)
    loaded->module->setDynamicSharedMemory(loaded->function, static_cast<int>(loaded->sharedBytes));
  loaded->params = paramKinds(kernelFunc(spec));
  if (!bin.tensorMaps.empty())
    loaded->tensorMaps = std::make_shared<TensorMapEncoder>(bin.tensorMaps);
  return loaded;
}

// Marks `kernel` persistent with the programs its device runs at once: as
// many blocks per multiprocessor as its registers and shared memory allow.
void setResidentPrograms(LoadedGpuKernel &kernel, const gpu::DeviceInfo &device) {
  kernel.persistent = true;
  int perSM = gpu::maxActiveBlocksPerSM(kernel.function, kernel.blockThreads, kernel.sharedBytes);
  // 0: the block does not fit at all; one program lets the launch say why.
  kernel.residentPrograms = unsigned(std::max(1, perSM * device.smCount));
}

// The kernel of `spec` loaded for `device` and `options`: from the
// specialization's table, else loaded now (from a binary prepareLaunch
// made, the disk cache, or a compile) and recorded there.
std::shared_ptr<LoadedGpuKernel> loadedKernel(Specialization &spec, const GpuOptions &options,
                                              const gpu::DeviceInfo &device, std::mutex &mutex, bool countHit) {
  std::string arch = options.arch.empty() ? defaultArch() : options.arch;
  std::string gpuKey = std::to_string(device.ordinal) + "/" + arch + "/" + std::to_string(options.numWarps) + "/" +
                       std::to_string(options.numStages) + "/" + std::to_string(options.minBlocksPerSM) + (wantsTma(options) ? "/tma" : "") +
                       (wantsWarpSpecialize(options) ? "/ws" : "") + (wantsPersistent(options) ? "/persistent" : "") +
                       (options.tma == 0 ? "/no-tma" : "");
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = spec.gpu.find(gpuKey);
    if (it != spec.gpu.end()) {
      if (countHit)
        ++memoryHitCount;
      return it->second;
    }
  }
  std::string key = binaryKey(spec, options, arch);
  std::shared_ptr<const pipeline::GpuBinary> bin;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = spec.prepared.find(key); it != spec.prepared.end()) {
      bin = std::move(it->second);
      spec.prepared.erase(it); // loaded from now on: the table below keeps it
    }
  }
  if (!bin)
    bin = cachedOrCompiled(spec, options, arch, key);
  std::shared_ptr<LoadedGpuKernel> kernel = loadBinary(spec, *bin);
  if (wantsPersistent(options))
    setResidentPrograms(*kernel, device);
  std::lock_guard<std::mutex> lock(mutex);
  spec.gpu[gpuKey] = kernel;
  return kernel;
}

// What a plan's code depends on besides its arguments (see GpuLaunchPlan).
std::vector<std::pair<std::shared_ptr<const Resolver>, std::string>>
planDependencies(const dsl::JitFunction &fn, const Specialization &spec) {
  std::vector<std::pair<std::shared_ptr<const Resolver>, std::string>> deps;
  for (const auto &g : spec.kernel.globals)
    deps.emplace_back(g.resolver, g.name);
  for (size_t i = 0; i < fn.numParams(); ++i) {
    const dsl::Param &p = fn.param(i);
    if (p.defaultValue && p.defaultValue->kind == dsl::ExprKind::Name)
      deps.emplace_back(fn.resolverPtr(), p.defaultValue->name);
  }
  return deps;
}
} // namespace

bool wantsPersistent(const GpuOptions &options) {
  if (options.persistent >= 0)
    return options.persistent == 1;
  static const bool fromEnvironment = [] {
    const char *v = std::getenv("TZ_PERSISTENT");
    return v && std::string(v) == "1";
  }();
  return fromEnvironment;
}

bool gpuAvailable() { return gpu::driverAvailable(); }

std::string gpuUnavailableReason() { return gpu::driverUnavailableReason(); }

bool diskCacheGet(const std::string &key, std::string &payload) {
  auto found = gpu::DiskCache::global().get(key);
  if (!found)
    return false;
  payload = std::move(*found);
  return true;
}

void diskCachePut(const std::string &key, const std::string &payload) { gpu::DiskCache::global().put(key, payload); }

void *currentGpuContext() { return gpu::currentContextOrNull(); }

int gpuDeviceCount() { return gpu::deviceCount(); }

namespace {
// What a plan needs to encode its kernel's tensor maps.
struct PlannedTensorMaps {
  std::shared_ptr<TensorMapEncoder> encoder;
  std::vector<ParamKind> kinds;
};

// The parameter pointers of a launch: `arguments`, then each tensor map.
// False when the maps cannot describe these arguments.
bool withTensorMaps(TensorMapEncoder &encoder, const std::vector<ParamKind> &kinds, void *const *arguments,
                    size_t numArguments, std::vector<TensorMapBytes> &maps, std::vector<void *> &params) {
  if (!encoder.encode(kinds, arguments, maps))
    return false;
  params.assign(arguments, arguments + numArguments);
  for (TensorMapBytes &m : maps)
    params.push_back(&m);
  return true;
}
} // namespace

namespace {
// A persistent kernel's launch: `params` (its arguments) gets the launch
// grid appended, as the three i32 arguments tz-make-persistent added, and
// the grid it really runs is min(tiles, residentPrograms) programs.
struct PersistentLaunch {
  std::array<uint64_t, 3> gridSlots{};
  std::array<unsigned, 3> programs{0, 1, 1};
  int64_t tiles = 0;
  PersistentLaunch(std::array<int64_t, 3> grid, unsigned residentPrograms, std::vector<void *> &params) {
    tiles = persistentTileCount(grid, residentPrograms);
    programs[0] = unsigned(std::min<int64_t>(tiles, residentPrograms));
    for (int i = 0; i < 3; ++i) {
      gridSlots[i] = uint64_t(grid[i]);
      params.push_back(&gridSlots[i]);
    }
  }
};
} // namespace

bool launchPlanned(const GpuLaunchPlan &plan, std::array<unsigned, 3> grid, void **arguments, void *stream) {
  // The common launch passes the caller's arguments as they are: no copy
  // on the cached path's hot path.
  if (!plan.persistent && !plan.tensorMaps) {
    ++memoryHitCount;
    gpu::launch(static_cast<CUfunction>(plan.function), grid, {plan.blockThreads, 1, 1}, plan.sharedBytes,
                static_cast<CUstream>(stream), arguments);
    return true;
  }
  std::vector<void *> params(arguments, arguments + plan.numArguments);
  std::optional<PersistentLaunch> persistent;
  if (plan.persistent) {
    persistent.emplace(std::array<int64_t, 3>{grid[0], grid[1], grid[2]}, plan.residentPrograms, params);
    grid = persistent->programs;
  }
  std::vector<TensorMapBytes> maps;
  if (plan.tensorMaps) {
    auto &tma = *static_cast<PlannedTensorMaps *>(plan.tensorMaps.get());
    std::vector<void *> withMaps;
    if (!withTensorMaps(*tma.encoder, tma.kinds, params.data(), params.size(), maps, withMaps))
      return false;
    params = std::move(withMaps);
    ++tmaLaunchCount;
  }
  ++memoryHitCount;
  if (persistent)
    countPersistentLaunch(true, grid[0], persistent->tiles);
  gpu::launch(static_cast<CUfunction>(plan.function), grid, {plan.blockThreads, 1, 1}, plan.sharedBytes,
              static_cast<CUstream>(stream), params.data());
  return true;
}

std::shared_ptr<const GpuLaunchPlan> Kernel::planLaunch(const std::vector<HostValue> &args, const Keywords &keywords,
                                                        const GpuOptions &options) {
  if (!gpu::driverAvailable())
    throw std::runtime_error(std::string("no GPU to launch on: ") + gpu::driverUnavailableReason());
  validateGpuOptions(options);
  auto bound = dsl::bindArguments(*impl_->fn, args, keywords);
  std::shared_ptr<Specialization> held = impl_->specialize(bound);
  const gpu::DeviceInfo &device = gpu::currentDevice();
  std::shared_ptr<LoadedGpuKernel> kernel = loadedKernel(*held, options, device, impl_->mutex, false);
  auto plan = std::make_shared<GpuLaunchPlan>();
  for (size_t i = 0; i < bound.size(); ++i) {
    int argIndex = held->kernel.paramToArgument[i];
    GpuLaunchPlan::Slot slot = GpuLaunchPlan::Slot::Folded;
    if (argIndex >= 0) {
      switch (kernel->params.at(argIndex)) {
      case ParamKind::Pointer: slot = GpuLaunchPlan::Slot::Pointer; break;
      case ParamKind::I1: slot = GpuLaunchPlan::Slot::I1; break;
      case ParamKind::I32: slot = GpuLaunchPlan::Slot::I32; break;
      case ParamKind::I64: slot = GpuLaunchPlan::Slot::I64; break;
      case ParamKind::F32: slot = GpuLaunchPlan::Slot::F32; break;
      case ParamKind::F64: slot = GpuLaunchPlan::Slot::F64; break;
      }
      ++plan->numArguments;
    }
    plan->params.push_back(slot);
  }
  plan->function = kernel->function;
  plan->context = gpu::currentContext();
  plan->device = device.ordinal;
  plan->blockThreads = kernel->blockThreads;
  plan->sharedBytes = kernel->sharedBytes;
  plan->persistent = kernel->persistent;
  plan->residentPrograms = kernel->residentPrograms;
  plan->dependencies = planDependencies(*impl_->fn, *held);
  // The specialization owns the loaded kernel's table entry; hold both.
  plan->owner = std::make_shared<std::pair<std::shared_ptr<Specialization>, std::shared_ptr<LoadedGpuKernel>>>(
      held, kernel);
  if (kernel->tensorMaps)
    plan->tensorMaps = std::make_shared<PlannedTensorMaps>(PlannedTensorMaps{kernel->tensorMaps, kernel->params});
  return plan;
}

std::vector<std::pair<std::shared_ptr<const Resolver>, std::string>>
Kernel::dependencies(const std::vector<HostValue> &args, const Keywords &keywords) {
  auto bound = dsl::bindArguments(*impl_->fn, args, keywords);
  return planDependencies(*impl_->fn, *impl_->specialize(bound));
}

std::vector<bool> Kernel::constexprParams() const {
  std::vector<bool> flags;
  for (size_t i = 0; i < impl_->fn->numParams(); ++i)
    flags.push_back(impl_->fn->isConstexprParam(i));
  return flags;
}

GpuCacheStats gpuCacheStats() {
  GpuCacheStats stats;
  stats.compiled = compiledCount.load();
  stats.diskHits = diskHitCount.load();
  stats.memoryHits = memoryHitCount.load();
  stats.tmaLaunches = tmaLaunchCount.load();
  stats.tmaFallbacks = tmaFallbackCount.load();
  return stats;
}

GpuCompilation Kernel::compileForGpu(const std::vector<HostValue> &args, const Keywords &keywords,
                                     const GpuOptions &options) {
  validateGpuOptions(options);
  auto start = std::chrono::steady_clock::now();
  auto bound = dsl::bindArguments(*impl_->fn, args, keywords);
  size_t before = impl_->compilations;
  std::shared_ptr<Specialization> held = impl_->specialize(bound); // alive even if replaced meanwhile
  Specialization &spec = *held;
  double frontendSeconds = impl_->compilations != before ? spec.frontendSeconds : 0.0;
  GpuCompilation out;
  pipeline::GpuCompileOptions copts;
  copts.arch = options.arch.empty() ? "sm_90a" : options.arch;
  copts.numWarps = options.numWarps;
  copts.numStages = options.numStages;
  copts.minBlocksPerSM = options.minBlocksPerSM;
  copts.tma = wantsTma(options);
  copts.warpSpecialize = wantsWarpSpecialize(options);
  copts.loopHints = options.tma != 0;
  copts.persistent = wantsPersistent(options);
  copts.dump = [&](const std::string &stage, const std::string &text) {
    if (stage == "tzgpu")
      out.tzgpu = text;
    else if (stage == "llvm-mlir")
      out.llvmDialect = text;
    else if (stage == "llvm")
      out.llvmIR = text;
  };
  pipeline::GpuBinary bin = compileOrThrow(spec, copts);
  out.compileSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.kernelName = bin.kernelName;
  out.arch = copts.arch;
  out.ptx = bin.ptx;
  out.cubinBytes = bin.cubin.size();
  out.launchWarps = bin.numWarps;
  out.registers = bin.registers;
  out.spillStoreBytes = bin.spillStoreBytes;
  out.spillLoadBytes = bin.spillLoadBytes;
  out.sharedBytes = bin.sharedBytes;
  out.assemblerLog = bin.assemblerLog;
  out.stageSeconds.emplace_back("frontend", frontendSeconds);
  out.stageSeconds.insert(out.stageSeconds.end(), bin.stageSeconds.begin(), bin.stageSeconds.end());
  return out;
}

GpuCompilation Kernel::prepareLaunch(const std::vector<HostValue> &args, const Keywords &keywords,
                                     const GpuOptions &options) {
  validateGpuOptions(options);
  auto bound = dsl::bindArguments(*impl_->fn, args, keywords);
  std::shared_ptr<Specialization> held = impl_->specialize(bound); // alive even if replaced meanwhile
  Specialization &spec = *held;
  std::string arch = options.arch.empty() ? defaultArch() : options.arch;
  std::string key = binaryKey(spec, options, arch);
  std::shared_ptr<const pipeline::GpuBinary> bin;
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    if (auto it = spec.prepared.find(key); it != spec.prepared.end())
      bin = it->second;
  }
  if (!bin) {
    bin = cachedOrCompiled(spec, options, arch, key);
    std::lock_guard<std::mutex> lock(impl_->mutex);
    spec.prepared.emplace(key, bin);
  }
  GpuCompilation out;
  out.kernelName = bin->kernelName;
  out.arch = arch;
  out.ptx = bin->ptx;
  out.cubinBytes = bin->cubin.size();
  out.launchWarps = bin->numWarps;
  out.registers = bin->registers;
  out.spillStoreBytes = bin->spillStoreBytes;
  out.spillLoadBytes = bin->spillLoadBytes;
  out.sharedBytes = bin->sharedBytes;
  out.assemblerLog = bin->assemblerLog;
  return out;
}

void Kernel::launch(std::array<int64_t, 3> grid, const std::vector<HostValue> &args, const Keywords &keywords,
                    const GpuOptions &options, void *stream) {
  if (!gpu::driverAvailable())
    throw std::runtime_error(std::string("no GPU to launch on: ") + gpu::driverUnavailableReason());
  static const int64_t maxGrid[3] = {(1ll << 31) - 1, 65535, 65535};
  for (int i = 0; i < 3; ++i)
    if (grid[i] < 0 || grid[i] > maxGrid[i])
      throw std::invalid_argument("grid dimension " + std::to_string(i) + " is " + std::to_string(grid[i]) +
                                  "; the GPU allows 0 to " + std::to_string(maxGrid[i]));
  validateGpuOptions(options);
  auto bound = dsl::bindArguments(*impl_->fn, args, keywords);
  std::shared_ptr<Specialization> held = impl_->specialize(bound); // alive even if replaced meanwhile
  Specialization &spec = *held;

  const gpu::DeviceInfo &device = gpu::currentDevice();
  std::shared_ptr<LoadedGpuKernel> kernel = loadedKernel(spec, options, device, impl_->mutex, true);

  // Every scalar travels in an 8-byte slot (little-endian: the driver reads
  // the parameter's own size from its start).
  std::vector<uint64_t> slots;
  std::vector<void *> params;
  slots.reserve(kernel->params.size());
  params.reserve(kernel->params.size());
  for (size_t i = 0; i < bound.size(); ++i) {
    int argIndex = spec.kernel.paramToArgument[i];
    if (argIndex < 0)
      continue;
    const HostValue &h = bound[i];
    const std::string &name = impl_->fn->param(i).name;
    ParamKind kind = kernel->params.at(argIndex);
    uint64_t slot = 0;
    switch (h.kind) {
    case HostValue::Kind::Pointer:
      if (h.device == -1 && h.data)
        throw std::invalid_argument("argument '" + name + "' is in host memory; a GPU launch needs device memory");
      if (h.device >= 0 && h.device != device.ordinal)
        throw std::invalid_argument("argument '" + name + "' is on cuda:" + std::to_string(h.device) +
                                    " but the current device is cuda:" + std::to_string(device.ordinal));
      slot = reinterpret_cast<uint64_t>(h.data);
      break;
    case HostValue::Kind::Int:
    case HostValue::Kind::Bool: {
      int64_t v = h.kind == HostValue::Kind::Int ? h.intValue : h.boolValue;
      if (kind == ParamKind::F32 || kind == ParamKind::F64)
        throw std::invalid_argument("argument '" + name + "' is an integer where the kernel takes a float");
      std::memcpy(&slot, &v, 8);
      break;
    }
    case HostValue::Kind::Float:
      if (kind == ParamKind::F32) {
        float f = static_cast<float>(h.floatValue);
        std::memcpy(&slot, &f, 4);
      } else {
        std::memcpy(&slot, &h.floatValue, 8);
      }
      break;
    default:
      throw std::invalid_argument("argument '" + name + "' cannot be passed at run time");
    }
    slots.push_back(slot);
  }
  for (uint64_t &s : slots)
    params.push_back(&s);
  std::array<unsigned, 3> programs = {unsigned(grid[0]), unsigned(grid[1]), unsigned(grid[2])};
  std::optional<PersistentLaunch> persistent;
  if (kernel->persistent) {
    persistent.emplace(grid, kernel->residentPrograms, params);
    programs = persistent->programs;
  }
  // A kernel with TMA copies takes its tensor maps after its arguments;
  // where they cannot describe these tensors, the kernel compiled without
  // TMA runs instead.
  std::vector<TensorMapBytes> maps;
  if (kernel->tensorMaps) {
    std::vector<void *> withMaps;
    if (withTensorMaps(*kernel->tensorMaps, kernel->params, params.data(), params.size(), maps, withMaps)) {
      params = std::move(withMaps);
      ++tmaLaunchCount;
    } else {
      ++tmaFallbackCount;
      GpuOptions plain = options;
      plain.tma = 0; // and so no warp specialisation
      kernel = loadedKernel(spec, plain, device, impl_->mutex, false);
      // Its occupancy may differ; the tile loop is right for any count.
      if (persistent)
        programs[0] = unsigned(std::min<int64_t>(persistent->tiles, kernel->residentPrograms));
    }
  }
  if (persistent)
    countPersistentLaunch(true, programs[0], persistent->tiles);
  gpu::launch(kernel->function, programs, {kernel->blockThreads, 1, 1}, kernel->sharedBytes,
              static_cast<CUstream>(stream), params.data());
}

} // namespace terrazzo
