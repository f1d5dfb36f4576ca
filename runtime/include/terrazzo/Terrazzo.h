// The public C++ API of libterrazzo: load a kernel from source, look at its
// IR for given arguments, and run it on the CPU interpreter.
//
//   auto kernel = terrazzo::Kernel::fromFile("add.py", "add");
//   kernel->interpret({n / 256}, {x, y, out, n}, {{"BLOCK", 256}});
//
// Errors in the kernel source throw terrazzo::dsl::DslError, whose what()
// shows file:line:col, the source line and a caret.
#pragma once

#include "terrazzo/dsl/HostValue.h"
#include "terrazzo/dsl/Source.h"

#include <array>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#define TERRAZZO_API __attribute__((visibility("default")))

namespace terrazzo {

using dsl::DslError;
using dsl::HostValue;
using dsl::Resolver;
using Keywords = std::vector<std::pair<std::string, HostValue>>;

// Version of the compiler; part of every cache key.
TERRAZZO_API const char *version();

class TERRAZZO_API Kernel {
public:
  // `source` holds the function `name` (or a whole module containing it);
  // `lineOffset` is added to line numbers in diagnostics.
  static std::shared_ptr<Kernel> fromSource(const std::string &source, const std::string &filename,
                                            int lineOffset, const std::string &name,
                                            std::shared_ptr<const Resolver> resolver);
  // Loads `name` from a kernel source file; module-level functions, constants
  // and `import terrazzo as tz` in that file are visible to the kernel.
  static std::shared_ptr<Kernel> fromFile(const std::string &path, const std::string &name);
  // Loads `name` from a source of the kernel library (kernels/<file>, built
  // into libterrazzo.so), e.g. fromLibrary("flash_attention.py", "flash_attention_fwd").
  static std::shared_ptr<Kernel> fromLibrary(const std::string &file, const std::string &name);
  // File names of the kernel library's sources.
  static std::vector<std::string> libraryFiles();

  ~Kernel();
  const std::string &name() const;
  std::vector<std::string> paramNames() const;
  // This kernel as a value another kernel can call or take as a constexpr.
  HostValue asValue() const;

  // The tz-dialect IR of the specialization for these arguments.
  std::string ir(const std::vector<HostValue> &args, const Keywords &keywords = {});

  // Runs every program of `grid` on the CPU interpreter. Pointer arguments
  // must describe host memory. device_print output goes to `printOutput`
  // when given, else to stdout.
  void interpret(std::array<int64_t, 3> grid, const std::vector<HostValue> &args,
                 const Keywords &keywords = {}, std::string *printOutput = nullptr);

  // Number of compilations so far (for tests of the cache): a new
  // specialization, or one recompiled because a global it read changed.
  size_t numSpecializations() const;

private:
  struct Impl;
  explicit Kernel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

} // namespace terrazzo
