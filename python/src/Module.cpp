// terrazzo._terrazzo: the Python binding of libterrazzo's public API.
#include "DeviceTensors.h"
#include "FastLaunch.h"
#include "HostValues.h"
#include "KernelCalls.h"
#include "Ops.h"

#include "terrazzo/ResourcePruning.h"

#include <pybind11/stl.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdlib>

namespace py = pybind11;
using terrazzo::HostValue;
using terrazzo::Kernel;
using terrazzo::python::convertArgs;
using terrazzo::python::LaunchOptions;
using terrazzo::python::takeLaunchOptions;
using terrazzo::python::toGrid;

namespace {
// compile_for_gpu's and prepare_launch's `arch` keyword (a target such as
// "sm_90a"), taken out of the kernel's keywords.
void takeArchOption(const py::dict &kwargs, terrazzo::Keywords &kw, LaunchOptions &o) {
  if (!kwargs.contains("arch"))
    return;
  if (!py::isinstance<py::str>(kwargs["arch"]))
    throw py::type_error("arch must be a string such as 'sm_90a', got " +
                         py::str(py::type::handle_of(kwargs["arch"]).attr("__name__")).cast<std::string>());
  o.gpu.arch = kwargs["arch"].cast<std::string>();
  kw.erase(std::remove_if(kw.begin(), kw.end(), [](auto &p) { return p.first == "arch"; }), kw.end());
}
// What compile_for_gpu and prepare_launch both report of a compilation:
// its name, target, size and resources, and ptxas's log (info and warnings,
// e.g. wgmma serialized).
py::dict compiledResources(const terrazzo::GpuCompilation &c) {
  py::dict d;
  d["kernel_name"] = c.kernelName;
  d["arch"] = c.arch;
  d["cubin_bytes"] = c.cubinBytes;
  d["launch_warps"] = c.launchWarps;
  d["registers"] = c.registers;
  d["spill_store_bytes"] = c.spillStoreBytes;
  d["spill_load_bytes"] = c.spillLoadBytes;
  d["shared_bytes"] = c.sharedBytes;
  d["assembler_log"] = c.assemblerLog;
  return d;
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
  // The autotuners' pruning (terrazzo/ResourcePruning.h): each candidate is
  // a list of dicts as prepare_launch returns them, or with "compile_error".
  m.def("resource_prune_reasons", [](py::list candidates, int64_t sharedLimit) {
    std::vector<std::vector<terrazzo::KernelResources>> all;
    for (py::handle candidate : candidates) {
      std::vector<terrazzo::KernelResources> kernels;
      for (py::handle item : candidate) {
        py::dict d = py::reinterpret_borrow<py::dict>(item);
        terrazzo::KernelResources k;
        auto get = [&](const char *name, auto fallback) {
          return d.contains(name) ? d[name].cast<decltype(fallback)>() : fallback;
        };
        k.kernelName = get("kernel_name", std::string());
        k.compileError = get("compile_error", std::string());
        k.numWarps = get("num_warps", 4);
        k.minBlocksPerSM = get("min_blocks_per_sm", 0);
        k.registers = get("registers", -1);
        k.spillStoreBytes = get("spill_store_bytes", 0);
        k.spillLoadBytes = get("spill_load_bytes", 0);
        k.sharedBytes = get("shared_bytes", int64_t(0));
        kernels.push_back(std::move(k));
      }
      all.push_back(std::move(kernels));
    }
    return terrazzo::resourcePruneReasons(all, sharedLimit);
  }, py::arg("candidates"), py::arg("shared_limit"));
  m.def("gpu_shared_memory_limit", &terrazzo::gpuSharedMemoryLimit);
  m.def("gpu_cache_stats", [] {
    auto s = terrazzo::gpuCacheStats();
    py::dict d;
    d["compiled"] = s.compiled;
    d["disk_hits"] = s.diskHits;
    d["memory_hits"] = s.memoryHits;
    d["tma_launches"] = s.tmaLaunches;
    d["tma_fallbacks"] = s.tmaFallbacks;
    return d;
  });
  // Persistent launches so far, by where they ran (tests, gpu-check).
  m.def("persistent_launch_stats", [] {
    auto s = terrazzo::persistentLaunchStats();
    py::dict d;
    d["gpu_launches"] = s.gpuLaunches;
    d["gpu_programs"] = s.gpuPrograms;
    d["gpu_tiles"] = s.gpuTiles;
    d["interpreted_launches"] = s.interpretedLaunches;
    d["interpreted_programs"] = s.interpretedPrograms;
    d["interpreted_tiles"] = s.interpretedTiles;
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
        // A launch's options are accepted; persistent=True shows the kernel
        // a persistent launch runs.
        LaunchOptions o = takeLaunchOptions(kw, kwargs, k);
        py::gil_scoped_release release;
        return k.ir(pos, kw, terrazzo::wantsPersistent(o.gpu));
      })
      .def("run", [](Kernel &k, py::tuple grid, py::tuple args, py::dict kwargs) {
        terrazzo::python::runKernelCall(k, grid, args, kwargs);
      })
      .def("compile_for_gpu", [](Kernel &k, py::tuple args, py::dict kwargs) {
        std::vector<py::object> keepAlive;
        auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
        LaunchOptions o = takeLaunchOptions(kw, kwargs, k);
        takeArchOption(kwargs, kw, o);
        terrazzo::GpuCompilation c;
        {
          py::gil_scoped_release release;
          c = k.compileForGpu(pos, kw, o.gpu);
        }
        py::dict d = compiledResources(c);
        d["tzgpu"] = c.tzgpu;
        d["llvm_mlir"] = c.llvmDialect;
        d["llvm"] = c.llvmIR;
        d["ptx"] = c.ptx;
        py::dict stages;
        for (const auto &[stage, seconds] : c.stageSeconds)
          stages[py::str(stage)] = seconds;
        d["stage_seconds"] = stages;
        d["compile_seconds"] = c.compileSeconds; // the stages plus printing the texts above
        return d;
      })
      // What launch() would run with these arguments and options, compiled
      // (or read from the disk cache) and kept for that launch; its
      // resources, for the autotuner's pruning (Kernel::prepareLaunch).
      .def("prepare_launch", [](Kernel &k, py::tuple args, py::dict kwargs) {
        std::vector<py::object> keepAlive;
        auto [pos, kw] = convertArgs(k, args, kwargs, keepAlive);
        LaunchOptions o = takeLaunchOptions(kw, kwargs, k);
        takeArchOption(kwargs, kw, o);
        terrazzo::GpuCompilation c;
        {
          py::gil_scoped_release release;
          c = k.prepareLaunch(pos, kw, o.gpu);
        }
        py::dict d = compiledResources(c);
        d["num_warps"] = o.gpu.numWarps;
        d["min_blocks_per_sm"] = o.gpu.minBlocksPerSM;
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
  terrazzo::python::bindFastLaunch(m);
}
