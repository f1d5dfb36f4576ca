// Which autotuning candidates to drop before timing any, from what
// compiling each for the target said (Kernel::prepareLaunch): the Python
// autotuner (tz.autotune) and the kernel library's tile tuner both ask
// here, so the two prune by the same rules.
#pragma once

#include "terrazzo/Terrazzo.h"

#include <cstdint>
#include <string>
#include <vector>

namespace terrazzo {

// One kernel of a candidate, compiled with the candidate's options.
struct KernelResources {
  std::string kernelName;
  std::string compileError; // non-empty: it did not compile (the message)
  int numWarps = 4, minBlocksPerSM = 0;
  int registers = -1; // per thread; -1: not known (no assembler statistics)
  int spillStoreBytes = 0, spillLoadBytes = 0;
  int64_t sharedBytes = 0; // dynamic shared memory per block
};

// For each candidate (the kernels one launch of it runs), why it is
// dropped before timing, or "" when it is kept. A candidate is dropped
// when a kernel of it
//   - did not compile (a kernel whose shared memory exceeds the target's
//     limit does not: the reason names the bytes),
//   - needs more shared memory than `sharedLimit` (the device's opt-in
//     limit per block; 0: no device, only the compiler's limit for the
//     target applies),
//   - uses more than 255 registers per thread, or more registers than a
//     multiprocessor has for a block of its threads (it could not launch),
//   - spills registers to local memory while another kept candidate spills
//     none. Candidates with a register bound (minBlocksPerSM > 0) ask to
//     spill if they must, for more warps per multiprocessor, and keep it.
TERRAZZO_API std::vector<std::string> resourcePruneReasons(const std::vector<std::vector<KernelResources>> &candidates,
                                                           int64_t sharedLimit);

// What prepareLaunch's result says about resources, under `numWarps` and
// `minBlocksPerSM` (the options it was compiled with).
TERRAZZO_API KernelResources resourcesOf(const GpuCompilation &c, int numWarps, int minBlocksPerSM);

// The most shared memory one block of the current device may opt in to;
// 0 without a GPU.
TERRAZZO_API int64_t gpuSharedMemoryLimit();

} // namespace terrazzo
