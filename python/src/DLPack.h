// Reading tensors exported through the DLPack protocol (`__dlpack__`), e.g.
// PyTorch CPU tensors. The structs follow the DLPack ABI (unversioned
// DLManagedTensor, capsule name "dltensor").
#pragma once

#include "terrazzo/Terrazzo.h"

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace terrazzo::python {

// True if `obj` exports DLPack and is not a numpy array (numpy arrays take
// the faster buffer path).
bool hasDLPack(const pybind11::handle &obj);

// Pointer value for a DLPack tensor. The capsule that owns the export is
// appended to `keepAlive`; releasing it after the launch frees the export.
// A tensor that is not row-major contiguous is refused (naming `argName`)
// unless `strided` (tz.strided): then its layout travels with the pointer.
HostValue fromDLPack(const pybind11::handle &obj, std::vector<pybind11::object> &keepAlive,
                     const std::string &argName, bool strided);

} // namespace terrazzo::python
