// The full path of a kernel call from Python: Python arguments -> host
// values, launch options out of the keywords, then the GPU or the CPU
// interpreter. Every check and error message lives here; the cached launch
// path (FastLaunch.cpp) falls back to it whenever it is unsure.
#pragma once

#include "terrazzo/Terrazzo.h"

#include <pybind11/pybind11.h>

#include <array>
#include <vector>

namespace terrazzo::python {

// Positional and keyword Python arguments -> host values. DLPack exports
// are held in `keepAlive` until the call returns. Errors about an argument
// name the kernel parameter it binds.
std::pair<std::vector<HostValue>, Keywords> convertArgs(const Kernel &kernel, const pybind11::tuple &args,
                                                         const pybind11::dict &kwargs,
                                                         std::vector<pybind11::object> &keepAlive);

// A grid tuple of 1 to 3 non-negative ints, padded with 1s.
std::array<int64_t, 3> toGrid(const pybind11::tuple &grid);

// Launch options given as keywords of a launch.
struct LaunchOptions {
  GpuOptions gpu;
  pybind11::object stream = pybind11::none();
};

// Takes the launch options (num_warps, num_stages, min_blocks_per_sm, tma,
// persistent, stream) out of `keywords`. A keyword that names a kernel parameter binds to
// that parameter and is not a launch option (Triton's rule).
LaunchOptions takeLaunchOptions(Keywords &keywords, const pybind11::dict &kwargs, const Kernel &kernel);

// How many programs a persistent launch runs on the interpreter:
// TZ_INTERPRET_PERSISTENT_PROGRAMS, 3 by default (few, so that each walks
// several tiles of a small grid, as on the GPU).
int interpreterPersistentPrograms();

// TZ_INTERPRET=1 (anything but empty or 0): every launch runs on the interpreter.
bool interpretRequested();

// True when a call with these arguments launches on the GPU: an argument is
// in GPU memory, or none is in host memory and a GPU is present (never
// under TZ_INTERPRET).
bool runsOnGpu(const std::vector<HostValue> &args, const Keywords &keywords);

// The stream a GPU launch goes to: the `stream` option (an int or an object
// with .cuda_stream), else torch's current stream on the device of the first
// GPU tensor, else the legacy default stream (null).
void *streamFor(const LaunchOptions &o, const std::vector<HostValue> &args);

// What one full kernel call did, for the cached launch path.
struct CallRecord {
  bool onGpu = false;
  std::vector<HostValue> positional;
  Keywords keywords;
  GpuOptions gpu;
};

// kernel[grid](*args, **kwargs) with a resolved grid: launches on the GPU or
// runs on the interpreter (printing device_print output). Fills `record`
// when given.
void runKernelCall(Kernel &kernel, const pybind11::tuple &grid, const pybind11::tuple &args,
                   const pybind11::dict &kwargs, CallRecord *record = nullptr);

} // namespace terrazzo::python
