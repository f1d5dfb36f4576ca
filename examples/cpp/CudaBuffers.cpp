// The handful of CUDA driver entry points the example needs, resolved with
// dlsym. Signatures follow the driver API (CUdeviceptr is a 64-bit integer).
#include "CudaBuffers.h"

#include <dlfcn.h>

#include <cstdint>
#include <stdexcept>

namespace example {
namespace {
using CUresult = int;
using CUdevice = int;
using CUcontext = void *;
using CUdeviceptr = unsigned long long;

struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*ctxSynchronize)();
} driver;

void check(CUresult result, const char *what) {
  if (result != 0)
    throw std::runtime_error(std::string(what) + " failed with CUDA error " + std::to_string(result));
}

template <typename F> bool resolve(void *library, const char *name, F &fn) {
  fn = reinterpret_cast<F>(dlsym(library, name));
  return fn != nullptr;
}
} // namespace

bool initCuda(std::string &why) {
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    why = "libcuda.so.1 not found";
    return false;
  }
  if (!resolve(library, "cuInit", driver.init) || !resolve(library, "cuDeviceGet", driver.deviceGet) ||
      !resolve(library, "cuDevicePrimaryCtxRetain", driver.primaryCtxRetain) ||
      !resolve(library, "cuCtxSetCurrent", driver.ctxSetCurrent) ||
      !resolve(library, "cuMemAlloc_v2", driver.memAlloc) || !resolve(library, "cuMemFree_v2", driver.memFree) ||
      !resolve(library, "cuMemcpyHtoD_v2", driver.memcpyHtoD) ||
      !resolve(library, "cuMemcpyDtoH_v2", driver.memcpyDtoH) ||
      !resolve(library, "cuCtxSynchronize", driver.ctxSynchronize)) {
    why = "the CUDA driver lacks an entry point the example needs";
    return false;
  }
  CUdevice device;
  CUcontext context;
  if (driver.init(0) != 0 || driver.deviceGet(&device, 0) != 0 || driver.primaryCtxRetain(&context, device) != 0 ||
      driver.ctxSetCurrent(context) != 0) {
    why = "no usable GPU (cuInit / device 0 failed)";
    return false;
  }
  return true;
}

void *deviceAlloc(size_t bytes) {
  CUdeviceptr ptr = 0;
  check(driver.memAlloc(&ptr, bytes), "cuMemAlloc");
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

void deviceFree(void *ptr) { driver.memFree(reinterpret_cast<uintptr_t>(ptr)); }

void copyToDevice(void *dst, const void *src, size_t bytes) {
  check(driver.memcpyHtoD(reinterpret_cast<uintptr_t>(dst), src, bytes), "cuMemcpyHtoD");
}

void copyToHost(void *dst, const void *src, size_t bytes) {
  check(driver.memcpyDtoH(dst, reinterpret_cast<uintptr_t>(src), bytes), "cuMemcpyDtoH");
}

void deviceSynchronize() { check(driver.ctxSynchronize(), "cuCtxSynchronize"); }

} // namespace example
