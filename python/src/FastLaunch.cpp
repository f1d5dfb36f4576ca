#include "FastLaunch.h"
#include "HostValues.h"
#include "KernelCalls.h"
#include "LaunchPlans.h"
#include "LaunchKey.h"
#include "TensorReader.h"

#include "terrazzo/Terrazzo.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

namespace py = pybind11;

namespace terrazzo::python {

namespace {

PyObject *interned(const char *name) { return PyUnicode_InternFromString(name); }

// --- the cache -----------------------------------------------------------------

struct Entry {
  std::vector<uint64_t> key;
  uint64_t hash = 0;
  std::shared_ptr<PlanHandle> handle;
  std::vector<py::object> held; // the objects whose addresses are in `key`
  py::object configKwargs;      // autotuned: the chosen config's constexprs (a dict), for a callable grid
};

constexpr size_t kMaxEntries = 32;

struct LauncherState {
  py::object kernelObject; // the _terrazzo.Kernel
  Kernel *kernel = nullptr;
  py::object gridResolver; // terrazzo.jit.resolve_grid
  py::object paramNameList;
  ParamTable params;
  // An autotuned kernel (terrazzo.Autotuner): the parameters whose values
  // choose the config (its `key`). Their values join the launch key, and a
  // miss goes through the tuner's launch_with.
  bool tuned = false;
  std::vector<size_t> tuneKey;
  // No kernel of its own: kernel[grid](...) calls launch_with (_delegate()).
  bool delegate = false;
  std::vector<std::shared_ptr<Entry>> entries; // most recently added last
  size_t hits = 0, misses = 0;

  ~LauncherState() {
    for (PyObject *n : params.names)
      Py_DECREF(n);
  }
  std::shared_ptr<Entry> find(const LaunchCall &call) const {
    for (size_t i = entries.size(); i-- > 0;)
      if (entries[i]->hash == call.hash && call.key == entries[i]->key)
        return entries[i];
    return nullptr;
  }
};

struct LauncherObject {
  PyObject_HEAD
  LauncherState *state;
};

struct BoundLaunchObject {
  PyObject_HEAD
  vectorcallfunc vectorcall;
  PyObject *launcher; // strong
  PyObject *grid;     // strong
};

PyObject *gRunAndPlan = nullptr; // _terrazzo._run_and_plan

// --- the launch ------------------------------------------------------------------

// A CUstream from `value`, an int (a new reference, consumed; null after a
// failed call). False, with no Python error left set, when it is not one.
bool takeStreamHandle(PyObject *value, void *&stream) {
  if (!value || !PyLong_Check(value)) {
    Py_XDECREF(value);
    PyErr_Clear();
    return false;
  }
  stream = PyLong_AsVoidPtr(value);
  Py_DECREF(value);
  if (PyErr_Occurred()) {
    PyErr_Clear();
    return false;
  }
  return true;
}

// torch's current stream on `device`, through torch._C._cuda_getCurrentRawStream
// (a plain C function of torch). False when torch does not have it.
bool torchStream(int device, void *&stream) {
  static PyObject *getStream = nullptr;
  if (!getStream) {
    PyObject *modules = PySys_GetObject("modules");
    PyObject *torch = modules ? PyDict_GetItemString(modules, "torch") : nullptr;
    PyObject *c = torch ? PyObject_GetAttrString(torch, "_C") : nullptr;
    getStream = c ? PyObject_GetAttrString(c, "_cuda_getCurrentRawStream") : nullptr; // kept for the process
    Py_XDECREF(c);
    if (!getStream) {
      PyErr_Clear();
      return false;
    }
  }
  PyObject *index = PyLong_FromLong(device);
  PyObject *r = index ? PyObject_CallOneArg(getStream, index) : nullptr;
  Py_XDECREF(index);
  return takeStreamHandle(r, stream);
}

// The `stream=` option: an int (a CUstream) or an object with .cuda_stream.
bool explicitStream(PyObject *s, void *&stream) {
  static PyObject *cudaStream = interned("cuda_stream");
  PyObject *value = PyLong_Check(s) ? (Py_INCREF(s), s) : PyObject_GetAttr(s, cudaStream);
  return takeStreamHandle(value, stream);
}

// A grid tuple the GPU accepts; false: the full path reports what is wrong.
bool gridDims(PyObject *grid, std::array<unsigned, 3> &g) {
  Py_ssize_t n = PyTuple_GET_SIZE(grid);
  if (n < 1 || n > 3)
    return false;
  static const long long maxDim[3] = {(1ll << 31) - 1, 65535, 65535};
  g = {1, 1, 1};
  for (Py_ssize_t i = 0; i < n; ++i) {
    PyObject *d = PyTuple_GET_ITEM(grid, i);
    if (!PyLong_CheckExact(d))
      return false;
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(d, &overflow);
    if (overflow || v < 0 || v > maxDim[i]) {
      PyErr_Clear();
      return false;
    }
    g[i] = static_cast<unsigned>(v);
  }
  return true;
}

// Launches `call` with `entry`'s plan. 1: launched; 0: not applicable (take
// the full path); -1: the driver failed (Python error set).
int launchCached(const Entry &entry, const LaunchCall &call, const std::array<unsigned, 3> &grid,
                  const ParamTable &params) {
  const GpuLaunchPlan &plan = *entry.handle->plan;
  if (interpretRequested() || !entry.handle->valid())
    return 0;
  if (call.tensorDevice >= 0 && call.tensorDevice != plan.device)
    return 0;
  try {
    if (currentGpuContext() != plan.context)
      return 0; // another device is current: the full path loads the kernel there
  } catch (...) {
    return 0;
  }
  void *stream = nullptr;
  if (call.stream) {
    if (!explicitStream(call.stream, stream))
      return 0;
  } else if (call.tensorDevice >= 0 && !torchStream(call.tensorDevice, stream)) {
    return 0;
  }
  uint64_t slots[kMaxFastParams];
  void *arguments[kMaxFastParams];
  size_t n = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    using Slot = GpuLaunchPlan::Slot;
    Slot slot = plan.params[i];
    if (slot == Slot::Folded)
      continue;
    KeyTag tag = call.tags[i];
    uint64_t raw = call.raw[i], value = 0;
    switch (slot) {
    case Slot::Pointer:
      if (tag != kTensor)
        return 0;
      value = raw;
      break;
    case Slot::I1:
      if (tag != kBool)
        return 0;
      value = raw;
      break;
    case Slot::I32:
    case Slot::I64:
      if (tag != kInt)
        return 0;
      value = raw; // little-endian: an i32 reads the low half
      break;
    case Slot::F32: {
      if (tag != kFloat)
        return 0;
      double d;
      std::memcpy(&d, &raw, 8);
      float f = static_cast<float>(d);
      std::memcpy(&value, &f, 4);
      break;
    }
    case Slot::F64:
      if (tag != kFloat)
        return 0;
      value = raw;
      break;
    case Slot::Folded:
      break;
    }
    slots[n] = value;
    arguments[n] = &slots[n];
    ++n;
  }
  if (n != plan.numArguments)
    return 0;
  // The GIL stays held: a launch only queues work (as torch's own ops do
  // while holding it), and releasing and retaking it would double the cost.
  try {
    if (!terrazzo::launchPlanned(plan, grid, arguments, stream))
      return 0; // tensor maps that cannot describe these tensors: the full path
  } catch (const std::exception &e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return -1;
  }
  return 1;
}

// Records the plan the full path made for `call`.
void remember(LauncherState &st, const LaunchCall &call, PyObject *handleObject, py::object configKwargs = {}) {
  std::shared_ptr<PlanHandle> handle;
  try {
    handle = py::cast<std::shared_ptr<PlanHandle>>(py::handle(handleObject));
  } catch (const py::cast_error &) {
    return;
  }
  if (!handle->plan || handle->plan->params.size() != st.params.size())
    return;
  if (call.tensorDevice >= 0 && call.tensorDevice != handle->plan->device)
    return;
  auto entry = std::make_shared<Entry>();
  for (size_t i = 0; i < st.params.size(); ++i) {
    if (!call.bound[i])
      continue;
    if (call.tags[i] == kObject) {
      // Keyed by address: only objects whose identity implies their meaning.
      if (!identitySafe(call.bound[i]))
        return;
      entry->held.push_back(py::reinterpret_borrow<py::object>(call.bound[i]));
    } else if (call.tags[i] == kTensor) {
      entry->held.push_back(
          py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject *>(uintptr_t(call.key[2 * i + 1]))));
    }
  }
  entry->key = call.key.toVector();
  entry->hash = call.hash;
  entry->handle = std::move(handle);
  entry->configKwargs = std::move(configKwargs);
  // An entry of the same key was unusable (a global changed, another
  // context): the new one replaces it.
  st.entries.erase(std::remove_if(st.entries.begin(), st.entries.end(),
                                  [&](const std::shared_ptr<Entry> &e) { return e->key == entry->key; }),
                   st.entries.end());
  if (st.entries.size() >= kMaxEntries)
    st.entries.erase(st.entries.begin());
  st.entries.push_back(std::move(entry));
}

// The meta-parameters a callable grid receives: parameter names to the
// positional arguments, then the keywords (as terrazzo.jit.resolve_grid).
PyObject *metaDict(const LauncherState &st, PyObject *const *args, size_t nargs, PyObject *kwnames,
                   PyObject *configKwargs) {
  PyObject *meta = PyDict_New();
  if (!meta)
    return nullptr;
  for (size_t i = 0; i < nargs && i < st.params.size(); ++i)
    if (PyDict_SetItem(meta, st.params.names[i], args[i]) < 0)
      return Py_DECREF(meta), nullptr;
  Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
  for (Py_ssize_t k = 0; k < nkw; ++k)
    if (PyDict_SetItem(meta, PyTuple_GET_ITEM(kwnames, k), args[nargs + k]) < 0)
      return Py_DECREF(meta), nullptr;
  if (configKwargs && PyDict_Update(meta, configKwargs) < 0)
    return Py_DECREF(meta), nullptr;
  return meta;
}

// An autotuned launch: the values of the tuning key's parameters join the
// key (ints by value; tensors are keyed by dtype already).
void addTuneKey(const LauncherState &st, LaunchCall &call) {
  for (size_t i : st.tuneKey) {
    call.key.push_back(call.tags[i]);
    call.key.push_back(call.tags[i] == kTensor || call.tags[i] == kObject || call.tags[i] == kAbsent ? 0 : call.raw[i]);
  }
  uint64_t h = call.hash;
  for (size_t i = call.key.size() - 2 * st.tuneKey.size(); i < call.key.size(); ++i)
    h ^= call.key[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
  call.hash = h;
}

// The full path of an autotuned kernel: the tuner's launch_with (which may
// time the configs), then the plan for the config it chose.
void tunedFullPath(PyObject *self, LauncherState &st, const LaunchCall &call, bool keyed, PyObject *grid,
                   const py::tuple &args, const py::dict &kwargs) {
  py::handle tuner(self);
  tuner.attr("launch_with")(py::handle(grid), args, kwargs);
  if (!keyed)
    return;
  py::object choice = tuner.attr("_fast_choice")(args, kwargs);
  if (choice.is_none())
    return;
  py::dict configKwargs = choice.cast<py::tuple>()[0];
  py::dict full(kwargs);
  for (auto item : configKwargs)
    full[item.first] = item.second;
  for (auto item : choice.cast<py::tuple>()[1].cast<py::dict>())
    full[item.first] = item.second;
  py::object handle = py::module_::import("terrazzo._terrazzo").attr("_plan_only")(st.kernelObject, args, full);
  if (!handle.is_none())
    remember(st, call, handle.ptr(), configKwargs);
}

PyObject *fastCall(LauncherObject *self, PyObject *grid, PyObject *const *args, size_t nargs, PyObject *kwnames) {
  LauncherState *st = self->state;
  if (!st || !st->kernel) {
    if (!st || !st->delegate) {
      PyErr_SetString(PyExc_TypeError, "this launcher has no kernel (its __init__ did not run)");
      return nullptr;
    }
    // Not bound to a kernel (an autotuner over heuristics): the object's own
    // launch_with(grid, args, kwargs) does the launch.
    try {
      py::tuple argsTuple(nargs);
      for (size_t i = 0; i < nargs; ++i)
        argsTuple[i] = py::reinterpret_borrow<py::object>(args[i]);
      py::dict kwargs;
      Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
      for (Py_ssize_t k = 0; k < nkw; ++k)
        kwargs[py::handle(PyTuple_GET_ITEM(kwnames, k))] = py::handle(args[nargs + k]);
      return py::handle(reinterpret_cast<PyObject *>(self)).attr("launch_with")(py::handle(grid), argsTuple, kwargs)
          .release()
          .ptr();
    } catch (py::error_already_set &e) {
      e.restore();
      return nullptr;
    }
  }
  LaunchCall call;
  bool keyed = analyzeCall(st->params, args, nargs, kwnames, call);
  if (keyed && st->tuned)
    addTuneKey(*st, call);
  std::shared_ptr<Entry> entry = keyed ? st->find(call) : nullptr;
  py::object resolved; // the grid as a tuple, once known
  if (PyTuple_CheckExact(grid)) {
    resolved = py::reinterpret_borrow<py::object>(grid);
  } else if (keyed && PyCallable_Check(grid) && (entry || !st->tuned)) {
    PyObject *config = entry && entry->configKwargs ? entry->configKwargs.ptr() : nullptr;
    PyObject *meta = metaDict(*st, args, nargs, kwnames, config);
    PyObject *r = meta ? PyObject_CallOneArg(grid, meta) : nullptr;
    Py_XDECREF(meta);
    if (!r)
      return nullptr; // the grid function's own error
    resolved = PyTuple_Check(r) ? py::reinterpret_steal<py::object>(r) : py::make_tuple(py::reinterpret_steal<py::object>(r));
  }
  std::array<unsigned, 3> g;
  if (entry && resolved && PyTuple_CheckExact(resolved.ptr()) && gridDims(resolved.ptr(), g)) {
    int r = launchCached(*entry, call, g, st->params);
    if (r < 0)
      return nullptr;
    if (r > 0) {
      ++st->hits;
      Py_RETURN_NONE;
    }
  }
  ++st->misses;
  // The full path, with the arguments as a tuple and a dict.
  try {
    py::tuple argsTuple(nargs);
    for (size_t i = 0; i < nargs; ++i)
      argsTuple[i] = py::reinterpret_borrow<py::object>(args[i]);
    py::dict kwargs;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; ++k)
      kwargs[py::handle(PyTuple_GET_ITEM(kwnames, k))] = py::handle(args[nargs + k]);
    if (st->tuned) {
      tunedFullPath(reinterpret_cast<PyObject *>(self), *st, call, keyed, grid, argsTuple, kwargs);
      Py_RETURN_NONE;
    }
    if (!resolved)
      resolved = st->gridResolver(py::handle(grid), st->paramNameList, argsTuple, kwargs);
    py::object handle = py::reinterpret_borrow<py::object>(gRunAndPlan)(st->kernelObject, resolved, argsTuple, kwargs,
                                                                        keyed);
    if (keyed && !handle.is_none())
      remember(*st, call, handle.ptr());
  } catch (py::error_already_set &e) {
    e.restore();
    return nullptr;
  } catch (const std::exception &e) {
    PyErr_SetString(PyExc_RuntimeError, e.what());
    return nullptr;
  }
  Py_RETURN_NONE;
}

// --- the Python types ------------------------------------------------------------

PyTypeObject gLauncherType = {PyVarObject_HEAD_INIT(nullptr, 0)};
PyTypeObject gBoundLaunchType = {PyVarObject_HEAD_INIT(nullptr, 0)};

PyObject *boundLaunchVectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
  auto *b = reinterpret_cast<BoundLaunchObject *>(callable);
  return fastCall(reinterpret_cast<LauncherObject *>(b->launcher), b->grid, args, PyVectorcall_NARGS(nargsf), kwnames);
}

void boundLaunchDealloc(PyObject *o) {
  auto *b = reinterpret_cast<BoundLaunchObject *>(o);
  Py_XDECREF(b->launcher);
  Py_XDECREF(b->grid);
  PyObject_Free(o);
}

// kernel[grid]
PyObject *launcherSubscript(PyObject *self, PyObject *grid) {
  auto *b = PyObject_New(BoundLaunchObject, &gBoundLaunchType);
  if (!b)
    return nullptr;
  b->vectorcall = boundLaunchVectorcall;
  Py_INCREF(self);
  b->launcher = self;
  Py_INCREF(grid);
  b->grid = grid;
  return reinterpret_cast<PyObject *>(b);
}

PyObject *launcherNew(PyTypeObject *type, PyObject *, PyObject *) {
  PyObject *self = type->tp_alloc(type, 0);
  if (!self)
    return nullptr;
  reinterpret_cast<LauncherObject *>(self)->state = new LauncherState();
  return self;
}

int launcherTraverse(PyObject *self, visitproc visit, void *arg) {
  LauncherState *st = reinterpret_cast<LauncherObject *>(self)->state;
  if (!st)
    return 0;
  Py_VISIT(st->kernelObject.ptr());
  Py_VISIT(st->gridResolver.ptr());
  Py_VISIT(st->paramNameList.ptr());
  for (const auto &e : st->entries) {
    for (const py::object &h : e->held)
      Py_VISIT(h.ptr());
    for (const Probe &p : e->handle->probes) {
      Py_VISIT(p.container.ptr());
      Py_VISIT(p.expected.ptr());
    }
  }
  return 0;
}

int launcherClear(PyObject *self) {
  LauncherState *st = reinterpret_cast<LauncherObject *>(self)->state;
  if (!st)
    return 0;
  st->entries.clear();
  st->kernel = nullptr;
  st->kernelObject = py::object();
  st->gridResolver = py::object();
  st->paramNameList = py::object();
  return 0;
}

void launcherDealloc(PyObject *self) {
  PyObject_GC_UnTrack(self);
  launcherClear(self);
  delete reinterpret_cast<LauncherObject *>(self)->state;
  reinterpret_cast<LauncherObject *>(self)->state = nullptr;
  Py_TYPE(self)->tp_free(self);
}

// _bind_kernel(kernel, resolve_grid): called once by JITFunction.__init__.
PyObject *launcherBindKernel(PyObject *self, PyObject *args) {
  PyObject *kernelObject, *resolver;
  if (!PyArg_ParseTuple(args, "OO", &kernelObject, &resolver))
    return nullptr;
  LauncherState *st = reinterpret_cast<LauncherObject *>(self)->state;
  try {
    Kernel *k = py::cast<Kernel *>(py::handle(kernelObject));
    launcherClear(self);
    for (PyObject *n : st->params.names)
      Py_DECREF(n);
    st->params = ParamTable();
    py::list names;
    for (const std::string &name : k->paramNames()) {
      PyObject *s = PyUnicode_InternFromString(name.c_str());
      if (!s)
        throw py::error_already_set();
      st->params.names.push_back(s);
      names.append(py::handle(s));
    }
    st->params.constexprs = k->constexprParams();
    st->kernel = k;
    st->kernelObject = py::reinterpret_borrow<py::object>(kernelObject);
    st->gridResolver = py::reinterpret_borrow<py::object>(resolver);
    st->paramNameList = names;
  } catch (py::error_already_set &e) {
    e.restore();
    return nullptr;
  } catch (const std::exception &e) {
    PyErr_SetString(PyExc_TypeError, e.what());
    return nullptr;
  }
  Py_RETURN_NONE;
}

// _launch_key(args, kwargs): the key of a call, or None when the cached path
// would not take it (tests).
PyObject *launcherLaunchKey(PyObject *self, PyObject *args) {
  PyObject *callArgs, *callKwargs;
  if (!PyArg_ParseTuple(args, "O!O!", &PyTuple_Type, &callArgs, &PyDict_Type, &callKwargs))
    return nullptr;
  LauncherState *st = reinterpret_cast<LauncherObject *>(self)->state;
  std::vector<PyObject *> flat;
  for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(callArgs); ++i)
    flat.push_back(PyTuple_GET_ITEM(callArgs, i));
  PyObject *kwnames = PyTuple_New(PyDict_GET_SIZE(callKwargs));
  if (!kwnames)
    return nullptr;
  Py_ssize_t pos = 0, k = 0;
  PyObject *key, *value;
  while (PyDict_Next(callKwargs, &pos, &key, &value)) {
    Py_INCREF(key);
    PyTuple_SET_ITEM(kwnames, k++, key);
    flat.push_back(value);
  }
  LaunchCall call;
  bool keyed = analyzeCall(st->params, flat.data(), PyTuple_GET_SIZE(callArgs), kwnames, call);
  Py_DECREF(kwnames);
  if (!keyed)
    Py_RETURN_NONE;
  if (st->tuned)
    addTuneKey(*st, call);
  return keyTuple(call);
}

// _bind_tuner(key_indices): this launcher is an autotuner over its kernel;
// key_indices are the parameters of its `key`.
PyObject *launcherBindTuner(PyObject *self, PyObject *indices) {
  LauncherState *st = reinterpret_cast<LauncherObject *>(self)->state;
  st->entries.clear();
  st->tuned = true;
  st->tuneKey.clear();
  PyObject *seq = PySequence_Fast(indices, "key indices must be a sequence");
  if (!seq)
    return nullptr;
  for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); ++i) {
    long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
    if (v < 0 || size_t(v) >= st->params.size()) {
      Py_DECREF(seq);
      if (!PyErr_Occurred())
        PyErr_SetString(PyExc_IndexError, "key index out of range");
      return nullptr;
    }
    st->tuneKey.push_back(size_t(v));
  }
  Py_DECREF(seq);
  Py_RETURN_NONE;
}

// _delegate(): kernel[grid](*args, **kwargs) calls self.launch_with(grid,
// args, kwargs) (an autotuner the cached path cannot serve).
PyObject *launcherDelegate(PyObject *self, PyObject *) {
  reinterpret_cast<LauncherObject *>(self)->state->delegate = true;
  Py_RETURN_NONE;
}

PyObject *launcherStats(PyObject *self, PyObject *) {
  LauncherState *st = reinterpret_cast<LauncherObject *>(self)->state;
  return Py_BuildValue("{s:n,s:n,s:n}", "hits", Py_ssize_t(st->hits), "misses", Py_ssize_t(st->misses), "entries",
                       Py_ssize_t(st->entries.size()));
}

PyMethodDef gLauncherMethods[] = {
    {"_bind_kernel", launcherBindKernel, METH_VARARGS, "Binds the _terrazzo.Kernel and the grid resolver."},
    {"_bind_tuner", launcherBindTuner, METH_O, "Makes this launcher an autotuner's (after _bind_kernel)."},
    {"_launch_key", launcherLaunchKey, METH_VARARGS, "The cached-launch key of (args, kwargs), or None."},
    {"_delegate", launcherDelegate, METH_NOARGS, "kernel[grid](...) calls launch_with (no cached path)."},
    {"_fast_stats", launcherStats, METH_NOARGS, "Hits, misses and entries of the cached launch path."},
    {nullptr, nullptr, 0, nullptr}};

PyMappingMethods gLauncherMapping = {nullptr, launcherSubscript, nullptr};

void readyTypes() {
  PyTypeObject &b = gBoundLaunchType;
  b.tp_name = "terrazzo._terrazzo.BoundLaunch";
  b.tp_doc = "kernel[grid]: call it with the kernel's arguments to launch.";
  b.tp_basicsize = sizeof(BoundLaunchObject);
  b.tp_dealloc = boundLaunchDealloc;
  b.tp_vectorcall_offset = offsetof(BoundLaunchObject, vectorcall);
  b.tp_call = PyVectorcall_Call;
  b.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL;
  if (PyType_Ready(&b) < 0)
    throw py::error_already_set();

  PyTypeObject &l = gLauncherType;
  l.tp_name = "terrazzo._terrazzo.Launcher";
  l.tp_doc = "Base class of terrazzo.JITFunction: kernel[grid](*args) through the cached launch path.";
  l.tp_basicsize = sizeof(LauncherObject);
  l.tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC;
  l.tp_new = launcherNew;
  l.tp_dealloc = launcherDealloc;
  l.tp_traverse = launcherTraverse;
  l.tp_clear = launcherClear;
  l.tp_as_mapping = &gLauncherMapping;
  l.tp_methods = gLauncherMethods;
  if (PyType_Ready(&l) < 0)
    throw py::error_already_set();
}

} // namespace

void bindFastLaunch(py::module_ &m) {
  readyTypes();
  Py_INCREF(&gLauncherType);
  m.add_object("Launcher", reinterpret_cast<PyObject *>(&gLauncherType));
  Py_INCREF(&gBoundLaunchType);
  m.add_object("BoundLaunch", reinterpret_cast<PyObject *>(&gBoundLaunchType));

  py::class_<PlanHandle, std::shared_ptr<PlanHandle>>(m, "_LaunchPlan")
      .def("valid", &PlanHandle::valid, "True while every global the code read holds the same object")
      .def_property_readonly("num_probes", [](const PlanHandle &h) { return h.probes.size(); });

  // The full path of a call; with want_plan, after a GPU launch, also the
  // plan for the next calls (None when its dependencies cannot be watched).
  m.def("_run_and_plan", [](Kernel &k, py::tuple grid, py::tuple args, py::dict kwargs, bool wantPlan) -> py::object {
    CallRecord record;
    runKernelCall(k, grid, args, kwargs, wantPlan ? &record : nullptr);
    if (!wantPlan || !record.onGpu)
      return py::none();
    auto handle = std::make_shared<PlanHandle>();
    // With the GIL held: no other thread rebinds a global between the
    // specialization the plan uses and the probes taken of its globals.
    handle->plan = k.planLaunch(record.positional, record.keywords, record.gpu);
    if (!buildProbes(handle->plan->dependencies, handle->probes))
      return py::none();
    return py::cast(handle);
  });
  gRunAndPlan = m.attr("_run_and_plan").ptr(); // the module keeps it alive

  // The plan of a GPU launch of these arguments, without launching (the
  // autotuned path, once the tuner chose); None when it would not run on
  // the GPU or its dependencies cannot be watched.
  m.def("_plan_only", [](Kernel &k, py::tuple args, py::dict kwargs) -> py::object {
    std::vector<py::object> keepAlive;
    auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
    LaunchOptions o = takeLaunchOptions(kw, kwargs, k);
    if (!runsOnGpu(pos, kw))
      return py::none();
    auto handle = std::make_shared<PlanHandle>();
    handle->plan = k.planLaunch(pos, kw, o.gpu);
    if (!buildProbes(handle->plan->dependencies, handle->probes))
      return py::none();
    return py::cast(handle);
  });

  // What a cached launch of these arguments would watch (tests; no GPU).
  m.def("_watch", [](Kernel &k, py::tuple args, py::dict kwargs) -> py::object {
    std::vector<py::object> keepAlive;
    auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
    takeLaunchOptions(kw, kwargs, k);
    auto handle = std::make_shared<PlanHandle>();
    if (!buildProbes(k.dependencies(pos, kw), handle->probes))
      return py::none();
    return py::cast(handle);
  });

  // How torch tensors are read on the cached path (benchmarks, bug reports).
  m.def("_tensor_reader_state", [] {
    PyObject *d = TensorReader::get().describe();
    if (!d)
      throw py::error_already_set();
    return py::reinterpret_steal<py::dict>(d);
  });

  // Tests without torch: objects of exactly `type` are read as CUDA tensors
  // through their attributes (data_ptr(), dtype, is_cuda, get_device()).
  m.def("_read_as_tensor", [](py::type type) {
    TensorReader::get().addGenericType(reinterpret_cast<PyTypeObject *>(type.ptr()));
  });
}

} // namespace terrazzo::python
