// Tile sizes of the attention kernels, forward and backward (flash and
// cosine-sim share the loop shapes), autotuned on the GPU per (kernel, head
// dim, dtype, causal, query count by power of two, device) and persisted.
#pragma once

#include "LibraryLaunch.h"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace terrazzo::ops {

struct AttentionTiles {
  int64_t blockM = 64, blockN = 64;
  int numWarps = 4, numStages = 2;
  int minBlocksPerSM = 0; // see GpuOptions: caps registers so that many blocks fit
};

// What one forward or backward call is, as far as its best tiles go.
struct TuningShape {
  std::string kernel; // library kernel name
  std::string dtype;  // of q
  int64_t headDim = 0, queries = 0, keys = 0;
  bool causal = false;
  std::string variant; // anything else that changes the kernel (score_mod, bias, …); may be empty
  AttentionTiles fallback; // the tiles where there is nothing to tune
};

// The tiles for `shape`, launching through `launch` (which must run the
// whole forward with the tiles it is given and may be called several
// times: every call writes the same outputs). On the interpreter, for 64
// queries or fewer and for head dims above 128 the only candidate is
// `shape.fallback`. Otherwise the choice comes from this process's table,
// else from the disk cache, else from timing each candidate on this call's
// arguments with CUDA events on the target's stream; the fastest is stored
// in both. Before timing, every candidate is compiled for the device (the
// timing launches reuse that code) and those that cannot run or clearly
// lose are pruned (tilePruneReasons): they are never launched, and
// libraryTuningStats().pruned says why. When every candidate is pruned the
// call throws, naming the kernel and each reason. A candidate that fails
// to launch is skipped.
// Returns the tiles the last `launch` ran with: the outputs are written.
AttentionTiles runTunedForward(const TuningShape &shape, const LaunchTarget &target,
                               const std::function<void(const AttentionTiles &)> &launch);

// The same over backwardCandidates: `launch` runs the backward's dK/dV and
// dQ kernels (they overwrite their outputs, so every call writes the same).
// `finalLaunch`, when given, runs instead of `launch` with the chosen tiles:
// for outputs that are added into (captured tensors' gradients), which
// timing runs must not touch.
AttentionTiles runTunedBackward(const TuningShape &shape, const LaunchTarget &target,
                                const std::function<void(const AttentionTiles &)> &launch,
                                const std::function<void(const AttentionTiles &)> &finalLaunch = nullptr);

// For each candidate, why it is pruned before timing ("" when kept):
// `launch` runs under a LaunchProbe, so its kernels are compiled for
// `arch` ("" for the current device's) and nothing runs; the rules are
// resourcePruneReasons' with `sharedLimit` (0: only the compiler's limit
// for the target).
std::vector<std::string> tilePruneReasons(const std::vector<AttentionTiles> &candidates,
                                          const std::function<void(const AttentionTiles &)> &launch,
                                          const std::string &arch, int64_t sharedLimit);

// `target` with the warps, stages and register bound of `tiles`.
inline LaunchTarget withTiles(LaunchTarget target, const AttentionTiles &tiles) {
  target.numWarps = tiles.numWarps;
  target.numStages = tiles.numStages;
  target.minBlocksPerSM = tiles.minBlocksPerSM;
  return target;
}

// The candidates for `shape` on `target`, the best measured choice first
// (what TZ_LIBRARY_AUTOTUNE=0 runs; tune.txt in bench/results/
// 2026-11-24-H100-run23 and 2026-11-25-H100-run29).
std::vector<AttentionTiles> forwardCandidates(const TuningShape &shape, const LaunchTarget &target);

// The backward's candidates: `shape.fallback` first, then its blocks and
// warps over other pipeline stages and register bounds.
std::vector<AttentionTiles> backwardCandidates(const TuningShape &shape, const LaunchTarget &target);

} // namespace terrazzo::ops
