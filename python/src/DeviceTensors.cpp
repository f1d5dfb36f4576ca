#include "DeviceTensors.h"

#include <cstdint>
#include <string>
#include <unordered_map>

namespace py = pybind11;

namespace terrazzo::python {

namespace {
// torch dtype object -> our dtype name, learned once per dtype object.
const std::string &torchDtypeName(const py::handle &dtype) {
  static auto *names = new std::unordered_map<PyObject *, std::string>();
  auto it = names->find(dtype.ptr());
  if (it != names->end())
    return it->second;
  std::string name = py::str(dtype).cast<std::string>(); // "torch.float32"
  if (name.rfind("torch.", 0) == 0)
    name = name.substr(6);
  if (name == "bool")
    name = "int1";
  dtype.inc_ref(); // keep the key alive: dtype objects are singletons anyway
  return names->emplace(dtype.ptr(), name).first->second;
}

// "<f4" and friends (the array interface's typestr) -> dtype name.
std::string typestrName(const std::string &t) {
  if (t.size() < 3)
    return t;
  char kind = t[1];
  int bytes = std::stoi(t.substr(2));
  if (kind == 'f')
    return "float" + std::to_string(bytes * 8);
  if (kind == 'i')
    return "int" + std::to_string(bytes * 8);
  if (kind == 'u')
    return "uint" + std::to_string(bytes * 8);
  if (kind == 'b')
    return "int1";
  return t;
}

} // namespace

bool isTorchTensor(const py::handle &obj) {
  // torch.Tensor, looked up once torch has been imported (not before: a
  // launch may come before the caller imports torch).
  static PyObject *tensorType = nullptr;
  if (!tensorType) {
    // sys.modules is one dict for the life of the interpreter.
    static PyObject *modules = py::object(py::module_::import("sys").attr("modules")).release().ptr();
    PyObject *torch = PyDict_GetItemString(modules, "torch"); // borrowed
    if (!torch)
      return false;
    tensorType = py::object(py::reinterpret_borrow<py::object>(torch).attr("Tensor")).release().ptr();
  }
  return PyObject_IsInstance(obj.ptr(), tensorType) == 1;
}

namespace {
// Attribute and method names as interned strings made once (obj.attr("x")
// builds a new string on every call, four times per tensor and launch). They
// are never freed: they must outlive the interpreter's last launch.
PyObject *interned(const char *name) { return PyUnicode_InternFromString(name); }

py::object attribute(const py::handle &obj, PyObject *name) {
  PyObject *r = PyObject_GetAttr(obj.ptr(), name);
  if (!r)
    throw py::error_already_set();
  return py::reinterpret_steal<py::object>(r);
}

py::object callMethod(const py::handle &obj, PyObject *name) {
  PyObject *r = PyObject_CallMethodNoArgs(obj.ptr(), name);
  if (!r)
    throw py::error_already_set();
  return py::reinterpret_steal<py::object>(r);
}
} // namespace

std::optional<HostValue> fromDeviceTensor(const py::handle &obj) {
  if (isTorchTensor(obj)) {
    static PyObject *isCuda = interned("is_cuda"), *getDevice = interned("get_device"),
                    *dataPtr = interned("data_ptr"), *dtype = interned("dtype");
    if (!attribute(obj, isCuda).cast<bool>())
      return std::nullopt;
    int index = callMethod(obj, getDevice).cast<int>(); // the CUDA ordinal
    auto ptr = callMethod(obj, dataPtr).cast<uintptr_t>();
    return HostValue::devicePointer(torchDtypeName(attribute(obj, dtype)), reinterpret_cast<void *>(ptr), 0, index);
  }
  if (py::hasattr(obj, "__cuda_array_interface__")) {
    py::dict cai = obj.attr("__cuda_array_interface__");
    auto data = cai["data"].cast<py::tuple>();
    auto ptr = data[0].cast<uintptr_t>();
    if (cai.contains("strides") && !cai["strides"].is_none())
      for (auto s : cai["strides"])
        if (s.cast<int64_t>() < 0)
          throw py::value_error("GPU arrays with negative strides are not supported; pass a copy");
    // The interface names no device: the array is on the current one.
    return HostValue::devicePointer(typestrName(cai["typestr"].cast<std::string>()), reinterpret_cast<void *>(ptr),
                                    0, -2);
  }
  return std::nullopt;
}

void *currentTorchStream(int device) {
  // Looked up once; torch._C._cuda_getCurrentRawStream is a plain C call.
  static PyObject *getStream = []() -> PyObject * {
    py::object sys = py::module_::import("sys");
    py::object modules = sys.attr("modules");
    if (!modules.contains("torch"))
      return nullptr;
    py::object c = modules["torch"].attr("_C");
    if (!py::hasattr(c, "_cuda_getCurrentRawStream"))
      return nullptr;
    return py::object(c.attr("_cuda_getCurrentRawStream")).release().ptr();
  }();
  if (!getStream)
    return nullptr;
  py::object s = py::reinterpret_borrow<py::object>(getStream)(device);
  return reinterpret_cast<void *>(s.cast<uintptr_t>());
}

} // namespace terrazzo::python
