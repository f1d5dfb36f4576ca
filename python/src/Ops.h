// Python bindings of the kernel library (terrazzo.ops).
#pragma once

#include <pybind11/pybind11.h>

namespace terrazzo::python {
void bindOps(pybind11::module_ &m);
}
