#include "LibraryLaunch.h"

#include "terrazzo/ops/Tuning.h"

#include "terrazzo/gpu/CudaDriver.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <utility>

namespace terrazzo::ops {

Kernel &libraryKernel(const std::string &file, const std::string &name) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<Kernel>> kernels;
  std::lock_guard<std::mutex> lock(mutex);
  auto &k = kernels[file + ":" + name];
  if (!k)
    k = Kernel::fromLibrary(file, name);
  return *k;
}

void runKernel(Kernel &kernel, const LaunchTarget &target, std::array<int64_t, 3> grid,
               const std::vector<HostValue> &args, const Keywords &keywords) {
  if (grid[0] <= 0 || grid[1] <= 0 || grid[2] <= 0)
    return;
  if (LaunchProbe *probe = LaunchProbe::active()) {
    probe->record(kernel, target, args, keywords);
    return;
  }
  if (target.device == TensorArg::Device::Host) {
    kernel.interpret(grid, args, keywords);
    return;
  }
  GpuOptions options;
  options.numWarps = target.numWarps;
  options.numStages = target.numStages;
  options.minBlocksPerSM = target.minBlocksPerSM;
  kernel.launch(grid, args, keywords, options, target.stream);
}

namespace {
thread_local LaunchProbe *activeProbe = nullptr;
}

LaunchProbe::LaunchProbe(std::string arch, int tma, int warpSpecialize)
    : arch_(std::move(arch)), tma_(tma), warpSpecialize_(warpSpecialize), outer_(activeProbe) {
  activeProbe = this;
}

LaunchProbe::~LaunchProbe() { activeProbe = outer_; }

LaunchProbe *LaunchProbe::active() { return activeProbe; }

void LaunchProbe::record(Kernel &kernel, const LaunchTarget &target, const std::vector<HostValue> &args,
                         const Keywords &keywords) {
  GpuOptions options;
  options.numWarps = target.numWarps;
  options.numStages = target.numStages;
  options.minBlocksPerSM = target.minBlocksPerSM;
  options.arch = arch_;
  options.tma = tma_;
  options.warpSpecialize = warpSpecialize_;
  try {
    kernels_.push_back(resourcesOf(kernel.prepareLaunch(args, keywords, options), options.numWarps,
                                   options.minBlocksPerSM));
  } catch (const std::exception &e) { // the reason this candidate cannot run
    KernelResources failed;
    failed.kernelName = kernel.name();
    failed.compileError = e.what();
    failed.numWarps = options.numWarps;
    failed.minBlocksPerSM = options.minBlocksPerSM;
    kernels_.push_back(std::move(failed));
  }
}

DeviceScratch::DeviceScratch(const LaunchTarget &target, size_t bytes) : target_(target), bytes_(bytes) {
  if (target.device == TensorArg::Device::Host) {
    host_.resize(std::max<size_t>(1, (bytes + sizeof(std::max_align_t) - 1) / sizeof(std::max_align_t)));
    data_ = host_.data();
  } else {
    device_ = gpu::deviceAllocOnStream(std::max<size_t>(1, bytes), static_cast<CUstream>(target.stream));
    data_ = reinterpret_cast<void *>(static_cast<uintptr_t>(device_));
  }
}

DeviceScratch::~DeviceScratch() {
  if (!device_)
    return;
  // Freed in stream order: the kernels queued on the stream still use it,
  // and the host does not wait for them. A destructor must not throw: a
  // failed free (e.g. a faulted context) leaves the memory to the context's
  // teardown.
  try {
    gpu::deviceFreeOnStream(device_, static_cast<CUstream>(target_.stream));
  } catch (...) {
  }
}

TensorArg DeviceScratch::tensor(const std::string &dtype, const std::vector<int64_t> &shape) const {
  TensorArg t;
  t.data = data_;
  t.dtype = dtype;
  t.shape = shape;
  t.strides.assign(shape.size(), 1);
  int64_t elements = 1;
  for (size_t d = shape.size(); d-- > 0;) {
    t.strides[d] = elements;
    elements *= shape[d];
  }
  if ((size_t)elements * dtypeBytes(dtype) > bytes_)
    throw std::logic_error("DeviceScratch: a " + dtype + " tensor of " + std::to_string(elements) +
                           " elements does not fit in " + std::to_string(bytes_) + " bytes");
  t.device = target_.device;
  t.deviceIndex = target_.deviceIndex;
  return t;
}

std::vector<KernelResources> compileLibraryLaunches(const std::string &arch, int tma,
                                                   const std::function<void()> &calls, int warpSpecialize) {
  LaunchProbe probe(arch, tma, warpSpecialize);
  calls();
  return probe.kernels();
}

} // namespace terrazzo::ops
