// The CUDA driver API, loaded from libcuda.so.1 at run time.
//
// Every entry point but cuInit is resolved through cuGetProcAddress with
// CUDA 12.0's ABI, so each name yields the version whose signature matches
// the PFN_*_v<N> typedef used for it (cudaTypedefs.h), whatever driver runs:
// "cuMemAlloc" gives cuMemAlloc_v2, and "cuCtxSynchronize" the form without
// the context argument that CUDA 13 added. The headers supply types only.
#include "terrazzo/gpu/CudaDriver.h"

#include <cuda.h>
#include <cudaTypedefs.h>
#include <dlfcn.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <mutex>
#include <type_traits>
#include <vector>

namespace terrazzo::gpu {
namespace {

constexpr int kApiVersion = 12000;
// The shared memory any kernel may use without opting in.
constexpr int kDefaultSharedLimit = 48 * 1024;

struct Api {
  PFN_cuGetErrorName_v6000 getErrorName;
  PFN_cuGetErrorString_v6000 getErrorString;
  PFN_cuDriverGetVersion_v2020 driverGetVersion;
  PFN_cuDeviceGet_v2000 deviceGet;
  PFN_cuDeviceGetCount_v2000 deviceGetCount;
  PFN_cuDeviceGetName_v2000 deviceGetName;
  PFN_cuDeviceGetAttribute_v2000 deviceGetAttribute;
  PFN_cuDevicePrimaryCtxRetain_v7000 devicePrimaryCtxRetain;
  PFN_cuCtxGetCurrent_v4000 ctxGetCurrent;
  PFN_cuCtxSetCurrent_v4000 ctxSetCurrent;
  PFN_cuCtxGetDevice_v2000 ctxGetDevice;
  PFN_cuCtxPushCurrent_v4000 ctxPushCurrent;
  PFN_cuCtxPopCurrent_v4000 ctxPopCurrent;
  PFN_cuCtxSynchronize_v2000 ctxSynchronize;
  PFN_cuModuleLoadData_v2000 moduleLoadData;
  PFN_cuModuleLoadDataEx_v2010 moduleLoadDataEx;
  PFN_cuModuleUnload_v2000 moduleUnload;
  PFN_cuModuleGetFunction_v2000 moduleGetFunction;
  PFN_cuFuncSetAttribute_v9000 funcSetAttribute;
  PFN_cuFuncGetAttribute_v2020 funcGetAttribute;
  PFN_cuLaunchKernelEx_v11060 launchKernelEx;
  PFN_cuOccupancyMaxActiveBlocksPerMultiprocessor_v6050 occupancyMaxActiveBlocksPerMultiprocessor;
  PFN_cuMemAlloc_v3020 memAlloc;
  PFN_cuMemFree_v3020 memFree;
  PFN_cuMemAllocAsync_v11020 memAllocAsync;
  PFN_cuMemFreeAsync_v11020 memFreeAsync;
  PFN_cuMemcpyHtoD_v3020 memcpyHtoD;
  PFN_cuMemcpyDtoH_v3020 memcpyDtoH;
  PFN_cuStreamSynchronize_v2000 streamSynchronize;
  PFN_cuEventCreate_v2000 eventCreate;
  PFN_cuEventDestroy_v4000 eventDestroy;
  PFN_cuEventRecord_v2000 eventRecord;
  PFN_cuEventSynchronize_v2000 eventSynchronize;
  PFN_cuEventElapsedTime_v2000 eventElapsedTime;
  PFN_cuTensorMapEncodeTiled_v12000 tensorMapEncodeTiled; // null before CUDA 12
};

struct Driver {
  Api api{};
  bool available = false;
  int failure = CUDA_ERROR_NOT_INITIALIZED;
  std::string unavailableReason;
};

// Set once the process starts exiting. The handler is registered after
// libcuda.so.1 was loaded, so it runs before the driver tears itself down;
// objects destroyed after it (a module in a static cache) must not call into
// the driver, and need not: the process is going away with its contexts.
std::atomic<bool> gExiting{false};

std::string describe(CUresult result, const std::string &call, const Api &api) {
  const char *name = nullptr, *text = nullptr;
  if (api.getErrorName)
    api.getErrorName(result, &name);
  if (api.getErrorString)
    api.getErrorString(result, &text);
  std::string message = call + " failed: ";
  // The toolkit's stub library (lib64/stubs) answers every call with this,
  // its own name and description included.
  if (!name && result == CUDA_ERROR_STUB_LIBRARY)
    return message + "CUDA_ERROR_STUB_LIBRARY (libcuda.so.1 is the CUDA toolkit's stub, not a driver)";
  message += name ? name : "CUDA error " + std::to_string(result);
  if (text)
    message += std::string(" (") + text + ")";
  return message;
}

// Fills `driver`, or says in unavailableReason why it cannot.
void loadDriver(Driver &driver) {
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *error = dlerror();
    driver.unavailableReason = std::string("cannot load the CUDA driver: ") + (error ? error : "libcuda.so.1");
    return;
  }
  auto getProcAddress = reinterpret_cast<PFN_cuGetProcAddress_v12000>(dlsym(library, "cuGetProcAddress_v2"));
  auto init = reinterpret_cast<PFN_cuInit_v2000>(dlsym(library, "cuInit"));
  if (!getProcAddress || !init) {
    driver.unavailableReason = "libcuda.so.1 has no cuGetProcAddress_v2: the driver is older than CUDA 12.0";
    return;
  }

  Api &api = driver.api;
  std::string missing;
  auto resolve = [&](const char *symbol, auto &fn) {
    void *address = nullptr;
    CUdriverProcAddressQueryResult found = CU_GET_PROC_ADDRESS_SYMBOL_NOT_FOUND;
    // Legacy-stream versions: a null stream is the legacy default stream,
    // as for the runtime API (and torch) in a default build.
    if (getProcAddress(symbol, &address, kApiVersion, CU_GET_PROC_ADDRESS_LEGACY_STREAM, &found) != CUDA_SUCCESS ||
        found != CU_GET_PROC_ADDRESS_SUCCESS || !address) {
      missing += missing.empty() ? symbol : std::string(", ") + symbol;
      return;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(address);
  };
  resolve("cuGetErrorName", api.getErrorName);
  resolve("cuGetErrorString", api.getErrorString);
  // Initialise before resolving the rest: a driver that cannot (the stub
  // library, a broken installation) says why better than a missing symbol.
  if (CUresult result = init(0); result != CUDA_SUCCESS) {
    driver.failure = result;
    driver.unavailableReason = describe(result, "cuInit", api);
    return;
  }
  resolve("cuDriverGetVersion", api.driverGetVersion);
  resolve("cuDeviceGet", api.deviceGet);
  resolve("cuDeviceGetCount", api.deviceGetCount);
  resolve("cuDeviceGetName", api.deviceGetName);
  resolve("cuDeviceGetAttribute", api.deviceGetAttribute);
  resolve("cuDevicePrimaryCtxRetain", api.devicePrimaryCtxRetain);
  resolve("cuCtxGetCurrent", api.ctxGetCurrent);
  resolve("cuCtxSetCurrent", api.ctxSetCurrent);
  resolve("cuCtxGetDevice", api.ctxGetDevice);
  resolve("cuCtxPushCurrent", api.ctxPushCurrent);
  resolve("cuCtxPopCurrent", api.ctxPopCurrent);
  resolve("cuCtxSynchronize", api.ctxSynchronize);
  resolve("cuModuleLoadData", api.moduleLoadData);
  resolve("cuModuleLoadDataEx", api.moduleLoadDataEx);
  resolve("cuModuleUnload", api.moduleUnload);
  resolve("cuModuleGetFunction", api.moduleGetFunction);
  resolve("cuFuncSetAttribute", api.funcSetAttribute);
  resolve("cuFuncGetAttribute", api.funcGetAttribute);
  resolve("cuLaunchKernelEx", api.launchKernelEx);
  resolve("cuOccupancyMaxActiveBlocksPerMultiprocessor", api.occupancyMaxActiveBlocksPerMultiprocessor);
  resolve("cuMemAlloc", api.memAlloc);
  resolve("cuMemFree", api.memFree);
  resolve("cuMemAllocAsync", api.memAllocAsync);
  resolve("cuMemFreeAsync", api.memFreeAsync);
  resolve("cuMemcpyHtoD", api.memcpyHtoD);
  resolve("cuMemcpyDtoH", api.memcpyDtoH);
  resolve("cuStreamSynchronize", api.streamSynchronize);
  resolve("cuEventCreate", api.eventCreate);
  resolve("cuEventDestroy", api.eventDestroy);
  resolve("cuEventRecord", api.eventRecord);
  resolve("cuEventSynchronize", api.eventSynchronize);
  resolve("cuEventElapsedTime", api.eventElapsedTime);
  resolve("cuTensorMapEncodeTiled", api.tensorMapEncodeTiled);
  if (!missing.empty()) {
    driver.unavailableReason = "the CUDA driver lacks " + missing;
    return;
  }

  int count = 0;
  if (CUresult result = api.deviceGetCount(&count); result != CUDA_SUCCESS || count == 0) {
    driver.failure = CUDA_ERROR_NO_DEVICE;
    driver.unavailableReason = result != CUDA_SUCCESS ? describe(result, "cuDeviceGetCount", api) : "no CUDA device";
    return;
  }
  std::atexit([] { gExiting = true; });
  driver.available = true;
}

// Never destroyed: modules and events held by static objects may still
// look at it while the process exits.
Driver &driverState() {
  static Driver *driver = new Driver;
  static std::once_flag once;
  std::call_once(once, [] { loadDriver(*driver); });
  return *driver;
}

const Api &api() {
  Driver &driver = driverState();
  if (!driver.available)
    throw GpuError(driver.failure, "CUDA driver unavailable: " + driver.unavailableReason);
  return driver.api;
}

void check(CUresult result, const std::string &call) {
  if (result != CUDA_SUCCESS)
    throw GpuError(result, describe(result, call, api()));
}

std::atomic<int> gDefaultDevice{0};

// Retains `ordinal`'s primary context once (never released: it lives as long
// as the process, as the runtime API's does) and makes it current.
CUcontext makePrimaryContextCurrent(int ordinal) {
  static std::mutex mutex;
  static std::map<int, CUcontext> retained;
  CUcontext context;
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto it = retained.find(ordinal);
    if (it == retained.end()) {
      CUdevice device;
      check(api().deviceGet(&device, ordinal), "cuDeviceGet");
      check(api().devicePrimaryCtxRetain(&context, device), "cuDevicePrimaryCtxRetain");
      it = retained.emplace(ordinal, context).first;
    }
    context = it->second;
  }
  check(api().ctxSetCurrent(context), "cuCtxSetCurrent");
  return context;
}

DeviceInfo queryDevice(CUdevice device) {
  const Api &a = api();
  DeviceInfo info;
  // A CUdevice is a handle; find its ordinal rather than assume they agree.
  for (int i = 0, n = deviceCount(); i < n; ++i) {
    CUdevice candidate;
    check(a.deviceGet(&candidate, i), "cuDeviceGet");
    if (candidate == device)
      info.ordinal = i;
  }
  char name[256] = {};
  check(a.deviceGetName(name, sizeof(name) - 1, device), "cuDeviceGetName");
  info.name = name;
  auto attribute = [&](CUdevice_attribute which) {
    int value = 0;
    check(a.deviceGetAttribute(&value, which, device), "cuDeviceGetAttribute");
    return value;
  };
  info.ccMajor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
  info.ccMinor = attribute(CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
  info.smCount = attribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
  info.maxSharedPerBlockOptin = attribute(CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
  return info;
}

// Entries are never removed, so references to them stay valid.
const DeviceInfo &deviceInfo(CUdevice device) {
  static std::mutex mutex;
  static std::map<CUdevice, DeviceInfo> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(device);
  if (it == cache.end())
    it = cache.emplace(device, queryDevice(device)).first;
  return it->second;
}

} // namespace

int deviceCount() {
  int count = 0;
  check(api().deviceGetCount(&count), "cuDeviceGetCount");
  return count;
}

bool driverAvailable() {
  try {
    return driverState().available;
  } catch (...) {
    return false;
  }
}

const char *driverUnavailableReason() { return driverState().unavailableReason.c_str(); }

CUcontext currentContext() {
  CUcontext context = nullptr;
  check(api().ctxGetCurrent(&context), "cuCtxGetCurrent");
  return context ? context : makePrimaryContextCurrent(gDefaultDevice);
}

CUcontext currentContextOrNull() {
  CUcontext context = nullptr;
  check(api().ctxGetCurrent(&context), "cuCtxGetCurrent");
  return context;
}

const DeviceInfo &currentDevice() {
  currentContext();
  CUdevice device;
  check(api().ctxGetDevice(&device), "cuCtxGetDevice");
  return deviceInfo(device);
}

void setDevice(int ordinal) {
  int count = deviceCount();
  if (ordinal < 0 || ordinal >= count)
    throw GpuError(CUDA_ERROR_INVALID_DEVICE, "setDevice(" + std::to_string(ordinal) + "): there are " +
                                                  std::to_string(count) + " CUDA devices");
  makePrimaryContextCurrent(ordinal);
  gDefaultDevice = ordinal;
}

std::shared_ptr<GpuModule> GpuModule::load(const void *image, size_t size, bool isPTX) {
  const Api &a = api();
  CUcontext context = currentContext();
  const DeviceInfo &device = currentDevice();
  if (!image || size == 0)
    throw GpuError(CUDA_ERROR_INVALID_IMAGE, "GpuModule::load: empty image");
  CUmodule module = nullptr;
  std::string infoLog;
  if (!isPTX) {
    check(a.moduleLoadData(&module, image), "cuModuleLoadData");
  } else {
    // The driver reads PTX as a C string.
    std::string ptx(static_cast<const char *>(image), size);
    std::vector<char> errors(32 * 1024, '\0'), info(32 * 1024, '\0');
    CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES, CU_JIT_INFO_LOG_BUFFER,
                              CU_JIT_INFO_LOG_BUFFER_SIZE_BYTES};
    void *values[] = {errors.data(), reinterpret_cast<void *>(uintptr_t(errors.size() - 1)), info.data(),
                      reinterpret_cast<void *>(uintptr_t(info.size() - 1))};
    CUresult result = a.moduleLoadDataEx(&module, ptx.c_str(), 4, options, values);
    if (result != CUDA_SUCCESS) {
      std::string message = describe(result, "cuModuleLoadDataEx", a);
      if (errors[0])
        message += ":\n" + std::string(errors.data());
      throw GpuError(result, message);
    }
    infoLog = info.data();
  }
  return std::shared_ptr<GpuModule>(new GpuModule(module, context, &device, std::move(infoLog)));
}

GpuModule::~GpuModule() {
  if (gExiting)
    return;
  const Api &a = driverState().api;
  // Pushing fails when the context was destroyed (with its modules).
  if (a.ctxPushCurrent(context_) != CUDA_SUCCESS)
    return;
  a.moduleUnload(module_);
  CUcontext popped;
  a.ctxPopCurrent(&popped);
}

CUfunction GpuModule::function(const std::string &name) {
  CUfunction function = nullptr;
  check(api().moduleGetFunction(&function, module_, name.c_str()), "cuModuleGetFunction(\"" + name + "\")");
  return function;
}

void GpuModule::setDynamicSharedMemory(CUfunction f, int bytes) {
  if (bytes <= kDefaultSharedLimit)
    return;
  const Api &a = api();
  int staticBytes = 0;
  check(a.funcGetAttribute(&staticBytes, CU_FUNC_ATTRIBUTE_SHARED_SIZE_BYTES, f), "cuFuncGetAttribute");
  size_t total = size_t(staticBytes) + size_t(bytes);
  if (total > device_->maxSharedPerBlockOptin)
    throw GpuError(CUDA_ERROR_INVALID_VALUE,
                   "kernel needs " + std::to_string(total) + " bytes of shared memory per block (" +
                       std::to_string(staticBytes) + " static + " + std::to_string(bytes) + " dynamic), but " +
                       device_->name + " allows at most " + std::to_string(device_->maxSharedPerBlockOptin));
  check(a.funcSetAttribute(f, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, bytes),
        "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
}

bool encodeTensorMapTiled(void *out, int dataType, unsigned rank, const void *address, const uint64_t *dims,
                          const uint64_t *strideBytes, const uint32_t *box, int swizzleBytes) {
  const Api &a = api();
  if (!a.tensorMapEncodeTiled)
    return false;
  CUtensorMapSwizzle swizzle = swizzleBytes == 128  ? CU_TENSOR_MAP_SWIZZLE_128B
                               : swizzleBytes == 64 ? CU_TENSOR_MAP_SWIZZLE_64B
                               : swizzleBytes == 32 ? CU_TENSOR_MAP_SWIZZLE_32B
                                                    : CU_TENSOR_MAP_SWIZZLE_NONE;
  cuuint32_t elementStrides[5] = {1, 1, 1, 1, 1};
  return a.tensorMapEncodeTiled(static_cast<CUtensorMap *>(out), static_cast<CUtensorMapDataType>(dataType), rank,
                                const_cast<void *>(address), dims, strideBytes, box, elementStrides,
                                CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_256B,
                                CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE) == CUDA_SUCCESS;
}

int maxActiveBlocksPerSM(CUfunction f, unsigned blockThreads, unsigned dynamicSharedBytes) {
  int blocks = 0;
  check(api().occupancyMaxActiveBlocksPerMultiprocessor(&blocks, f, int(blockThreads), dynamicSharedBytes),
        "cuOccupancyMaxActiveBlocksPerMultiprocessor");
  return blocks;
}

void launch(CUfunction f, std::array<unsigned, 3> grid, std::array<unsigned, 3> block, unsigned sharedBytes,
            CUstream stream, void **params) {
  const Api &a = api();
  if (grid[0] == 0 || grid[1] == 0 || grid[2] == 0)
    return;
  CUlaunchConfig config{};
  config.gridDimX = grid[0];
  config.gridDimY = grid[1];
  config.gridDimZ = grid[2];
  config.blockDimX = block[0];
  config.blockDimY = block[1];
  config.blockDimZ = block[2];
  config.sharedMemBytes = sharedBytes;
  config.hStream = stream;
  check(a.launchKernelEx(&config, f, params, nullptr), "cuLaunchKernelEx");
}

CUdeviceptr deviceAlloc(size_t bytes) {
  currentContext();
  if (bytes == 0)
    return 0;
  CUdeviceptr ptr = 0;
  check(api().memAlloc(&ptr, bytes), "cuMemAlloc(" + std::to_string(bytes) + " bytes)");
  return ptr;
}

void deviceFree(CUdeviceptr ptr) {
  if (ptr)
    check(api().memFree(ptr), "cuMemFree");
}

CUdeviceptr deviceAllocOnStream(size_t bytes, CUstream stream) {
  currentContext();
  if (bytes == 0)
    return 0;
  CUdeviceptr ptr = 0;
  check(api().memAllocAsync(&ptr, bytes, stream), "cuMemAllocAsync(" + std::to_string(bytes) + " bytes)");
  return ptr;
}

void deviceFreeOnStream(CUdeviceptr ptr, CUstream stream) {
  if (ptr)
    check(api().memFreeAsync(ptr, stream), "cuMemFreeAsync");
}

void copyToDevice(CUdeviceptr dst, const void *src, size_t bytes) {
  if (bytes)
    check(api().memcpyHtoD(dst, src, bytes), "cuMemcpyHtoD");
}

void copyToHost(void *dst, CUdeviceptr src, size_t bytes) {
  if (bytes)
    check(api().memcpyDtoH(dst, src, bytes), "cuMemcpyDtoH");
}

void synchronize() {
  currentContext();
  check(api().ctxSynchronize(), "cuCtxSynchronize");
}

void synchronize(CUstream stream) { check(api().streamSynchronize(stream), "cuStreamSynchronize"); }

GpuEvent::GpuEvent() {
  currentContext();
  check(api().eventCreate(&event_, CU_EVENT_DEFAULT), "cuEventCreate");
}

GpuEvent::~GpuEvent() {
  if (!gExiting)
    driverState().api.eventDestroy(event_);
}

void GpuEvent::record(CUstream stream) { check(api().eventRecord(event_, stream), "cuEventRecord"); }

float elapsedMs(const GpuEvent &start, const GpuEvent &end) {
  const Api &a = api();
  check(a.eventSynchronize(end.get()), "cuEventSynchronize");
  float ms = 0;
  check(a.eventElapsedTime(&ms, start.get(), end.get()), "cuEventElapsedTime");
  return ms;
}

} // namespace terrazzo::gpu
