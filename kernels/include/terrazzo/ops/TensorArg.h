// How the kernel library's host wrappers receive tensors: a pointer, a dtype,
// logical shape and strides in elements, and where the memory lives.
#pragma once

#include "terrazzo/Terrazzo.h"

#include <cstdint>
#include <string>
#include <vector>

namespace terrazzo::ops {

struct TERRAZZO_API TensorArg {
  enum class Device { Host, Cuda };
  void *data = nullptr;
  std::string dtype;            // "float16", "bfloat16", "float32", "int32", ...
  std::vector<int64_t> shape;   // logical dimensions
  std::vector<int64_t> strides; // in elements, one per dimension
  Device device = Device::Host;
  int deviceIndex = 0;

  // Bytes from `data` to the end of the last element the strides reach.
  size_t spanBytes() const;
  // This tensor as a kernel pointer argument.
  HostValue pointer() const;
};

// Size in bytes of one element of a dtype name; 0 if unknown.
TERRAZZO_API size_t dtypeBytes(const std::string &dtype);

} // namespace terrazzo::ops
