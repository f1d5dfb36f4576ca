#include "LaunchPlans.h"
#include "HostValues.h"

#include <cstring>

namespace py = pybind11;

namespace terrazzo::python {

namespace {
PyObject *interned(const char *name) { return PyUnicode_InternFromString(name); }
} // namespace

bool identitySafe(PyObject *o, int depth) {
  if (o == Py_None || PyLong_CheckExact(o) || PyBool_Check(o) || PyFloat_CheckExact(o) || PyUnicode_CheckExact(o) ||
      PyModule_Check(o))
    return true;
  static PyObject *kindName = interned("__terrazzo_kind__"), *valueName = interned("value");
  PyObject *kind = PyObject_GetAttr(o, kindName);
  if (!kind) {
    PyErr_Clear();
    return false;
  }
  bool safe = false;
  if (PyUnicode_Check(kind)) {
    const char *k = PyUnicode_AsUTF8(kind);
    if (k && (!std::strcmp(k, "dtype") || !std::strcmp(k, "jit") || !std::strcmp(k, "module"))) {
      safe = true;
    } else if (k && !std::strcmp(k, "constexpr") && depth == 0) {
      // tz.constexpr(128) at module level: its value is set once.
      PyObject *value = PyObject_GetAttr(o, valueName);
      safe = value && identitySafe(value, 1);
      Py_XDECREF(value);
    }
  }
  Py_DECREF(kind);
  PyErr_Clear();
  return safe;
}

bool buildProbes(const std::vector<std::pair<std::shared_ptr<const Resolver>, std::string>> &deps,
                 std::vector<Probe> &probes) {
  for (const auto &[resolver, name] : deps) {
    Probe p;
    switch (locateGlobal(*resolver, name, p.container, p.key)) {
    case GlobalPlace::Constant:
      continue;
    case GlobalPlace::Unknown:
      return false;
    case GlobalPlace::Found:
      break;
    }
    PyObject *now = nullptr;
    if (p.key.is_none() && PyCell_Check(p.container.ptr()))
      now = PyCell_GET(p.container.ptr());
    else if (!p.key.is_none() && PyDict_Check(p.container.ptr()))
      now = PyDict_GetItemWithError(p.container.ptr(), p.key.ptr());
    if (!now) {
      PyErr_Clear();
      return false;
    }
    if (!identitySafe(now))
      return false;
    p.expected = py::reinterpret_borrow<py::object>(now);
    probes.push_back(std::move(p));
  }
  return true;
}

} // namespace terrazzo::python
