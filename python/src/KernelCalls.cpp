// The full path of a kernel call from Python (see KernelCalls.h).
#include "KernelCalls.h"
#include "DeviceTensors.h"
#include "HostValues.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>

namespace py = pybind11;

namespace terrazzo::python {

// Positional and keyword Python arguments -> host values. The arrays stay
// alive for the call (the caller's tuple/dict references them); DLPack
// exports are held in `keepAlive` until the call returns.
// Errors about an argument name the kernel's parameter it binds.
std::pair<std::vector<HostValue>, Keywords> convertArgs(const Kernel &kernel, const py::tuple &args,
                                                         const py::dict &kwargs, std::vector<py::object> &keepAlive) {
  std::vector<std::string> names = kernel.paramNames();
  std::vector<HostValue> positional;
  for (size_t i = 0; i < args.size(); ++i)
    positional.push_back(toHostValue(args[i], &keepAlive, i < names.size() ? names[i] : ""));
  Keywords keywords;
  for (auto [k, v] : kwargs) {
    std::string name = k.cast<std::string>();
    keywords.emplace_back(name, toHostValue(v, &keepAlive, name));
  }
  return {positional, keywords};
}

std::array<int64_t, 3> toGrid(const py::tuple &grid) {
  if (grid.size() < 1 || grid.size() > 3)
    throw py::value_error("grid must have 1 to 3 dimensions, got " + std::to_string(grid.size()));
  std::array<int64_t, 3> g = {1, 1, 1};
  for (size_t i = 0; i < grid.size(); ++i) {
    if (!py::isinstance<py::int_>(grid[i]) || py::isinstance<py::bool_>(grid[i]))
      throw py::type_error("grid dimensions must be integers");
    try {
      g[i] = grid[i].cast<int64_t>();
    } catch (const py::cast_error &) {
      throw py::value_error("grid dimension " + std::to_string(i) + " (" + py::str(grid[i]).cast<std::string>() +
                            ") does not fit in 64 bits");
    }
    if (g[i] < 0)
      throw py::value_error("grid dimensions must be non-negative");
  }
  return g;
}
// Triton's rule: the softmax tutorial's kernel takes `num_stages:
// tl.constexpr` and is launched with num_stages=....
LaunchOptions takeLaunchOptions(Keywords &keywords, const py::dict &kwargs, const Kernel &kernel) {
  std::vector<std::string> paramNames;
  for (auto &kv : keywords)
    if (kv.first == "num_warps" || kv.first == "num_stages" || kv.first == "min_blocks_per_sm" ||
        kv.first == "tma" || kv.first == "warp_specialize" || kv.first == "persistent" || kv.first == "stream") {
      paramNames = kernel.paramNames();
      break;
    }
  LaunchOptions o;
  auto isParam = [&](const std::string &name) {
    return std::find(paramNames.begin(), paramNames.end(), name) != paramNames.end();
  };
  auto isOption = [](const std::string &name) {
    return name == "num_warps" || name == "num_stages" || name == "min_blocks_per_sm" || name == "tma" ||
           name == "warp_specialize" || name == "persistent" || name == "stream";
  };
  for (auto it = keywords.begin(); it != keywords.end();) {
    if (!isOption(it->first) || isParam(it->first)) {
      ++it;
    } else if (it->first == "num_warps" || it->first == "num_stages" || it->first == "min_blocks_per_sm") {
      if (it->second.kind != HostValue::Kind::Int)
        throw py::type_error(it->first + " must be an integer");
      // Range-checked here: a cast to int would turn 2**32 + 4 into 4.
      if (it->second.intValue < INT32_MIN || it->second.intValue > INT32_MAX)
        throw py::value_error(it->first + " is out of range: " + std::to_string(it->second.intValue));
      int value = static_cast<int>(it->second.intValue);
      if (it->first == "num_warps")
        o.gpu.numWarps = value;
      else if (it->first == "num_stages")
        o.gpu.numStages = value;
      else
        o.gpu.minBlocksPerSM = value;
      it = keywords.erase(it);
    } else if (it->first == "tma" || it->first == "warp_specialize" || it->first == "persistent") {
      // TMA copies / a producer warpgroup on sm_90a / one program per
      // resident block walking the grid's tiles: True / False, None for the
      // TZ_TMA / TZ_WARP_SPECIALIZE / TZ_PERSISTENT default.
      int &option = it->first == "tma" ? o.gpu.tma : it->first == "warp_specialize" ? o.gpu.warpSpecialize
                                                                                      : o.gpu.persistent;
      if (it->second.kind == HostValue::Kind::None)
        option = -1;
      else if (it->second.kind == HostValue::Kind::Bool)
        option = it->second.boolValue ? 1 : 0;
      else
        throw py::type_error(it->first + " must be True, False or None");
      it = keywords.erase(it);
    } else if (it->first == "stream") {
      o.stream = kwargs["stream"];
      it = keywords.erase(it);
    } else {
      ++it;
    }
  }
  return o;
}

int interpreterPersistentPrograms() {
  const char *env = std::getenv("TZ_INTERPRET_PERSISTENT_PROGRAMS");
  if (!env || !*env)
    return 3;
  char *end = nullptr;
  long v = std::strtol(env, &end, 10);
  if (*end != '\0' || v < 1 || v > 1024)
    throw py::value_error(std::string("TZ_INTERPRET_PERSISTENT_PROGRAMS must be an integer from 1 to 1024, got '") +
                          env + "'");
  return static_cast<int>(v);
}

bool interpretRequested() {
  const char *env = std::getenv("TZ_INTERPRET");
  return env && *env && std::string(env) != "0";
}

// GPU when an argument lives in GPU memory, or when no argument lives in
// host memory and a GPU is present; the interpreter otherwise, or always
// under TZ_INTERPRET=1.
bool runsOnGpu(const std::vector<HostValue> &args, const Keywords &keywords) {
  bool device = false, host = false;
  auto look = [&](const HostValue &h) {
    if (h.kind != HostValue::Kind::Pointer)
      return;
    (h.device == -1 ? host : device) = true;
  };
  for (auto &h : args)
    look(h);
  for (auto &kv : keywords)
    look(kv.second);
  if (interpretRequested())
    return false;
  if (device)
    return true;
  return !host && gpuAvailable();
}

void *streamFor(const LaunchOptions &o, const std::vector<HostValue> &args) {
  if (!o.stream.is_none()) {
    if (py::hasattr(o.stream, "cuda_stream"))
      return reinterpret_cast<void *>(o.stream.attr("cuda_stream").cast<uintptr_t>());
    return reinterpret_cast<void *>(o.stream.cast<uintptr_t>());
  }
  for (auto &h : args)
    if (h.kind == HostValue::Kind::Pointer && h.device >= 0)
      return currentTorchStream(h.device);
  return nullptr;
}

void runKernelCall(Kernel &k, const py::tuple &grid, const py::tuple &args, const py::dict &kwargs,
                   CallRecord *record) {
  auto g = toGrid(grid);
  std::vector<py::object> keepAlive;
  auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
  LaunchOptions o = takeLaunchOptions(kw, kwargs, k);
  if (runsOnGpu(pos, kw)) {
    void *stream = streamFor(o, pos);
    {
      py::gil_scoped_release release;
      k.launch(g, pos, kw, o.gpu, stream);
    }
    if (record) {
      record->onGpu = true;
      record->positional = std::move(pos);
      record->keywords = std::move(kw);
      record->gpu = o.gpu;
    }
    return;
  }
  std::string printed;
  int persistentPrograms = wantsPersistent(o.gpu) ? interpreterPersistentPrograms() : 0;
  {
    py::gil_scoped_release release;
    k.interpret(g, pos, kw, &printed, persistentPrograms);
  }
  if (!printed.empty())
    py::print(printed, py::arg("end") = "");
}

} // namespace terrazzo::python
