// terrazzo._terrazzo: the Python binding of libterrazzo's public API.
#include "DeviceTensors.h"
#include "HostValues.h"
#include "Ops.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>

namespace py = pybind11;
using terrazzo::HostValue;
using terrazzo::Kernel;

namespace {
// Positional and keyword Python arguments -> host values. The arrays stay
// alive for the call (the caller's tuple/dict references them); DLPack
// exports are held in `keepAlive` until the call returns.
// Errors about an argument name the kernel's parameter it binds.
std::pair<std::vector<HostValue>, terrazzo::Keywords> convertArgs(const Kernel &kernel, const py::tuple &args,
                                                                  const py::dict &kwargs,
                                                                  std::vector<py::object> &keepAlive) {
  std::vector<std::string> names = kernel.paramNames();
  std::vector<HostValue> positional;
  for (size_t i = 0; i < args.size(); ++i)
    positional.push_back(terrazzo::python::toHostValue(args[i], &keepAlive, i < names.size() ? names[i] : ""));
  terrazzo::Keywords keywords;
  for (auto [k, v] : kwargs) {
    std::string name = k.cast<std::string>();
    keywords.emplace_back(name, terrazzo::python::toHostValue(v, &keepAlive, name));
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
// Launch options given as keywords of a launch, taken out of the kernel's
// keywords.
struct LaunchOptions {
  terrazzo::GpuOptions gpu;
  py::object stream = py::none();
};

// A keyword that names a kernel parameter binds to that parameter and is not
// a launch option (Triton's rule: the softmax tutorial's kernel takes
// `num_stages: tl.constexpr` and is launched with num_stages=...).
LaunchOptions takeLaunchOptions(terrazzo::Keywords &keywords, const py::dict &kwargs, const Kernel &kernel) {
  std::vector<std::string> paramNames;
  for (auto &kv : keywords)
    if (kv.first == "num_warps" || kv.first == "num_stages" || kv.first == "min_blocks_per_sm" ||
        kv.first == "stream") {
      paramNames = kernel.paramNames();
      break;
    }
  LaunchOptions o;
  auto isParam = [&](const std::string &name) {
    return std::find(paramNames.begin(), paramNames.end(), name) != paramNames.end();
  };
  auto isOption = [](const std::string &name) {
    return name == "num_warps" || name == "num_stages" || name == "min_blocks_per_sm" || name == "stream";
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
    } else if (it->first == "stream") {
      o.stream = kwargs["stream"];
      it = keywords.erase(it);
    } else {
      ++it;
    }
  }
  return o;
}

bool interpretRequested() {
  const char *env = std::getenv("TZ_INTERPRET");
  return env && *env && std::string(env) != "0";
}

// GPU when an argument lives in GPU memory, or when no argument lives in
// host memory and a GPU is present; the interpreter otherwise, or always
// under TZ_INTERPRET=1.
bool runsOnGpu(const std::vector<HostValue> &args, const terrazzo::Keywords &keywords) {
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
  return !host && terrazzo::gpuAvailable();
}

void *streamFor(const LaunchOptions &o, const std::vector<HostValue> &args) {
  if (!o.stream.is_none()) {
    if (py::hasattr(o.stream, "cuda_stream"))
      return reinterpret_cast<void *>(o.stream.attr("cuda_stream").cast<uintptr_t>());
    return reinterpret_cast<void *>(o.stream.cast<uintptr_t>());
  }
  for (auto &h : args)
    if (h.kind == HostValue::Kind::Pointer && h.device >= 0)
      return terrazzo::python::currentTorchStream(h.device);
  return nullptr;
}
} // namespace

PYBIND11_MODULE(_terrazzo, m) {
  m.doc() = "Terrazzo compiler and runtime (C++)";
  static py::exception<terrazzo::DslError> compilationError(m, "CompilationError", PyExc_Exception);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p)
        std::rethrow_exception(p);
    } catch (const terrazzo::DslError &e) {
      py::set_error(compilationError, e.what());
    }
  });
  // Ctrl-C stops an interpreter run: the interpreter runs with the GIL held
  // and calls this between programs and every few thousand loop iterations.
  terrazzo::setInterruptCheck([] {
    py::gil_scoped_acquire gil; // cheap when held; safe if a caller released it
    if (PyErr_CheckSignals() != 0)
      throw py::error_already_set();
  });
  m.def("version", &terrazzo::version);
  m.def("gpu_available", &terrazzo::gpuAvailable);
  m.def("gpu_unavailable_reason", &terrazzo::gpuUnavailableReason);
  m.def("disk_cache_get", [](const std::string &key) -> py::object {
    std::string payload;
    if (!terrazzo::diskCacheGet(key, payload))
      return py::none();
    return py::bytes(payload);
  });
  m.def("disk_cache_put", [](const std::string &key, py::bytes payload) {
    terrazzo::diskCachePut(key, std::string(payload));
  });
  m.def("gpu_cache_stats", [] {
    auto s = terrazzo::gpuCacheStats();
    py::dict d;
    d["compiled"] = s.compiled;
    d["disk_hits"] = s.diskHits;
    d["memory_hits"] = s.memoryHits;
    return d;
  });
  terrazzo::python::bindOps(m);

  // Compiling and running release the GIL (other Python threads run
  // meanwhile; two threads may launch at once). Everything that touches
  // Python inside takes it back: the resolver of a kernel's globals, the
  // interrupt check. The arguments were converted before, with the GIL, and
  // the objects behind them stay referenced by the call's tuple and dict.
  py::class_<Kernel, std::shared_ptr<Kernel>>(m, "Kernel")
      .def(py::init([](const std::string &source, const std::string &filename, int lineOffset,
                       const std::string &name, py::object lookup) {
             return Kernel::fromSource(source, filename, lineOffset, name,
                                       terrazzo::python::makePythonResolver(std::move(lookup)));
           }),
           py::arg("source"), py::arg("filename"), py::arg("line_offset"), py::arg("name"), py::arg("lookup"))
      .def_static("from_file", &Kernel::fromFile, py::arg("path"), py::arg("name"))
      .def_static("from_library", &Kernel::fromLibrary, py::arg("file"), py::arg("name"))
      .def_static("library_files", &Kernel::libraryFiles)
      .def_property_readonly("name", &Kernel::name)
      .def_property_readonly("param_names", &Kernel::paramNames)
      .def_property_readonly("num_specializations", &Kernel::numSpecializations)
      .def("ir", [](Kernel &k, py::tuple args, py::dict kwargs) {
        std::vector<py::object> keepAlive;
        auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
        py::gil_scoped_release release;
        return k.ir(pos, kw);
      })
      .def("run", [](Kernel &k, py::tuple grid, py::tuple args, py::dict kwargs) {
        auto g = toGrid(grid);
        std::vector<py::object> keepAlive;
        auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
        LaunchOptions o = takeLaunchOptions(kw, kwargs, k);
        std::string printed;
        if (runsOnGpu(pos, kw)) {
          void *stream = streamFor(o, pos);
          py::gil_scoped_release release;
          k.launch(g, pos, kw, o.gpu, stream);
          return;
        }
        {
          py::gil_scoped_release release;
          k.interpret(g, pos, kw, &printed);
        }
        if (!printed.empty())
          py::print(printed, py::arg("end") = "");
      })
      .def("compile_for_gpu", [](Kernel &k, py::tuple args, py::dict kwargs) {
        std::vector<py::object> keepAlive;
        auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
        LaunchOptions o = takeLaunchOptions(kw, kwargs, k);
        if (kwargs.contains("arch")) {
          if (!py::isinstance<py::str>(kwargs["arch"]))
            throw py::type_error("arch must be a string such as 'sm_90a', got " +
                                 py::str(py::type::handle_of(kwargs["arch"]).attr("__name__")).cast<std::string>());
          o.gpu.arch = kwargs["arch"].cast<std::string>();
          kw.erase(std::remove_if(kw.begin(), kw.end(), [](auto &p) { return p.first == "arch"; }), kw.end());
        }
        terrazzo::GpuCompilation c;
        {
          py::gil_scoped_release release;
          c = k.compileForGpu(pos, kw, o.gpu);
        }
        py::dict d;
        d["kernel_name"] = c.kernelName;
        d["arch"] = c.arch;
        d["tzgpu"] = c.tzgpu;
        d["llvm_mlir"] = c.llvmDialect;
        d["llvm"] = c.llvmIR;
        d["ptx"] = c.ptx;
        d["cubin_bytes"] = c.cubinBytes;
        d["registers"] = c.registers;
        d["spill_store_bytes"] = c.spillStoreBytes;
        d["spill_load_bytes"] = c.spillLoadBytes;
        d["shared_bytes"] = c.sharedBytes;
        py::dict stages;
        for (const auto &[stage, seconds] : c.stageSeconds)
          stages[py::str(stage)] = seconds;
        d["stage_seconds"] = stages;
        return d;
      })
      .def("interpret", [](Kernel &k, py::tuple grid, py::tuple args, py::dict kwargs) {
        auto g = toGrid(grid);
        std::vector<py::object> keepAlive;
        auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
        std::string printed;
        {
          py::gil_scoped_release release;
          k.interpret(g, pos, kw, &printed);
        }
        if (!printed.empty())
          py::print(printed, py::arg("end") = "");
      });
}
