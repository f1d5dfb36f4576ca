// TensorArg: memory span and conversion to a kernel argument.
#include "terrazzo/ops/TensorArg.h"

#include <stdexcept>

namespace terrazzo::ops {

size_t dtypeBytes(const std::string &dtype) {
  if (dtype == "float16" || dtype == "bfloat16" || dtype == "int16") return 2;
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "float64" || dtype == "int64") return 8;
  if (dtype == "int8" || dtype == "int1") return 1;
  return 0;
}

size_t TensorArg::spanBytes() const {
  uint64_t last = 0;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 0)
      return 0;
    last += (uint64_t)(shape[d] - 1) * (uint64_t)strides[d];
  }
  return (last + 1) * dtypeBytes(dtype);
}

HostValue TensorArg::pointer() const {
  if (device == Device::Cuda)
    return HostValue::devicePointer(dtype, data, spanBytes(), deviceIndex);
  return HostValue::pointer(dtype, data, spanBytes());
}

} // namespace terrazzo::ops
