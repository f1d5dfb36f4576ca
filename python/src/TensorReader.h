// Reading a torch CUDA tensor's data pointer, dtype and device on the cached
// launch path, without the attribute lookups of `t.data_ptr()` & co.
//
// torch.Tensor's data_ptr, dtype and is_cuda are C functions of its base
// class (torch._C.TensorBase): a method descriptor and two getset
// descriptors. For tensors whose exact type is torch.Tensor or
// torch.nn.Parameter (checked once to inherit those very descriptors) they
// are called directly: the same C code `t.data_ptr()` runs, torch-function
// handling included, minus the lookup through the type's MRO. Any other
// type (a tensor subclass, a fake tensor) is not read here.
#pragma once

#include <Python.h>

#include <cstdint>
#include <vector>

namespace terrazzo::python {

struct TensorFacts {
  uint64_t data = 0;
  PyObject *dtype = nullptr; // borrowed; torch dtypes live as long as torch
  int device = -1;           // CUDA ordinal; -1: the tensor is not on a GPU
};

class TensorReader {
public:
  // The process-wide reader (its state is set up once torch is imported).
  static TensorReader &get();

  // True when `type` is a tensor type this reader reads.
  bool reads(PyTypeObject *type);

  // The facts of `obj` (of a type reads() accepted). False with no Python
  // error set when the object cannot be read here (the caller takes the full
  // path, which reports the problem); a Python error raised while reading is
  // cleared.
  bool read(PyObject *obj, TensorFacts &facts);

  // What the reader found (for benchmarks and bug reports): whether torch
  // was seen, the names of the types read directly, the device count used.
  PyObject *describe();

  // Tests on machines without torch or a GPU: objects of exactly `type` are
  // read through their attributes data_ptr(), dtype, is_cuda, get_device().
  void addGenericType(PyTypeObject *type);

private:
  void lookUpTorch();
  bool readGeneric(PyObject *obj, TensorFacts &facts);

  bool torchFound_ = false;
  std::vector<PyTypeObject *> torchTypes_;   // exact torch.Tensor, torch.nn.Parameter
  std::vector<PyTypeObject *> genericTypes_; // test types
  PyCFunction dataPtr_ = nullptr;            // TensorBase.data_ptr (METH_NOARGS)
  getter dtype_ = nullptr, isCuda_ = nullptr;
  void *dtypeClosure_ = nullptr, *isCudaClosure_ = nullptr;
  int deviceCount_ = -1; // -1: unknown, ask every tensor its device
};

} // namespace terrazzo::python
