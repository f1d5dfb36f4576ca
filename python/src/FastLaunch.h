// The cached launch path of `kernel[grid](*args, **kwargs)`.
//
// _terrazzo.Launcher is the C base class of terrazzo.JITFunction: its
// `[grid]` makes a small callable (no Python closure) whose vectorcall keys
// the arguments (LaunchKey.h), finds the launch planned for that key by an
// earlier call (Kernel::planLaunch), checks that the globals the code read
// still hold the same objects, packs the values and calls the driver on
// torch's current stream, all in C++. Anything it is unsure of takes the
// full path (KernelCalls.h), which checks every argument, reports errors,
// and plans the launch for the next call.
#pragma once

#include <pybind11/pybind11.h>

namespace terrazzo::python {
void bindFastLaunch(pybind11::module_ &m);
}
