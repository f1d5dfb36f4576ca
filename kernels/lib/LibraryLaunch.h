// How the library's host wrappers find their kernels and run them: on the
// GPU when the tensors are CUDA tensors, else on the CPU interpreter.
#pragma once

#include "terrazzo/ResourcePruning.h"
#include "terrazzo/ops/TensorArg.h"

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace terrazzo::ops {

// Where a call runs and how: filled from the checked tensors and the
// caller's stream.
struct LaunchTarget {
  TensorArg::Device device = TensorArg::Device::Host;
  int deviceIndex = 0;
  void *stream = nullptr; // CUstream for GPU launches (null: default stream)
  int numWarps = 4;
  int numStages = 2; // software pipelining depth of GPU launches
  int minBlocksPerSM = 0; // GpuOptions::minBlocksPerSM
};

// `name` from the embedded source `file`, loaded once per process.
Kernel &libraryKernel(const std::string &file, const std::string &name);

// Runs `kernel` over `grid` on the target's device. A grid with a zero
// dimension runs nothing.
void runKernel(Kernel &kernel, const LaunchTarget &target, std::array<int64_t, 3> grid,
               const std::vector<HostValue> &args, const Keywords &keywords);

// While one is alive on its thread, runKernel runs nothing: it compiles
// each launch for the GPU as the launch would be compiled
// (Kernel::prepareLaunch, which keeps the code for the launch that follows)
// and records what each kernel needs. The tile tuner prunes its candidates
// by it before timing any.
class LaunchProbe {
public:
  // arch: "" for the current device's (sm_90a without a GPU); tma,
  // warpSpecialize: GpuOptions::tma and ::warpSpecialize of the compiles.
  explicit LaunchProbe(std::string arch = "", int tma = -1, int warpSpecialize = -1);
  ~LaunchProbe();
  LaunchProbe(const LaunchProbe &) = delete;
  LaunchProbe &operator=(const LaunchProbe &) = delete;

  // The probe alive on this thread, or null.
  static LaunchProbe *active();
  void record(Kernel &kernel, const LaunchTarget &target, const std::vector<HostValue> &args,
              const Keywords &keywords);
  // One entry per launch recorded, in order (a failed compile has its message).
  const std::vector<KernelResources> &kernels() const { return kernels_; }

private:
  std::string arch_;
  int tma_;
  int warpSpecialize_;
  std::vector<KernelResources> kernels_;
  LaunchProbe *outer_;
};

// Temporary memory for one call (e.g. the backward's row statistics), on the
// target's device: host memory for the interpreter, device memory of the
// current CUDA context for the GPU, allocated and freed in the order of the
// target's stream (the driver's pool): the kernels queued on it may use it,
// and the host never waits.
class DeviceScratch {
public:
  DeviceScratch(const LaunchTarget &target, size_t bytes);
  ~DeviceScratch();
  DeviceScratch(const DeviceScratch &) = delete;
  DeviceScratch &operator=(const DeviceScratch &) = delete;

  void *data() const { return data_; }
  // A contiguous tensor of `dtype` and `shape` over this memory, on the
  // target's device (the scratch must hold its bytes).
  TensorArg tensor(const std::string &dtype, const std::vector<int64_t> &shape) const;

private:
  LaunchTarget target_;
  size_t bytes_ = 0;
  std::vector<std::max_align_t> host_;
  unsigned long long device_ = 0; // CUdeviceptr
  void *data_ = nullptr;
};

} // namespace terrazzo::ops
