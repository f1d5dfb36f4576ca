// The CUDA driver API as the runtime uses it: device and context, modules,
// launches, and a few memory helpers for C++ tests and benchmarks.
//
// libcuda.so.1 is loaded with dlopen on first use, never linked, so that
// libterrazzo.so loads (and the CPU interpreter runs) on machines without a
// GPU. driverAvailable() says whether it could be loaded; every other call
// throws GpuError when it could not.
//
// This header does not include cuda.h (whose include directory is private to
// the runtime): it repeats the few handle typedefs it needs, spelled exactly
// as cuda.h spells them, so the two can be included together.
#pragma once

#include <array>
#include <cstdint>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef unsigned long long CUdeviceptr_v2;
typedef CUdeviceptr_v2 CUdeviceptr;

namespace terrazzo::gpu {

// A failed driver call. what() reads "cuModuleLoadData failed:
// CUDA_ERROR_INVALID_IMAGE (device kernel image is invalid)", followed by the
// JIT log where there is one.
class GpuError : public std::runtime_error {
public:
  GpuError(int result, const std::string &message) : std::runtime_error(message), result_(result) {}
  // The CUresult (an int here so that this header needs no cuda.h).
  int result() const { return result_; }

private:
  int result_;
};

// True when libcuda.so.1 loads, cuInit succeeds and there is a device.
// Never throws.
bool driverAvailable();
// Why driverAvailable() is false ("" when it is true).
const char *driverUnavailableReason();

struct DeviceInfo {
  int ordinal = 0;
  std::string name;
  int ccMajor = 0, ccMinor = 0;
  int smCount = 0;
  // The most shared memory (static + dynamic) one block may opt in to.
  size_t maxSharedPerBlockOptin = 0;
};

// The device of the calling thread's current context. Without one (C++ use,
// no torch) it makes the primary context of the device chosen by setDevice()
// (0 by default) current first. The reference stays valid for the process.
const DeviceInfo &currentDevice();
// Makes `ordinal`'s primary context current on this thread and the default
// for threads that have no context yet.
void setDevice(int ordinal);
// The calling thread's current context, made as currentDevice() says.
CUcontext currentContext();
// The calling thread's current context, or null when it has none (never
// makes one). Cheap: a cached launch compares it with the context its
// function was loaded into.
CUcontext currentContextOrNull();
// The number of CUDA devices.
int deviceCount();

// A loaded module (cubin or PTX) with its functions; unloaded on destruction
// when its context still exists.
class GpuModule {
public:
  // Loads into the current context. A PTX image is JIT-compiled by the
  // driver, whose error log becomes part of the GpuError.
  static std::shared_ptr<GpuModule> load(const void *image, size_t size, bool isPTX);
  ~GpuModule();
  GpuModule(const GpuModule &) = delete;
  GpuModule &operator=(const GpuModule &) = delete;

  CUfunction function(const std::string &name);
  // Lets `f` launch with `bytes` of dynamic shared memory: above 48 KiB the
  // driver wants an explicit opt-in, bounded by the device.
  void setDynamicSharedMemory(CUfunction f, int bytes);
  // What the PTX JIT said on success (empty for cubins).
  const std::string &jitInfoLog() const { return jitInfoLog_; }
  // The device of the context it was loaded into.
  const DeviceInfo &device() const { return *device_; }

private:
  GpuModule(CUmodule module, CUcontext context, const DeviceInfo *device, std::string jitInfoLog)
      : module_(module), context_(context), device_(device), jitInfoLog_(std::move(jitInfoLog)) {}
  CUmodule module_;
  CUcontext context_;
  const DeviceInfo *device_;
  std::string jitInfoLog_;
};

// How many blocks of `f` (of `blockThreads` threads, with
// `dynamicSharedBytes` of dynamic shared memory) one multiprocessor runs at
// once, as its registers, shared memory and block limits allow
// (cuOccupancyMaxActiveBlocksPerMultiprocessor). 0: the block does not fit.
int maxActiveBlocksPerSM(CUfunction f, unsigned blockThreads, unsigned dynamicSharedBytes);

// Launches `f` on `stream` (nullptr: the legacy default stream). `params`
// points at one pointer per kernel argument. A grid with a zero dimension
// launches nothing.
void launch(CUfunction f, std::array<unsigned, 3> grid, std::array<unsigned, 3> block,
            unsigned sharedBytes, CUstream stream, void **params);

// Encodes a tiled TMA tensor map of `rank` dimensions (dimension 0 first)
// into the 128 bytes at `out` (64-byte aligned): cuTensorMapEncodeTiled
// with elements zero-filled out of range, no interleave, unit element
// strides. `dataType` is a CUtensorMapDataType, `swizzleBytes` 0, 32, 64 or
// 128. False (and `out` unspecified) where the driver refuses the
// description or has no such entry point.
bool encodeTensorMapTiled(void *out, int dataType, unsigned rank, const void *address, const uint64_t *dims,
                          const uint64_t *strideBytes, const uint32_t *box, int swizzleBytes);

// Memory helpers, for C++ tests and benchmarks (Python passes torch tensors).
CUdeviceptr deviceAlloc(size_t bytes);
void deviceFree(CUdeviceptr ptr);
// Stream-ordered (the driver's memory pool): the memory is usable by work
// queued on `stream` after the call, and freed once the work queued before
// the free has run, with no synchronisation of the host.
CUdeviceptr deviceAllocOnStream(size_t bytes, CUstream stream);
void deviceFreeOnStream(CUdeviceptr ptr, CUstream stream);
void copyToDevice(CUdeviceptr dst, const void *src, size_t bytes);
void copyToHost(void *dst, CUdeviceptr src, size_t bytes);
// Waits for all work of the current context, or of one stream.
void synchronize();
void synchronize(CUstream stream);

// A CUDA event for timing (the autotuner's clock).
class GpuEvent {
public:
  GpuEvent();
  ~GpuEvent();
  GpuEvent(const GpuEvent &) = delete;
  GpuEvent &operator=(const GpuEvent &) = delete;
  void record(CUstream stream);
  CUevent get() const { return event_; }

private:
  CUevent event_ = nullptr;
};

// Milliseconds between two recorded events; waits for `end` first.
float elapsedMs(const GpuEvent &start, const GpuEvent &end);

} // namespace terrazzo::gpu
