// Specialization and code generation: one kernel-language function plus the
// values of its arguments becomes one func.func in the tz dialect.
#pragma once

#include "terrazzo/dsl/HostValue.h"
#include "terrazzo/dsl/JitFunction.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
}

namespace terrazzo::dsl {

// Matches launch arguments to parameters the way Python does (positional,
// then keywords, then defaults, which are evaluated as constexprs). Throws
// DslError naming the parameter on a missing, duplicate or unknown argument.
std::vector<HostValue> bindArguments(const JitFunction &fn, const std::vector<HostValue> &positional,
                                     const std::vector<std::pair<std::string, HostValue>> &keywords);

// The specialization key of a launch (arguments already bound): constexpr
// values, argument dtypes, and Triton's integer and pointer properties
// (value == 1, divisibility by 16, 16-byte alignment).
std::string specializationKey(const JitFunction &fn, const std::vector<HostValue> &args);
// The per-argument part of that key (without the function's fingerprint):
// enough to tell apart the specializations of one function, and cheap to
// build on every launch.
std::string argumentKey(const JitFunction &fn, const std::vector<HostValue> &args);

struct SpecializedKernel {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::string kernelName;
  // For each parameter, its position among the kernel's run-time arguments,
  // or -1 when specialization folded it into the code (constexprs, ints == 1).
  std::vector<int> paramToArgument;
  // The sources of every function inlined into the kernel, so run-time
  // errors (from the interpreter) can quote the line they point at.
  std::vector<SourceFilePtr> sources;
  // Every module-level name the kernel read, with the value it had. The code
  // depends on these values, so a launch after one of them changed (a global
  // rebound, another closure) must compile again.
  struct GlobalUse {
    std::shared_ptr<const Resolver> resolver;
    std::string name;
    HostValue value;
  };
  std::vector<GlobalUse> globals;
};

// True when every global the kernel read still has the value it was compiled with.
bool globalsUnchanged(const SpecializedKernel &kernel);

// Loads the dialects the generated IR uses into `context`.
void loadKernelDialects(mlir::MLIRContext &context);

// Generates the tz-dialect kernel for `fn` specialized to `args` (one per
// parameter, as returned by bindArguments), canonicalized and verified.
// Throws DslError for any problem in the kernel source.
SpecializedKernel generateKernel(mlir::MLIRContext &context, const JitFunction &fn,
                                 const std::vector<HostValue> &args);

} // namespace terrazzo::dsl
