#include "TensorReader.h"

#include "terrazzo/Terrazzo.h"

#include <algorithm>

namespace terrazzo::python {

namespace {
PyObject *interned(const char *name) { return PyUnicode_InternFromString(name); }

// Returns a new reference to `type.name`, or null (error cleared).
PyObject *typeAttribute(PyObject *type, const char *name) {
  PyObject *r = PyObject_GetAttrString(type, name);
  if (!r)
    PyErr_Clear();
  return r;
}
} // namespace

TensorReader &TensorReader::get() {
  static TensorReader *reader = new TensorReader(); // never destroyed: used until the interpreter exits
  return *reader;
}

void TensorReader::lookUpTorch() {
  PyObject *modules = PySys_GetObject("modules"); // borrowed
  PyObject *torch = modules ? PyDict_GetItemString(modules, "torch") : nullptr;
  if (!torch)
    return; // not imported yet: a later call looks again
  torchFound_ = true;
  PyObject *tensor = typeAttribute(torch, "Tensor");
  PyObject *c = typeAttribute(torch, "_C");
  PyObject *base = c ? typeAttribute(c, "TensorBase") : nullptr;
  if (!base && c)
    base = typeAttribute(c, "_TensorBase"); // older torch
  PyObject *nn = typeAttribute(torch, "nn");
  PyObject *parameter = nn ? typeAttribute(nn, "Parameter") : nullptr;
  if (tensor && base && PyType_Check(base)) {
    // Looked up on the class: a descriptor fetched from its class is the
    // descriptor itself (new references, released below).
    PyObject *dataPtr = typeAttribute(base, "data_ptr");
    PyObject *dtype = typeAttribute(base, "dtype");
    PyObject *isCuda = typeAttribute(base, "is_cuda");
    bool shapes = dataPtr && Py_IS_TYPE(dataPtr, &PyMethodDescr_Type) &&
                  (reinterpret_cast<PyMethodDescrObject *>(dataPtr)->d_method->ml_flags &
                   (METH_NOARGS | METH_VARARGS | METH_KEYWORDS | METH_O | METH_FASTCALL)) == METH_NOARGS &&
                  dtype && Py_IS_TYPE(dtype, &PyGetSetDescr_Type) && isCuda && Py_IS_TYPE(isCuda, &PyGetSetDescr_Type);
    if (shapes) {
      // A type is read directly only if it inherits these very descriptors
      // (a Python override would be skipped otherwise).
      auto inherits = [&](PyObject *type) {
        for (auto [name, descr] : {std::pair{"data_ptr", dataPtr}, {"dtype", dtype}, {"is_cuda", isCuda}}) {
          PyObject *found = typeAttribute(type, name);
          bool same = found == descr;
          Py_XDECREF(found);
          if (!same)
            return false;
        }
        return true;
      };
      for (PyObject *type : {tensor, parameter})
        if (type && PyType_Check(type) && inherits(type)) {
          Py_INCREF(type); // kept for the life of the process
          torchTypes_.push_back(reinterpret_cast<PyTypeObject *>(type));
        }
      auto *method = reinterpret_cast<PyMethodDescrObject *>(dataPtr);
      dataPtr_ = method->d_method->ml_meth;
      dtype_ = reinterpret_cast<PyGetSetDescrObject *>(dtype)->d_getset->get;
      dtypeClosure_ = reinterpret_cast<PyGetSetDescrObject *>(dtype)->d_getset->closure;
      isCuda_ = reinterpret_cast<PyGetSetDescrObject *>(isCuda)->d_getset->get;
      isCudaClosure_ = reinterpret_cast<PyGetSetDescrObject *>(isCuda)->d_getset->closure;
    }
    // The descriptors stay alive with TensorBase (held through torchTypes_).
    Py_XDECREF(dataPtr);
    Py_XDECREF(dtype);
    Py_XDECREF(isCuda);
  }
  Py_XDECREF(tensor);
  Py_XDECREF(c);
  Py_XDECREF(base);
  Py_XDECREF(nn);
  Py_XDECREF(parameter);
  // With one device every CUDA tensor is on device 0 (torch and the driver
  // see the same CUDA_VISIBLE_DEVICES); with several, each tensor is asked.
  try {
    if (gpuAvailable() && gpuDeviceCount() == 1)
      deviceCount_ = 1;
  } catch (...) {
  }
}

bool TensorReader::reads(PyTypeObject *type) {
  if (!torchFound_)
    lookUpTorch();
  return std::find(torchTypes_.begin(), torchTypes_.end(), type) != torchTypes_.end() ||
         std::find(genericTypes_.begin(), genericTypes_.end(), type) != genericTypes_.end();
}

PyObject *TensorReader::describe() {
  if (!torchFound_)
    lookUpTorch();
  PyObject *types = PyList_New(0);
  if (!types)
    return nullptr;
  for (PyTypeObject *t : torchTypes_) {
    PyObject *name = PyUnicode_FromString(t->tp_name);
    if (!name || PyList_Append(types, name) < 0) {
      Py_XDECREF(name);
      Py_DECREF(types);
      return nullptr;
    }
    Py_DECREF(name);
  }
  return Py_BuildValue("{s:O,s:N,s:i,s:O}", "torch_found", torchFound_ ? Py_True : Py_False, "direct_types", types,
                       "device_count", deviceCount_, "direct_calls", dataPtr_ ? Py_True : Py_False);
}

void TensorReader::addGenericType(PyTypeObject *type) {
  Py_INCREF(type);
  genericTypes_.push_back(type);
}

namespace {
// The device ordinal of `obj` through obj.get_device() (-1 on CPU).
bool askDevice(PyObject *obj, int &device) {
  static PyObject *getDevice = interned("get_device");
  PyObject *r = PyObject_CallMethodNoArgs(obj, getDevice);
  if (!r || !PyLong_CheckExact(r)) {
    Py_XDECREF(r);
    PyErr_Clear();
    return false;
  }
  device = static_cast<int>(PyLong_AsLong(r));
  Py_DECREF(r);
  return !PyErr_Occurred() || (PyErr_Clear(), false);
}

bool unsignedValue(PyObject *r, uint64_t &out) {
  if (!r || !PyLong_CheckExact(r)) {
    Py_XDECREF(r);
    PyErr_Clear();
    return false;
  }
  out = PyLong_AsUnsignedLongLong(r);
  Py_DECREF(r);
  if (PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  return true;
}
} // namespace

bool TensorReader::read(PyObject *obj, TensorFacts &facts) {
  if (std::find(torchTypes_.begin(), torchTypes_.end(), Py_TYPE(obj)) == torchTypes_.end())
    return readGeneric(obj, facts);
  PyObject *cuda = isCuda_(obj, isCudaClosure_);
  if (cuda != Py_True) { // False (a CPU tensor: the interpreter's business) or an error
    Py_XDECREF(cuda);
    PyErr_Clear();
    return false;
  }
  Py_DECREF(cuda);
  PyObject *dtype = dtype_(obj, dtypeClosure_);
  if (!dtype) {
    PyErr_Clear();
    return false;
  }
  facts.dtype = dtype;
  Py_DECREF(dtype); // torch's dtype objects are singletons that torch keeps alive
  if (!unsignedValue(dataPtr_(obj, nullptr), facts.data))
    return false;
  if (deviceCount_ == 1) {
    facts.device = 0;
    return true;
  }
  return askDevice(obj, facts.device);
}

bool TensorReader::readGeneric(PyObject *obj, TensorFacts &facts) {
  static PyObject *isCuda = interned("is_cuda"), *dtype = interned("dtype"), *dataPtr = interned("data_ptr");
  PyObject *cuda = PyObject_GetAttr(obj, isCuda);
  int onGpu = cuda ? PyObject_IsTrue(cuda) : -1;
  Py_XDECREF(cuda);
  if (onGpu != 1) {
    PyErr_Clear();
    return false;
  }
  PyObject *d = PyObject_GetAttr(obj, dtype);
  if (!d) {
    PyErr_Clear();
    return false;
  }
  facts.dtype = d;
  Py_DECREF(d); // test dtypes are module-level objects
  return unsignedValue(PyObject_CallMethodNoArgs(obj, dataPtr), facts.data) && askDevice(obj, facts.device);
}

} // namespace terrazzo::python
