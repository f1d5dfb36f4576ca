// Conversion of Python objects to the host values the compiler understands.
#pragma once

#include "terrazzo/Terrazzo.h"

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace terrazzo::python {

// numpy arrays become pointers to their memory; ints, floats, bools, None,
// strings, dtypes, jit functions, tz.constexpr and the terrazzo module become
// the matching compile-time values; anything else is marked unsupported
// (the frontend reports it where it is used).
// Objects exporting DLPack (torch CPU tensors) become pointers too; their
// export capsules are kept in `keepAlive` for the duration of the call.
// Arrays that are not row-major contiguous are refused unless wrapped in
// tz.strided; errors name `argName` when given.
HostValue toHostValue(const pybind11::handle &obj, std::vector<pybind11::object> *keepAlive = nullptr,
                      const std::string &argName = "");

// A resolver that looks names up in a Python function's globals.
std::shared_ptr<const Resolver> makePythonResolver(pybind11::object lookup);

} // namespace terrazzo::python
