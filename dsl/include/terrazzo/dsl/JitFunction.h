// A kernel-language function: its parsed definition plus the resolver that
// gives meaning to the module-level names it uses.
#pragma once

#include "terrazzo/dsl/AST.h"
#include "terrazzo/dsl/HostValue.h"

#include <memory>
#include <string>
#include <vector>

namespace terrazzo::dsl {

class JitFunction {
public:
  // Parses `source` and picks the function called `name` (the first function
  // definition when `name` is empty). Throws DslError.
  static std::shared_ptr<JitFunction> fromSource(SourceFilePtr source, const std::string &name,
                                                 std::shared_ptr<const Resolver> resolver);

  const std::string &name() const { return def_->name; }
  const Stmt &definition() const { return *def_; }
  const SourceFile &source() const { return *module_->source; }
  SourceFilePtr sourcePtr() const { return module_->source; }
  const Resolver &resolver() const { return *resolver_; }
  std::shared_ptr<const Resolver> resolverPtr() const { return resolver_; }
  size_t numParams() const { return def_->params.size(); }
  const Param &param(size_t i) const { return def_->params[i]; }
  // A parameter annotated `tz.constexpr` (or any `<...>.constexpr`).
  bool isConstexprParam(size_t i) const;
  // Identity of the definition for cache keys: file, name and source text.
  const std::string &fingerprint() const { return fingerprint_; }

private:
  JitFunction() = default;
  std::unique_ptr<Module> module_;
  const Stmt *def_ = nullptr;
  std::shared_ptr<const Resolver> resolver_;
  std::string fingerprint_;
};

// Resolves names from the top level of one parsed source file: its function
// definitions (as jit functions), its imports of terrazzo/triton, and global
// assignments of constants (`BLOCK = 128`, `X = tz.constexpr(4)`). Used when
// C++ programs load kernels from files.
std::shared_ptr<const Resolver> makeFileResolver(SourceFilePtr source);

} // namespace terrazzo::dsl
