// DLPack import for kernel arguments.
#include "DLPack.h"

#include <pybind11/numpy.h>

#include <cstdint>

namespace py = pybind11;

namespace terrazzo::python {

namespace {
// DLPack ABI (dlpack.h, unversioned).
struct DLDevice {
  int32_t deviceType;
  int32_t deviceId;
};
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void *data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t *shape;
  int64_t *strides;
  uint64_t byteOffset;
};
struct DLManagedTensor {
  DLTensor tensor;
  void *managerContext;
  void (*deleter)(DLManagedTensor *);
};
enum : int32_t { kDLCPU = 1, kDLCUDAHost = 3 };
enum : uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLBfloat = 4, kDLBool = 6 };

std::string dtypeName(const DLDataType &t) {
  if (t.lanes != 1)
    throw py::type_error("vector dtypes (lanes != 1) cannot be kernel arguments");
  switch (t.code) {
  case kDLInt: return "int" + std::to_string(t.bits);
  case kDLUInt:
    if (t.bits == 8) return "int8"; // bytes: same bits, kernels choose the meaning
    break;
  case kDLFloat: return t.bits == 16 ? "float16" : t.bits == 32 ? "float32" : t.bits == 64 ? "float64" : "";
  case kDLBfloat: return t.bits == 16 ? "bfloat16" : "";
  case kDLBool: return "int1";
  }
  throw py::type_error("unsupported DLPack dtype (code " + std::to_string(t.code) + ", " +
                       std::to_string(t.bits) + " bits)");
}
} // namespace

bool hasDLPack(const py::handle &obj) {
  return !py::isinstance<py::array>(obj) && py::hasattr(obj, "__dlpack__");
}

HostValue fromDLPack(const py::handle &obj, std::vector<py::object> &keepAlive, const std::string &argName,
                     bool strided) {
  py::object capsule = obj.attr("__dlpack__")();
  auto *managed = static_cast<DLManagedTensor *>(PyCapsule_GetPointer(capsule.ptr(), "dltensor"));
  if (!managed)
    throw py::type_error("__dlpack__ did not return a 'dltensor' capsule");
  keepAlive.push_back(capsule); // the capsule's destructor calls the deleter
  const DLTensor &t = managed->tensor;
  if (t.device.deviceType != kDLCPU && t.device.deviceType != kDLCUDAHost)
    throw py::value_error("a tensor on device type " + std::to_string(t.device.deviceType) +
                          " was passed; the CPU interpreter needs host memory (call .cpu())");
  std::string dtype = dtypeName(t.dtype);
  size_t itemBytes = t.dtype.code == kDLBool ? 1 : t.dtype.bits / 8;
  int64_t elements = 1;
  uint64_t lastElement = 0;
  std::vector<int64_t> shape, elementStrides;
  for (int32_t d = 0; d < t.ndim; ++d) {
    elements *= t.shape[d];
    int64_t stride = t.strides ? t.strides[d] : 1;
    if (!t.strides) // compact row-major
      for (int32_t e = d + 1; e < t.ndim; ++e)
        stride *= t.shape[e];
    if (stride < 0)
      throw py::value_error("tensors with negative strides are not supported; pass a copy");
    if (t.shape[d] > 0)
      lastElement += (uint64_t)(t.shape[d] - 1) * stride;
    shape.push_back(t.shape[d]);
    elementStrides.push_back(stride);
  }
  size_t bytes = elements == 0 ? 0 : (lastElement + 1) * itemBytes;
  HostValue h = HostValue::pointer(dtype, static_cast<char *>(t.data) + t.byteOffset, bytes);
  // Row-major contiguous (size-1 dimensions never step, so their strides do
  // not matter)? Otherwise the kernel would misread it, as for numpy arrays.
  bool rowMajor = true;
  int64_t expected = 1;
  for (int32_t d = t.ndim; d-- > 0;) {
    if (shape[d] != 1 && elementStrides[d] != expected)
      rowMajor = false;
    expected *= shape[d];
  }
  if (rowMajor || elements == 0)
    return h;
  std::string what = argName.empty() ? "a tensor argument" : "argument '" + argName + "'";
  if (!strided)
    throw py::value_error(what + " is not a contiguous tensor: a kernel reads a pointer argument's memory from "
                                 "its first element in row-major order, so it would see the wrong elements. "
                                 "Pass .contiguous(), or tz.strided(...) if the kernel indexes it with its "
                                 "strides");
  h.itemBytes = itemBytes;
  h.shape = shape;
  for (int64_t s : elementStrides)
    h.byteStrides.push_back(s * static_cast<int64_t>(itemBytes));
  return h;
}

} // namespace terrazzo::python
