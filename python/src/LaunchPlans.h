// What a planned launch depends on besides its arguments, and the plan the
// full path hands to the cached launch path (FastLaunch.h): probes of the
// module-level names the kernel's code read.
#pragma once

#include "terrazzo/Terrazzo.h"

#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace terrazzo::python {

// True when reusing a launch while `o` stays the same object is as good as
// the full path's comparison of values: immutable values, modules, and the
// terrazzo objects (dtypes, jit functions) whose meaning never changes.
bool identitySafe(PyObject *o, int depth = 0);

// One module-level name a planned launch read: `container[key]` (a globals
// dict) or the contents of the closure cell `container` (key None) must
// still be `expected`.
struct Probe {
  pybind11::object container, key, expected;
  bool holds() const {
    if (key.is_none())
      return PyCell_GET(container.ptr()) == expected.ptr();
    PyObject *now = PyDict_GetItemWithError(container.ptr(), key.ptr());
    if (!now)
      PyErr_Clear();
    return now == expected.ptr();
  }
};

// Probes for every dependency of a plan; false when one cannot be watched.
bool buildProbes(const std::vector<std::pair<std::shared_ptr<const Resolver>, std::string>> &deps,
                 std::vector<Probe> &probes);

// What the full path hands back after a GPU launch: the plan for the next
// calls and the probes of its dependencies (also _watch's result in tests).
struct PlanHandle {
  std::shared_ptr<const GpuLaunchPlan> plan;
  std::vector<Probe> probes;
  bool valid() const {
    for (const Probe &p : probes)
      if (!p.holds())
        return false;
    return true;
  }
};

} // namespace terrazzo::python
