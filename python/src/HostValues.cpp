// Python object -> HostValue, and the resolver over a function's globals.
#include "HostValues.h"
#include "DLPack.h"
#include "DeviceTensors.h"

#include <pybind11/numpy.h>

#include <unordered_map>

namespace py = pybind11;

namespace terrazzo::python {

namespace {
// "argument 'x'" (or "an array argument" when the name is not known).
std::string describe(const std::string &argName) {
  return argName.empty() ? "an array argument" : "argument '" + argName + "'";
}

std::string tupleText(const py::ssize_t *values, py::ssize_t n) {
  std::string text = "(";
  for (py::ssize_t d = 0; d < n; ++d)
    text += (d ? ", " : "") + std::to_string(values[d]);
  return text + (n == 1 ? ",)" : ")");
}

// Bytes spanned by a strided array, measured from its data pointer; negative
// strides are rejected since the kernel addresses memory from the base.
size_t spannedBytes(const py::array &a, const std::string &argName) {
  if (a.size() == 0)
    return 0;
  size_t last = 0;
  for (py::ssize_t d = 0; d < a.ndim(); ++d) {
    if (a.strides(d) < 0)
      throw py::value_error(describe(argName) + " has a negative stride; pass a copy");
    last += (a.shape(d) - 1) * a.strides(d);
  }
  return last + a.itemsize();
}

// Row-major contiguous, ignoring the strides of dimensions of size 1 (which
// are never stepped along).
bool rowMajor(const py::array &a) {
  py::ssize_t expected = a.itemsize();
  for (py::ssize_t d = a.ndim(); d-- > 0;) {
    if (a.shape(d) != 1 && a.strides(d) != expected)
      return a.size() == 0;
    expected *= a.shape(d);
  }
  return true;
}


// numpy's str(dtype) runs Python code (a few microseconds per array and
// launch), so names are remembered per dtype object. Dtype objects of the
// built-in types are singletons; the cache keeps a reference to each key (so
// an address is never reused) and stops growing past a few dozen entries.
std::string dtypeName(const py::array &a) {
  static auto *names = new std::unordered_map<PyObject *, std::string>();
  py::dtype dtype = a.dtype();
  auto it = names->find(dtype.ptr());
  if (it != names->end())
    return it->second;
  std::string name = py::str(dtype).cast<std::string>();
  if (name == "bool")
    name = "int1";
  if (names->size() < 64) {
    dtype.inc_ref();
    names->emplace(dtype.ptr(), name);
  }
  return name;
}

// A numpy array as a pointer argument. A kernel reaches the memory of a
// pointer from its first element, so an array that is not row-major
// contiguous would be read in memory order rather than index order; unless
// the caller says the kernel indexes it with its strides (tz.strided), it is
// refused rather than silently misread.
HostValue arrayPointer(const py::array &a, const std::string &argName, bool strided) {
  HostValue h = HostValue::pointer(dtypeName(a), const_cast<void *>(a.data()), spannedBytes(a, argName));
  h.readOnly = !a.writeable();
  if (rowMajor(a))
    return h;
  if (!strided)
    throw py::value_error(
        describe(argName) + " is not a C-contiguous array (shape " + tupleText(a.shape(), a.ndim()) +
        ", strides " + tupleText(a.strides(), a.ndim()) +
        " bytes): a kernel reads a pointer argument's memory from its first element in row-major order, so "
        "it would see the wrong elements. Pass np.ascontiguousarray(...), or tz.strided(...) if the kernel "
        "indexes it with its strides");
  h.itemBytes = a.itemsize();
  h.shape.assign(a.shape(), a.shape() + a.ndim());
  h.byteStrides.assign(a.strides(), a.strides() + a.ndim());
  return h;
}
} // namespace

HostValue toHostValue(const py::handle &obj, std::vector<py::object> *keepAlive, const std::string &argName) {
  if (obj.is_none())
    return HostValue::none();
  if (py::isinstance<py::bool_>(obj))
    return HostValue::boolean(obj.cast<bool>());
  if (py::isinstance<py::int_>(obj)) {
    try {
      return HostValue::integer(obj.cast<int64_t>());
    } catch (const py::cast_error &) {
      throw py::value_error("integer argument does not fit in 64 bits");
    }
  }
  if (py::isinstance<py::float_>(obj))
    return HostValue::floating(obj.cast<double>());
  // The common launch arguments first: every failed attribute probe below
  // costs a Python exception.
  if (py::isinstance<py::str>(obj))
    return HostValue::string(obj.cast<std::string>());
  if (py::isinstance<py::array>(obj))
    return arrayPointer(py::reinterpret_borrow<py::array>(obj), argName, false);
  bool torchTensor = isTorchTensor(obj);
  if (torchTensor)
    if (auto device = fromDeviceTensor(obj))
      return *device;
  // Objects of the terrazzo package identify themselves through a marker
  // attribute rather than an import of the package from C++. Checked before
  // the numpy-scalar probe: a module with a __getattr__ (libdevice) answers
  // every probe.
  if (!torchTensor && py::hasattr(obj, "__terrazzo_kind__")) {
    std::string kind = obj.attr("__terrazzo_kind__").cast<std::string>();
    if (kind == "dtype")
      return HostValue::dtype(obj.attr("name").cast<std::string>());
    if (kind == "constexpr")
      return toHostValue(obj.attr("value"), keepAlive, argName);
    if (kind == "strided") {
      py::object inner = obj.attr("array");
      if (py::isinstance<py::array>(inner))
        return arrayPointer(py::reinterpret_borrow<py::array>(inner), argName, true);
      if (keepAlive && hasDLPack(inner))
        return fromDLPack(inner, *keepAlive, argName, true);
      if (auto device = fromDeviceTensor(inner))
        return *device; // GPU tensors are passed by data pointer whatever their strides
      throw py::type_error("tz.strided wraps an array or tensor; " + describe(argName) + " is a " +
                           py::str(py::type::handle_of(inner).attr("__name__")).cast<std::string>());
    }
    if (kind == "jit")
      return obj.attr("_kernel").cast<std::shared_ptr<Kernel>>()->asValue();
    if (kind == "module")
      return HostValue::terrazzoModule();
  }
  // numpy scalars (np.int64, np.float32, np.bool_) behave like Python numbers.
  if (py::hasattr(obj, "dtype") && py::hasattr(obj, "item") && py::hasattr(obj, "ndim") &&
      obj.attr("ndim").cast<int>() == 0 && !py::hasattr(obj, "__dlpack_device__"))
    return toHostValue(obj.attr("item")(), keepAlive, argName);
  if (py::isinstance<py::module_>(obj)) {
    std::string name = obj.attr("__name__").cast<std::string>();
    if (name == "terrazzo" || name == "terrazzo.language" || name == "triton.language")
      return HostValue::terrazzoModule();
  }
  if (!torchTensor)
    if (auto device = fromDeviceTensor(obj))
      return *device;
  if (keepAlive && hasDLPack(obj))
    return fromDLPack(obj, *keepAlive, argName, false);
  return HostValue::unsupported(py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>());
}

namespace {
class PythonResolver : public Resolver {
public:
  explicit PythonResolver(py::object lookup) : lookup_(std::move(lookup)) {}
  ~PythonResolver() override {
    py::gil_scoped_acquire gil;
    lookup_ = py::object();
  }
  std::optional<HostValue> lookup(const std::string &name) const override {
    py::gil_scoped_acquire gil;
    py::object found = lookup_(name);
    if (found.is_none())
      return std::nullopt;
    // The lookup returns a 1-tuple so that a global set to None is found.
    return toHostValue(found.cast<py::tuple>()[0]);
  }

  // The owner's _locate(name): (dict, name), (cell, None) or None.
  GlobalPlace locate(const std::string &name, py::object &container, py::object &key) const {
    py::object owner = py::getattr(lookup_, "__self__", py::none());
    if (owner.is_none() || !py::hasattr(owner, "_locate"))
      return GlobalPlace::Unknown;
    py::object where = owner.attr("_locate")(name);
    if (!py::isinstance<py::tuple>(where) || py::len(where) != 2)
      return GlobalPlace::Unknown;
    container = where.cast<py::tuple>()[0];
    key = where.cast<py::tuple>()[1];
    return GlobalPlace::Found;
  }

private:
  py::object lookup_;
};
} // namespace

GlobalPlace locateGlobal(const Resolver &resolver, const std::string &name, py::object &container, py::object &key) {
  if (auto *python = dynamic_cast<const PythonResolver *>(&resolver))
    return python->locate(name, container, key);
  return GlobalPlace::Constant;
}

std::shared_ptr<const Resolver> makePythonResolver(py::object lookup) {
  return std::make_shared<PythonResolver>(std::move(lookup));
}

} // namespace terrazzo::python
