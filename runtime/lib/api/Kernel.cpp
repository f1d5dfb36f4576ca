// terrazzo::Kernel: specialization cache and the interpreter entry point.
#include "terrazzo/Terrazzo.h"
#include "terrazzo/KernelLibrary.h"
#include "KernelImpl.h"
#include "Persistent.h"

#include <chrono>

#include "terrazzo/dsl/CodeGen.h"
#include "terrazzo/dsl/JitFunction.h"
#include "terrazzo/interpreter/Interpreter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

namespace terrazzo {

const char *version() { return "0.1.0"; }

void setInterruptCheck(void (*check)()) { interp::setInterruptCheck(check); }

bool dumpRequested(const std::string &stage) {
  const char *env = std::getenv("TZ_DUMP");
  if (!env)
    return false;
  std::stringstream list(env);
  std::string item;
  while (std::getline(list, item, ','))
    if (item == stage || item == "all")
      return true;
  return false;
}

[[noreturn]] void throwAtSource(mlir::Location loc, const std::string &message, const dsl::SpecializedKernel &k) {
  if (auto fused = mlir::dyn_cast<mlir::FusedLoc>(loc))
    if (!fused.getLocations().empty())
      loc = fused.getLocations().front();
  if (auto fl = mlir::dyn_cast<mlir::FileLineColLoc>(loc)) {
    dsl::SourceLoc at{(int)fl.getLine(), (int)fl.getColumn()};
    for (auto &src : k.sources) {
      if (src->filename() != fl.getFilename().str())
        continue;
      if (!src->lineText(at.line).empty())
        throw dsl::DslError(src.get(), at, message);
    }
    dsl::SourceFile bare(fl.getFilename().str(), "");
    throw dsl::DslError(&bare, at, message);
  }
  throw dsl::DslError(nullptr, dsl::SourceLoc{}, message);
}

namespace {
// Renders an interpreter error at the kernel line it points at.
[[noreturn]] void rethrowAtSource(const interp::InterpreterError &e, const dsl::SpecializedKernel &k) {
  throwAtSource(e.loc(), e.message(), k);
}
} // namespace

std::shared_ptr<Specialization> Kernel::Impl::specialize(const std::vector<HostValue> &bound) {
  // Every entry of `cache` belongs to this one function, so the launch-time
  // lookup keys on the arguments alone (the function's source text, part of
  // the full specialization key, would be copied on every launch).
  std::string key = dsl::argumentKey(*fn, bound);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find(key);
  // A hit is only valid while the globals it was compiled against keep
  // their values.
  if (it != cache.end() && dsl::globalsUnchanged(it->second->kernel))
    return it->second;
  auto spec = std::make_shared<Specialization>();
  spec->key = dsl::specializationKey(*fn, bound);
  spec->context = std::make_unique<mlir::MLIRContext>(mlir::MLIRContext::Threading::DISABLED);
  auto start = std::chrono::steady_clock::now();
  spec->kernel = dsl::generateKernel(*spec->context, *fn, bound);
  spec->frontendSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (dumpRequested("ir")) {
    llvm::errs() << "// -----// tz IR of " << fn->name() << " //----- //\n";
    spec->kernel.module->print(llvm::errs());
    llvm::errs() << "\n";
  }
  cache[key] = spec;
  ++compilations;
  return spec;
}

Kernel::Kernel(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Kernel::~Kernel() = default;

std::shared_ptr<Kernel> Kernel::fromSource(const std::string &source, const std::string &filename,
                                           int lineOffset, const std::string &name,
                                           std::shared_ptr<const Resolver> resolver) {
  auto file = std::make_shared<dsl::SourceFile>(filename, source, lineOffset);
  auto impl = std::make_unique<Impl>();
  impl->fn = dsl::JitFunction::fromSource(file, name, std::move(resolver));
  return std::shared_ptr<Kernel>(new Kernel(std::move(impl)));
}

namespace {
std::shared_ptr<dsl::JitFunction> loadFromModule(dsl::SourceFilePtr file, const std::string &name) {
  return dsl::JitFunction::fromSource(file, name, dsl::makeFileResolver(file));
}
} // namespace

std::shared_ptr<Kernel> Kernel::fromFile(const std::string &path, const std::string &name) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot open kernel source '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  auto impl = std::make_unique<Impl>();
  impl->fn = loadFromModule(std::make_shared<dsl::SourceFile>(path, text.str(), 0), name);
  return std::shared_ptr<Kernel>(new Kernel(std::move(impl)));
}

std::shared_ptr<Kernel> Kernel::fromLibrary(const std::string &file, const std::string &name) {
  for (auto &src : library::embeddedSources()) {
    if (file != src.filename)
      continue;
    auto impl = std::make_unique<Impl>();
    impl->fn = loadFromModule(std::make_shared<dsl::SourceFile>("kernels/" + file, src.text, 0), name);
    return std::shared_ptr<Kernel>(new Kernel(std::move(impl)));
  }
  throw std::invalid_argument("the kernel library has no source '" + file + "'");
}

std::vector<std::string> Kernel::libraryFiles() {
  std::vector<std::string> files;
  for (auto &src : library::embeddedSources())
    files.push_back(src.filename);
  return files;
}

const std::string &Kernel::name() const { return impl_->fn->name(); }

std::vector<std::string> Kernel::paramNames() const {
  std::vector<std::string> names;
  for (size_t i = 0; i < impl_->fn->numParams(); ++i)
    names.push_back(impl_->fn->param(i).name);
  return names;
}

HostValue Kernel::asValue() const { return HostValue::jitFunction(impl_->fn); }

size_t Kernel::numSpecializations() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->compilations;
}

std::string Kernel::ir(const std::vector<HostValue> &args, const Keywords &keywords, bool persistent) {
  auto bound = dsl::bindArguments(*impl_->fn, args, keywords);
  std::shared_ptr<Specialization> held = impl_->specialize(bound);
  Specialization &spec = *held;
  std::string text;
  llvm::raw_string_ostream os(text);
  if (persistent)
    persistentModule(spec, impl_->mutex)->print(os);
  else
    spec.kernel.module->print(os);
  return text;
}

void Kernel::interpret(std::array<int64_t, 3> grid, const std::vector<HostValue> &args,
                       const Keywords &keywords, std::string *printOutput, int persistentPrograms) {
  for (int64_t g : grid)
    if (g < 0)
      throw std::invalid_argument("grid dimensions must be non-negative");
  auto bound = dsl::bindArguments(*impl_->fn, args, keywords);
  std::shared_ptr<Specialization> held = impl_->specialize(bound);
  Specialization &spec = *held;
  std::vector<interp::HostBuffer> buffers;
  std::vector<interp::KernelArgument> arguments;
  for (size_t i = 0; i < bound.size(); ++i) {
    if (spec.kernel.paramToArgument[i] < 0)
      continue;
    const HostValue &h = bound[i];
    interp::KernelArgument a;
    switch (h.kind) {
    case HostValue::Kind::Pointer:
      if (h.device != -1)
        throw std::invalid_argument("argument '" + impl_->fn->param(i).name +
                                    "' is in GPU memory; the interpreter needs host memory");
      if (!h.data && h.bytes)
        throw std::invalid_argument("argument '" + impl_->fn->param(i).name + "' has no data");
      a.kind = interp::KernelArgument::Kind::Pointer;
      a.bufferIndex = buffers.size();
      buffers.push_back({h.data, h.bytes, impl_->fn->param(i).name, h.readOnly});
      if (!h.shape.empty()) {
        buffers.back().itemBytes = h.itemBytes;
        buffers.back().shape = h.shape;
        buffers.back().byteStrides = h.byteStrides;
      }
      break;
    case HostValue::Kind::Int:
      a.kind = interp::KernelArgument::Kind::Int;
      a.intValue = h.intValue;
      break;
    case HostValue::Kind::Bool:
      a.kind = interp::KernelArgument::Kind::Int;
      a.intValue = h.boolValue;
      break;
    case HostValue::Kind::Float:
      a.kind = interp::KernelArgument::Kind::Float;
      a.floatValue = h.floatValue;
      break;
    default:
      throw std::invalid_argument("argument '" + impl_->fn->param(i).name + "' cannot be passed at run time");
    }
    arguments.push_back(a);
  }
  mlir::ModuleOp module = spec.kernel.module.get();
  interp::LaunchGrid launch;
  launch.programs = grid;
  if (persistentPrograms > 0) {
    // The persistent kernel walks the tiles of `grid`, passed after its
    // arguments, on at most persistentPrograms programs.
    int64_t tiles = persistentTileCount(grid, persistentPrograms);
    module = persistentModule(spec, impl_->mutex);
    for (int64_t g : grid) {
      interp::KernelArgument a;
      a.kind = interp::KernelArgument::Kind::Int;
      a.intValue = g;
      arguments.push_back(a);
    }
    launch.programs = {std::min<int64_t>(tiles, persistentPrograms), 1, 1};
    countPersistentLaunch(false, launch.programs[0], tiles);
  }
  auto func = *module.getOps<mlir::func::FuncOp>().begin();
  try {
    interp::runKernel(func, launch, buffers, arguments, printOutput);
  } catch (const interp::InterpreterError &e) {
    rethrowAtSource(e, spec.kernel);
  }
}

} // namespace terrazzo
