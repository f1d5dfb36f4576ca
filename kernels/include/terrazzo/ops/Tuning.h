// What the library's tile autotuner has done in this process, and the
// choices it holds (for tests and for users who want to see them). The
// choices persist in the kernel cache directory (DiskCache), one entry per
// (kernel, head dim, dtype, causal, query count by power of two, device);
// set TZ_LIBRARY_AUTOTUNE=0 to use the fixed measured tiles instead.
#pragma once

#include "terrazzo/ResourcePruning.h"
#include "terrazzo/Terrazzo.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace terrazzo::ops {

struct LibraryTuningStats {
  uint64_t timed = 0;  // keys whose candidates this process timed
  uint64_t loaded = 0; // keys whose choice came from the disk cache
  std::map<std::string, std::string> choices; // key -> "BLOCK_M x BLOCK_N, W warps, S stages"
  // key -> {tiles: why they were pruned before timing} (keys tuned in this
  // process, and interpreter calls under TZ_LIBRARY_TUNING_PROBE_ARCH)
  std::map<std::string, std::map<std::string, std::string>> pruned;
};

TERRAZZO_API LibraryTuningStats libraryTuningStats();

// Runs `calls` (library calls on host arrays) with every kernel launch of
// the library compiled for `arch` instead of run (GpuOptions::tma = `tma`,
// GpuOptions::warpSpecialize = `warpSpecialize`),
// as the tile tuner's pruning does; returns what each launch's kernel
// needs, in order, with compileError set where it did not compile. The
// calls' outputs are not written. For tests that every library kernel
// compiles for a target.
TERRAZZO_API std::vector<KernelResources> compileLibraryLaunches(const std::string &arch, int tma,
                                                                 const std::function<void()> &calls,
                                                                 int warpSpecialize = -1);

} // namespace terrazzo::ops
