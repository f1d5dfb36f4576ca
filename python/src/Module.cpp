// terrazzo._terrazzo: the Python binding of libterrazzo's public API.
#include "HostValues.h"
#include "Ops.h"

#include <pybind11/stl.h>

namespace py = pybind11;
using terrazzo::HostValue;
using terrazzo::Kernel;

namespace {
// Positional and keyword Python arguments -> host values. The arrays stay
// alive for the call (the caller's tuple/dict references them); DLPack
// exports are held in `keepAlive` until the call returns.
std::pair<std::vector<HostValue>, terrazzo::Keywords> convertArgs(const py::tuple &args, const py::dict &kwargs,
                                                                  std::vector<py::object> &keepAlive) {
  std::vector<HostValue> positional;
  for (auto a : args)
    positional.push_back(terrazzo::python::toHostValue(a, &keepAlive));
  terrazzo::Keywords keywords;
  for (auto [k, v] : kwargs)
    keywords.emplace_back(k.cast<std::string>(), terrazzo::python::toHostValue(v, &keepAlive));
  return {positional, keywords};
}

std::array<int64_t, 3> toGrid(const py::tuple &grid) {
  if (grid.size() < 1 || grid.size() > 3)
    throw py::value_error("grid must have 1 to 3 dimensions, got " + std::to_string(grid.size()));
  std::array<int64_t, 3> g = {1, 1, 1};
  for (size_t i = 0; i < grid.size(); ++i) {
    if (!py::isinstance<py::int_>(grid[i]))
      throw py::type_error("grid dimensions must be integers");
    g[i] = grid[i].cast<int64_t>();
    if (g[i] < 0)
      throw py::value_error("grid dimensions must be non-negative");
  }
  return g;
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
  m.def("version", &terrazzo::version);
  terrazzo::python::bindOps(m);

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
        auto [pos, kw] = convertArgs(args, kwargs, keepAlive);
        return k.ir(pos, kw);
      })
      .def("interpret", [](Kernel &k, py::tuple grid, py::tuple args, py::dict kwargs) {
        auto g = toGrid(grid);
        std::vector<py::object> keepAlive;
        auto [pos, kw] = convertArgs(args, kwargs, keepAlive);
        std::string printed;
        k.interpret(g, pos, kw, &printed);
        if (!printed.empty())
          py::print(printed, py::arg("end") = "");
      });
}
