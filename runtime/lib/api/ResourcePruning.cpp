// The autotuners' pruning rules (see ResourcePruning.h).
#include "terrazzo/ResourcePruning.h"

#include "terrazzo/gpu/CudaDriver.h"

#include <algorithm>
#include <regex>

namespace terrazzo {

namespace {
constexpr int kMaxRegistersPerThread = 255;
// 32-bit registers of one multiprocessor (sm_50 to sm_90), which is also
// the most one block may hold.
constexpr int64_t kRegistersPerMultiprocessor = 64 * 1024;
// Registers are handed to warps in units of 256 (8 per thread).
constexpr int64_t kRegisterUnitPerWarp = 256;

std::string firstLine(const std::string &text) {
  size_t start = text.find_first_not_of("\n ");
  if (start == std::string::npos)
    return "";
  std::string line = text.substr(start, text.find('\n', start) - start);
  return line.size() > 300 ? line.substr(0, 300) + "..." : line;
}

// Why one kernel cannot run (or "" when it can), spills aside.
std::string hardLimitReason(const KernelResources &k, int64_t sharedLimit) {
  std::string who = k.kernelName.empty() ? "" : "'" + k.kernelName + "' ";
  if (!k.compileError.empty()) {
    static const std::regex shared("needs ([0-9]+) bytes of shared memory, but a block may use at most ([0-9]+)");
    std::smatch m;
    if (std::regex_search(k.compileError, m, shared))
      return "shared memory: " + who + "needs " + m[1].str() + " bytes, a block may use at most " + m[2].str();
    return "does not compile: " + firstLine(k.compileError);
  }
  if (sharedLimit > 0 && k.sharedBytes > sharedLimit)
    return "shared memory: " + who + "needs " + std::to_string(k.sharedBytes) +
           " bytes, the device allows at most " + std::to_string(sharedLimit) + " per block";
  if (k.registers > kMaxRegistersPerThread)
    return "registers: " + who + "uses " + std::to_string(k.registers) + " per thread, at most " +
           std::to_string(kMaxRegistersPerThread);
  if (k.registers > 0) {
    int64_t perWarp = (int64_t(k.registers) * 32 + kRegisterUnitPerWarp - 1) / kRegisterUnitPerWarp *
                      kRegisterUnitPerWarp;
    if (perWarp * k.numWarps > kRegistersPerMultiprocessor)
      return "registers: " + who + "uses " + std::to_string(k.registers) + " per thread, " +
             std::to_string(perWarp * k.numWarps) + " for a block of " + std::to_string(k.numWarps) +
             " warps; a multiprocessor has " + std::to_string(kRegistersPerMultiprocessor);
  }
  return "";
}

int64_t spilledBytes(const std::vector<KernelResources> &candidate) {
  int64_t bytes = 0;
  for (const KernelResources &k : candidate)
    bytes += k.spillStoreBytes + k.spillLoadBytes;
  return bytes;
}

bool statisticsKnown(const std::vector<KernelResources> &candidate) {
  return std::all_of(candidate.begin(), candidate.end(), [](const KernelResources &k) { return k.registers >= 0; });
}

bool registerBounded(const std::vector<KernelResources> &candidate) {
  return std::any_of(candidate.begin(), candidate.end(), [](const KernelResources &k) { return k.minBlocksPerSM > 0; });
}
} // namespace

std::vector<std::string> resourcePruneReasons(const std::vector<std::vector<KernelResources>> &candidates,
                                              int64_t sharedLimit) {
  std::vector<std::string> reasons(candidates.size());
  for (size_t i = 0; i < candidates.size(); ++i)
    for (const KernelResources &k : candidates[i])
      if (reasons[i].empty())
        reasons[i] = hardLimitReason(k, sharedLimit);
  // Spilling is only bad next to something that does not spill: when every
  // candidate spills, timing decides among them.
  bool someoneCleanRuns = false;
  for (size_t i = 0; i < candidates.size(); ++i)
    if (reasons[i].empty() && statisticsKnown(candidates[i]) && spilledBytes(candidates[i]) == 0)
      someoneCleanRuns = true;
  if (!someoneCleanRuns)
    return reasons;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!reasons[i].empty() || registerBounded(candidates[i]))
      continue;
    for (const KernelResources &k : candidates[i])
      if (k.spillStoreBytes + k.spillLoadBytes > 0) {
        reasons[i] = "spills: " + (k.kernelName.empty() ? "" : "'" + k.kernelName + "' ") + "stores " +
                     std::to_string(k.spillStoreBytes) + " and loads " + std::to_string(k.spillLoadBytes) +
                     " bytes of spilled registers (" + std::to_string(k.registers) +
                     " registers per thread), while another candidate spills none";
        break;
      }
  }
  return reasons;
}

KernelResources resourcesOf(const GpuCompilation &c, int numWarps, int minBlocksPerSM) {
  KernelResources k;
  k.kernelName = c.kernelName;
  k.numWarps = numWarps;
  k.minBlocksPerSM = minBlocksPerSM;
  k.registers = c.registers;
  k.spillStoreBytes = c.spillStoreBytes;
  k.spillLoadBytes = c.spillLoadBytes;
  k.sharedBytes = c.sharedBytes;
  return k;
}

int64_t gpuSharedMemoryLimit() {
  if (!gpu::driverAvailable() || gpu::deviceCount() == 0)
    return 0;
  return static_cast<int64_t>(gpu::currentDevice().maxSharedPerBlockOptin);
}

} // namespace terrazzo
