#include "TileTuning.h"

#include "terrazzo/gpu/CudaDriver.h"
#include "terrazzo/gpu/DiskCache.h"
#include "terrazzo/ops/Tuning.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

namespace terrazzo::ops {
namespace {

// Bumped when the candidates or the format change, so old choices are
// not reused.
constexpr const char *kFormat = "attention-tiles-v6";

struct Table {
  std::mutex mutex;
  std::map<std::string, AttentionTiles> choices;
  std::map<std::string, std::map<std::string, std::string>> pruned; // key -> tiles -> reason
  uint64_t timed = 0, loaded = 0;
};

Table &table() {
  static Table t;
  return t;
}

bool sameTiles(const AttentionTiles &a, const AttentionTiles &b) {
  return a.blockM == b.blockM && a.blockN == b.blockN && a.numWarps == b.numWarps && a.numStages == b.numStages &&
         a.minBlocksPerSM == b.minBlocksPerSM;
}

std::string describe(const AttentionTiles &t) {
  return std::to_string(t.blockM) + "x" + std::to_string(t.blockN) + ", " + std::to_string(t.numWarps) +
         " warps, " + std::to_string(t.numStages) + " stages" +
         (t.minBlocksPerSM ? ", " + std::to_string(t.minBlocksPerSM) + " blocks/SM" : std::string());
}

bool autotuneDisabled() {
  const char *env = std::getenv("TZ_LIBRARY_AUTOTUNE");
  return env && std::strcmp(env, "0") == 0;
}

// TZ_LIBRARY_TUNING_LOG=1 prints each candidate's time to stderr.
bool tuningLogRequested() {
  const char *env = std::getenv("TZ_LIBRARY_TUNING_LOG");
  return env && std::strcmp(env, "0") != 0;
}

// The key of `s` without the device.
std::string shapeKey(const TuningShape &s) {
  // Queries by power of two from 128 to 16384: the best tiles for 400
  // queries and for 16384 differ (how many blocks fill the machine).
  int64_t bucket = 128;
  while (bucket < s.queries && bucket < 16384)
    bucket *= 2;
  return std::string(kFormat) + "|" + s.kernel + "|d=" + std::to_string(s.headDim) + "|" + s.dtype +
         (s.causal ? "|causal" : "|full") + "|q<=" + std::to_string(bucket) + "|" + s.variant;
}

std::string cacheKey(const TuningShape &s) {
  const gpu::DeviceInfo &dev = gpu::currentDevice();
  return shapeKey(s) + "|" + dev.name + "|sm_" + std::to_string(dev.ccMajor) + std::to_string(dev.ccMinor);
}

std::string envOr(const char *name, const std::string &fallback) {
  const char *env = std::getenv(name);
  return env && *env ? std::string(env) : fallback;
}

// Drops the candidates that cannot run or clearly lose (see
// ResourcePruning.h), recording why under `key`; throws, naming the
// kernel and every reason, when none is left.
std::vector<AttentionTiles> prunedByResources(const TuningShape &shape, const std::string &key,
                                              const std::vector<AttentionTiles> &candidates,
                                              const std::function<void(const AttentionTiles &)> &launch,
                                              const std::string &arch, int64_t sharedLimit) {
  std::vector<std::string> reasons = tilePruneReasons(candidates, launch, arch, sharedLimit);
  std::vector<AttentionTiles> kept;
  std::map<std::string, std::string> pruned;
  std::string all;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (reasons[i].empty()) {
      kept.push_back(candidates[i]);
      continue;
    }
    pruned[describe(candidates[i])] = reasons[i];
    all += "\n  " + describe(candidates[i]) + ": " + reasons[i];
    if (tuningLogRequested())
      std::fprintf(stderr, "terrazzo tuning %s: %s: pruned: %s\n", key.c_str(), describe(candidates[i]).c_str(),
                   reasons[i].c_str());
  }
  {
    Table &t = table();
    std::lock_guard<std::mutex> lock(t.mutex);
    t.pruned[key] = pruned;
  }
  if (kept.empty())
    throw std::runtime_error("tile tuning of " + shape.kernel + ": every candidate was pruned before timing:" + all);
  return kept;
}

// A stored choice, if it parses and is still one of the candidates (a
// damaged or stale entry is dropped and tuned again).
std::optional<AttentionTiles> storedChoice(const std::string &key, const std::vector<AttentionTiles> &candidates) {
  auto &disk = gpu::DiskCache::global();
  std::optional<std::string> text = disk.get(key);
  if (!text)
    return std::nullopt;
  AttentionTiles t;
  long long m = 0, n = 0;
  if (std::sscanf(text->c_str(), "%lld %lld %d %d %d", &m, &n, &t.numWarps, &t.numStages, &t.minBlocksPerSM) == 5) {
    t.blockM = m;
    t.blockN = n;
    for (const AttentionTiles &c : candidates)
      if (sameTiles(c, t))
        return t;
  }
  disk.remove(key);
  return std::nullopt;
}

// Milliseconds per launch of `t`: the best of three rounds, each long
// enough (about 5 ms, at least 3 launches) that one slow launch or the
// clock ramping up does not decide; nullopt when the candidate cannot run.
// The first launch also compiles.
std::optional<float> timeCandidate(const AttentionTiles &t, const LaunchTarget &target,
                                   const std::function<void(const AttentionTiles &)> &launch) {
  auto stream = static_cast<CUstream>(target.stream);
  auto timed = [&](int reps) {
    gpu::GpuEvent start, end;
    start.record(stream);
    for (int i = 0; i < reps; ++i)
      launch(t);
    end.record(stream);
    return gpu::elapsedMs(start, end) / reps;
  };
  try {
    launch(t);
    float estimate = timed(2);
    int reps = std::clamp(static_cast<int>(5.0f / std::max(estimate, 1e-3f)), 3, 100);
    float best = timed(reps);
    for (int round = 1; round < 3; ++round)
      best = std::min(best, timed(reps));
    return best;
  } catch (const std::exception &) {
    return std::nullopt;
  }
}
} // namespace

std::vector<std::string> tilePruneReasons(const std::vector<AttentionTiles> &candidates,
                                          const std::function<void(const AttentionTiles &)> &launch,
                                          const std::string &arch, int64_t sharedLimit) {
  std::vector<std::vector<KernelResources>> resources;
  for (const AttentionTiles &c : candidates) {
    LaunchProbe probe(arch);
    launch(c);
    resources.push_back(probe.kernels());
  }
  return resourcePruneReasons(resources, sharedLimit);
}

std::vector<AttentionTiles> forwardCandidates(const TuningShape &s, const LaunchTarget &target) {
  if (target.device != TensorArg::Device::Cuda || s.queries <= 64 || s.headDim > 128)
    return {s.fallback};
  std::vector<AttentionTiles> all;
  // Register-capped candidates (minBlocksPerSM) trade a few spilled bytes
  // for more warps per multiprocessor, which hide the latency between each
  // dot and the softmax waiting on it: ncu on 128x64 / 4 warps at head dim
  // 64 found 2 warps per scheduler, 0.44 eligible, the tensor pipe 21% busy;
  // 128x64 / 8 warps at 2 blocks per SM ran 1.5x faster (run23). Since q
  // is read from shared memory (tzgpu-pipeline's resident operands) that
  // tiling also fits head dim 128 in 128 registers: 484 TFLOP/s at 16k
  // keys against 375 for 128x128 (run29).
  if (s.headDim <= 64)
    all = {{128, 64, 8, 2, 2}, {64, 64, 4, 2, 4}, {128, 64, 8, 3, 2}, {64, 64, 4, 2, 3}, {128, 64, 4, 2, 0}};
  else
    // The 3-stage pipeline takes 128 KB of shared memory at head dim 128:
    // two blocks do not fit a multiprocessor (228 KB on sm_90), so it has
    // no register bound.
    all = {{128, 64, 8, 2, 2}, {128, 64, 4, 2, 0}, {128, 128, 8, 2, 0}, {64, 64, 4, 2, 3}, {128, 64, 8, 2, 0},
           {128, 64, 8, 3, 0}};
  // A key block wider than the keys only adds masked work.
  std::vector<AttentionTiles> out;
  for (AttentionTiles t : all) {
    if (t.blockN > 64 && s.keys <= 64)
      t.blockN = 64;
    if (std::none_of(out.begin(), out.end(), [&](const AttentionTiles &o) { return sameTiles(o, t); }))
      out.push_back(t);
  }
  return out;
}

std::vector<AttentionTiles> backwardCandidates(const TuningShape &s, const LaunchTarget &target) {
  if (target.device != TensorArg::Device::Cuda || s.queries <= 64 || s.headDim > 128)
    return {s.fallback};
  // Few candidates, each the fallback's blocks and warps (what the
  // backward kernels are written for) with other stages or register
  // bounds: each compiles two kernels on the first call. Measured
  // (bench/results/2026-11-25-H100-run32, tuning-bwd.txt): 3 blocks per SM
  // wins at head dim 64, 4 at head dim 32; at head dim 128 a bound of 3
  // is twice as slow, so the unbounded fallback stays.
  AttentionTiles f = s.fallback;
  int bound = f.minBlocksPerSM;
  std::vector<AttentionTiles> all = {f,
                                     {f.blockM, f.blockN, f.numWarps, 3, bound},
                                     {f.blockM, f.blockN, f.numWarps, 2, bound ? 0 : 3}};
  if (bound)
    all.push_back({f.blockM, f.blockN, f.numWarps, 2, bound + 1});
  std::vector<AttentionTiles> out;
  for (const AttentionTiles &t : all)
    if (std::none_of(out.begin(), out.end(), [&](const AttentionTiles &o) { return sameTiles(o, t); }))
      out.push_back(t);
  return out;
}

namespace {
// The shared memory one block may use, for pruning: the device's, unless
// TZ_LIBRARY_TUNING_SHARED_LIMIT (tests) says less; 0 without a device.
int64_t sharedLimitForTuning(bool onDevice) {
  std::string forced = envOr("TZ_LIBRARY_TUNING_SHARED_LIMIT", "");
  if (forced.empty())
    return onDevice ? gpuSharedMemoryLimit() : 0;
  char *end = nullptr;
  long long bytes = std::strtoll(forced.c_str(), &end, 10);
  if (*end != '\0' || bytes < 0)
    throw std::invalid_argument("TZ_LIBRARY_TUNING_SHARED_LIMIT must be a number of bytes, got '" + forced + "'");
  return bytes;
}

// TZ_LIBRARY_TUNING_PROBE_ARCH=sm_90a (tests without a GPU): an
// interpreter call also compiles the GPU candidates for that target and
// prunes them as a GPU call would, recording the reasons in
// libraryTuningStats; then it runs on the interpreter as usual.
void probeOnHost(const TuningShape &shape, const LaunchTarget &target,
                 std::vector<AttentionTiles> (*candidatesFor)(const TuningShape &, const LaunchTarget &),
                 const std::function<void(const AttentionTiles &)> &launch) {
  std::string arch = envOr("TZ_LIBRARY_TUNING_PROBE_ARCH", "");
  if (target.device != TensorArg::Device::Host || arch.empty())
    return;
  LaunchTarget onGpu = target;
  onGpu.device = TensorArg::Device::Cuda;
  std::vector<AttentionTiles> candidates = candidatesFor(shape, onGpu);
  prunedByResources(shape, shapeKey(shape) + "|" + arch, candidates, launch, arch, sharedLimitForTuning(false));
}

AttentionTiles runTuned(const TuningShape &shape, const std::vector<AttentionTiles> &candidates,
                        const LaunchTarget &target, const std::function<void(const AttentionTiles &)> &launch,
                        const std::function<void(const AttentionTiles &)> &finalLaunch = nullptr) {
  const auto &last = finalLaunch ? finalLaunch : launch;
  if (candidates.size() == 1 || autotuneDisabled()) {
    last(candidates.front());
    return candidates.front();
  }
  std::string key = cacheKey(shape);
  Table &t = table();
  std::optional<AttentionTiles> choice;
  {
    std::lock_guard<std::mutex> lock(t.mutex);
    if (auto it = t.choices.find(key); it != t.choices.end())
      choice = it->second;
  }
  if (!choice) {
    if ((choice = storedChoice(key, candidates))) {
      std::lock_guard<std::mutex> lock(t.mutex);
      t.choices[key] = *choice;
      ++t.loaded;
    }
  }
  if (!choice) {
    // Compiled once here; the timing launches below load the same code.
    std::vector<AttentionTiles> kept =
        prunedByResources(shape, key, candidates, launch, "", sharedLimitForTuning(true));
    float best = 0;
    for (const AttentionTiles &c : kept) {
      std::optional<float> ms = timeCandidate(c, target, launch);
      if (tuningLogRequested())
        std::fprintf(stderr, "terrazzo tuning %s: %s: %s\n", key.c_str(), describe(c).c_str(),
                     ms ? (std::to_string(*ms) + " ms").c_str() : "could not run");
      if (ms && (!choice || *ms < best)) {
        choice = c;
        best = *ms;
      }
    }
    if (!choice) // none could run: let the first left report why
      choice = kept.front();
    else
      gpu::DiskCache::global().put(key, std::to_string(choice->blockM) + " " + std::to_string(choice->blockN) + " " +
                                            std::to_string(choice->numWarps) + " " +
                                            std::to_string(choice->numStages) + " " +
                                            std::to_string(choice->minBlocksPerSM) + "\n");
    std::lock_guard<std::mutex> lock(t.mutex);
    t.choices[key] = *choice;
    ++t.timed;
  }
  last(*choice);
  return *choice;
}
} // namespace

AttentionTiles runTunedForward(const TuningShape &shape, const LaunchTarget &target,
                               const std::function<void(const AttentionTiles &)> &launch) {
  probeOnHost(shape, target, forwardCandidates, launch);
  return runTuned(shape, forwardCandidates(shape, target), target, launch);
}

AttentionTiles runTunedBackward(const TuningShape &shape, const LaunchTarget &target,
                                const std::function<void(const AttentionTiles &)> &launch,
                                const std::function<void(const AttentionTiles &)> &finalLaunch) {
  probeOnHost(shape, target, backwardCandidates, launch);
  return runTuned(shape, backwardCandidates(shape, target), target, launch, finalLaunch);
}

LibraryTuningStats libraryTuningStats() {
  Table &t = table();
  std::lock_guard<std::mutex> lock(t.mutex);
  LibraryTuningStats s;
  s.timed = t.timed;
  s.loaded = t.loaded;
  for (const auto &[key, tiles] : t.choices)
    s.choices[key] = describe(tiles);
  s.pruned = t.pruned;
  return s;
}

} // namespace terrazzo::ops
