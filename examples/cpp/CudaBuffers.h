// Device memory for the example's --gpu mode, through the CUDA driver API
// loaded at run time (libcuda.so.1), so the example builds without a CUDA
// toolkit and runs on machines without a GPU.
#pragma once

#include <cstddef>
#include <string>

namespace example {

// Makes device 0's primary context current (the one libterrazzo launches
// in). False, with the reason in `why`, when there is no usable driver.
bool initCuda(std::string &why);

void *deviceAlloc(size_t bytes);
void deviceFree(void *ptr);
void copyToDevice(void *dst, const void *src, size_t bytes);
void copyToHost(void *dst, const void *src, size_t bytes);
void deviceSynchronize();

} // namespace example
