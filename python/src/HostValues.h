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
// `lookup` is a bound method of the object that owns those globals (a
// JITFunction): lookup(name) returns a 1-tuple or None, and the same
// object's _locate(name) says where the name lives (see locateGlobal).
std::shared_ptr<const Resolver> makePythonResolver(pybind11::object lookup);

// Where a module-level name a kernel read lives, so that a cached launch can
// tell cheaply whether it still has the same value.
enum class GlobalPlace {
  Constant, // not a Python resolver: C++ source files never change
  Found,    // `container` is a dict and `key` the name, or `container` a closure cell and `key` None
  Unknown,  // cannot be watched: the caller must take the full path
};
GlobalPlace locateGlobal(const Resolver &resolver, const std::string &name, pybind11::object &container,
                         pybind11::object &key);

} // namespace terrazzo::python
