#include "LaunchKey.h"
#include "TensorReader.h"

#include <climits>
#include <cstring>

namespace terrazzo::python {

namespace {
PyObject *interned(const char *name) { return PyUnicode_InternFromString(name); }

// The parameter `name` binds to, or -1. Keyword names from source code are
// interned like the parameter names, so the pointer test usually decides.
int paramIndex(const ParamTable &params, PyObject *name) {
  for (size_t i = 0; i < params.size(); ++i)
    if (params.names[i] == name)
      return static_cast<int>(i);
  for (size_t i = 0; i < params.size(); ++i)
    if (PyUnicode_Compare(params.names[i], name) == 0)
      return static_cast<int>(i);
  PyErr_Clear(); // a non-str keyword name cannot come through a call, but be safe
  return -1;
}

bool sameName(PyObject *name, PyObject *option) {
  return name == option || PyUnicode_Compare(name, option) == 0;
}

// An exact int (not bool) within `lo`..`hi`.
bool smallInt(PyObject *v, long lo, long hi, int &out) {
  if (!PyLong_CheckExact(v))
    return false;
  int overflow = 0;
  long x = PyLong_AsLongAndOverflow(v, &overflow);
  if (overflow || x < lo || x > hi || (x == -1 && PyErr_Occurred())) {
    PyErr_Clear();
    return false;
  }
  out = static_cast<int>(x);
  return true;
}

// A launch-option keyword that is not a parameter name. False: not one.
bool takeOption(PyObject *name, PyObject *value, LaunchCall &call, bool &ok) {
  static PyObject *numWarps = interned("num_warps"), *numStages = interned("num_stages"),
                  *minBlocks = interned("min_blocks_per_sm"), *stream = interned("stream"), *tma = interned("tma"),
                  *warpSpecialize = interned("warp_specialize"), *persistent = interned("persistent");
  // Options out of their valid ranges are keyed by no entry: the full path
  // reports them. 255 keeps each in its byte of the key.
  if (sameName(name, numWarps))
    ok = smallInt(value, 1, 255, call.numWarps);
  else if (sameName(name, numStages))
    ok = smallInt(value, 1, 255, call.numStages);
  else if (sameName(name, minBlocks))
    ok = smallInt(value, 0, 255, call.minBlocksPerSM);
  else if (sameName(name, tma)) {
    ok = value == Py_None || value == Py_True || value == Py_False;
    call.tma = value == Py_True ? 1 : value == Py_False ? 0 : -1;
  } else if (sameName(name, warpSpecialize)) {
    ok = value == Py_None || value == Py_True || value == Py_False;
    call.warpSpecialize = value == Py_True ? 1 : value == Py_False ? 0 : -1;
  } else if (sameName(name, persistent)) {
    ok = value == Py_None || value == Py_True || value == Py_False;
    call.persistent = value == Py_True ? 1 : value == Py_False ? 0 : -1;
  } else if (sameName(name, stream))
    call.stream = value == Py_None ? nullptr : value;
  else
    return false;
  return true;
}

uint64_t mix(uint64_t h, uint64_t w) {
  h ^= w + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  return h;
}

// The key words of one bound value. False: not keyable here.
bool keyValue(PyObject *v, bool constexprParam, LaunchCall &call, size_t i) {
  PyTypeObject *t = Py_TYPE(v);
  uint64_t tag, value = 0;
  if (t == &PyLong_Type) {
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow) // the full path says it does not fit in 64 bits
      return false;
    call.raw[i] = static_cast<uint64_t>(x);
    if (constexprParam) {
      tag = kConstInt;
      value = static_cast<uint64_t>(x);
    } else {
      bool one = x == 1, fits32 = x >= INT32_MIN && x <= INT32_MAX, div16 = x % 16 == 0;
      tag = kInt | uint64_t(one) << 8 | uint64_t(fits32) << 9 | uint64_t(div16) << 10;
    }
  } else if (t == &PyBool_Type) {
    call.raw[i] = v == Py_True;
    tag = constexprParam ? kConstBool : kBool;
    value = constexprParam ? call.raw[i] : 0;
  } else if (t == &PyFloat_Type) {
    double d = PyFloat_AS_DOUBLE(v);
    std::memcpy(&call.raw[i], &d, 8);
    tag = constexprParam ? kConstFloat : kFloat;
    value = constexprParam ? call.raw[i] : 0;
  } else if (v == Py_None) {
    tag = kNone;
  } else if (TensorReader::get().reads(t)) {
    TensorFacts facts;
    if (constexprParam || !TensorReader::get().read(v, facts) || facts.device < 0 || facts.device > 0xffff)
      return false;
    if (call.tensorDevice >= 0 && call.tensorDevice != facts.device)
      return false; // tensors on two devices: the full path names the culprit
    call.tensorDevice = facts.device;
    call.raw[i] = facts.data;
    tag = kTensor | uint64_t(facts.data % 16 == 0) << 8 | uint64_t(facts.device) << 16;
    value = reinterpret_cast<uintptr_t>(facts.dtype);
  } else {
    tag = kObject;
    value = reinterpret_cast<uintptr_t>(v);
  }
  call.tags[i] = static_cast<KeyTag>(tag & 0xff);
  call.key.push_back(tag);
  call.key.push_back(value);
  return true;
}
} // namespace

bool analyzeCall(const ParamTable &params, PyObject *const *args, size_t nargs, PyObject *kwnames, LaunchCall &call) {
  size_t n = params.size();
  if (n > kMaxFastParams || nargs > n)
    return false;
  for (size_t i = 0; i < nargs; ++i)
    call.bound[i] = args[i];
  size_t nkw = kwnames ? static_cast<size_t>(PyTuple_GET_SIZE(kwnames)) : 0;
  for (size_t k = 0; k < nkw; ++k) {
    PyObject *name = PyTuple_GET_ITEM(kwnames, k), *value = args[nargs + k];
    int i = paramIndex(params, name);
    if (i >= 0) {
      if (call.bound[i])
        return false; // given twice: the full path's error
      call.bound[i] = value;
      continue;
    }
    bool ok = true;
    if (!takeOption(name, value, call, ok) || !ok)
      return false;
  }
  call.key.clear();
  for (size_t i = 0; i < n; ++i) {
    if (!call.bound[i]) {
      call.tags[i] = kAbsent;
      call.key.push_back(kAbsent);
      call.key.push_back(0);
    } else if (!keyValue(call.bound[i], params.constexprs[i], call, i)) {
      return false;
    }
  }
  call.key.push_back(uint64_t(call.numWarps) | uint64_t(call.numStages) << 8 | uint64_t(call.minBlocksPerSM) << 16 |
                     uint64_t(call.stream != nullptr) << 24 | uint64_t(call.tma + 1) << 25 |
                     uint64_t(call.warpSpecialize + 1) << 27 | uint64_t(call.persistent + 1) << 29);
  uint64_t h = 0;
  for (uint64_t w : call.key)
    h = mix(h, w);
  call.hash = h;
  return true;
}

PyObject *keyTuple(const LaunchCall &call) {
  PyObject *t = PyTuple_New(static_cast<Py_ssize_t>(call.key.size()));
  if (!t)
    return nullptr;
  for (size_t i = 0; i < call.key.size(); ++i) {
    PyObject *w = PyLong_FromUnsignedLongLong(call.key[i]);
    if (!w) {
      Py_DECREF(t);
      return nullptr;
    }
    PyTuple_SET_ITEM(t, static_cast<Py_ssize_t>(i), w);
  }
  return t;
}

} // namespace terrazzo::python
