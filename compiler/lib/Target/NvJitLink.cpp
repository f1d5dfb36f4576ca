//===- NvJitLink.cpp - PTX to cubin through nvJitLink, loaded at run time -===//
//
// nvJitLink is CUDA's in-process ptxas + linker. It is opened with dlopen, not
// linked, so libterrazzo.so loads (and runs the interpreter) on machines
// without the CUDA toolkit; there compilePTXToCubin reports that it is missing.
//
//===----------------------------------------------------------------------===//
#include "terrazzo/Target/PTXBackend.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <future>
#include <optional>
#include <system_error>

namespace terrazzo::target {
namespace {

// The C API as nvJitLink.h declares it (CUDA 12 and 13); declared here so that
// building needs no CUDA headers. Its enums are passed as int.
struct NvJitLinkOpaque;
using Handle = NvJitLinkOpaque *;
using CreateFn = int (*)(Handle *, uint32_t, const char **);
using DestroyFn = int (*)(Handle *);
using AddDataFn = int (*)(Handle, int, const void *, size_t, const char *);
using CompleteFn = int (*)(Handle);
using GetSizeFn = int (*)(Handle, size_t *);
using GetBytesFn = int (*)(Handle, char *);
constexpr int kSuccess = 0;
constexpr int kInputPTX = 2;

struct NvJitLinkApi {
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  AddDataFn addData = nullptr;
  CompleteFn complete = nullptr;
  GetSizeFn cubinSize = nullptr, errorLogSize = nullptr, infoLogSize = nullptr;
  GetBytesFn cubin = nullptr, errorLog = nullptr, infoLog = nullptr;

  bool resolve(void *library) {
    auto get = [library](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(library, name));
      return fn != nullptr;
    };
    return get(create, "nvJitLinkCreate") && get(destroy, "nvJitLinkDestroy") &&
           get(addData, "nvJitLinkAddData") && get(complete, "nvJitLinkComplete") &&
           get(cubinSize, "nvJitLinkGetLinkedCubinSize") && get(cubin, "nvJitLinkGetLinkedCubin") &&
           get(errorLogSize, "nvJitLinkGetErrorLogSize") && get(errorLog, "nvJitLinkGetErrorLog") &&
           get(infoLogSize, "nvJitLinkGetInfoLogSize") && get(infoLog, "nvJitLinkGetInfoLog");
  }
};

/// The loader's search path first (LD_LIBRARY_PATH, ldconfig), then the usual
/// toolkit locations. The library stays loaded for the life of the process.
std::optional<NvJitLinkApi> loadNvJitLink() {
  llvm::SmallVector<std::string, 6> candidates = {"libnvJitLink.so.13", "libnvJitLink.so"};
  if (const char *cudaHome = std::getenv("CUDA_HOME"))
    candidates.push_back(std::string(cudaHome) + "/lib64/libnvJitLink.so.13");
  candidates.push_back("/usr/local/cuda/lib64/libnvJitLink.so.13");
  for (const std::string &candidate : candidates) {
    void *library = dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!library)
      continue;
    NvJitLinkApi api;
    if (api.resolve(library))
      return api;
    dlclose(library);
  }
  return std::nullopt;
}

/// The one load of the process, started by the first caller of
/// preloadNvJitLink or nvJitLink, on a thread of its own when one can start.
const std::shared_future<std::optional<NvJitLinkApi>> &nvJitLinkLoad() {
  static const std::shared_future<std::optional<NvJitLinkApi>> load = [] {
    try {
      return std::async(std::launch::async, loadNvJitLink).share();
    } catch (const std::system_error &) { // no thread: load here
      std::promise<std::optional<NvJitLinkApi>> loaded;
      loaded.set_value(loadNvJitLink());
      return loaded.get_future().share();
    }
  }();
  return load;
}

const std::optional<NvJitLinkApi> &nvJitLink() { return nvJitLinkLoad().get(); }

const char *resultName(int result) {
  static const char *const names[] = {
      "NVJITLINK_SUCCESS", "NVJITLINK_ERROR_UNRECOGNIZED_OPTION", "NVJITLINK_ERROR_MISSING_ARCH",
      "NVJITLINK_ERROR_INVALID_INPUT", "NVJITLINK_ERROR_PTX_COMPILE", "NVJITLINK_ERROR_NVVM_COMPILE",
      "NVJITLINK_ERROR_INTERNAL", "NVJITLINK_ERROR_THREADPOOL", "NVJITLINK_ERROR_UNRECOGNIZED_INPUT",
      "NVJITLINK_ERROR_FINALIZE", "NVJITLINK_ERROR_NULL_INPUT", "NVJITLINK_ERROR_INCOMPATIBLE_OPTIONS",
      "NVJITLINK_ERROR_INCORRECT_INPUT_TYPE", "NVJITLINK_ERROR_ARCH_MISMATCH", "NVJITLINK_ERROR_OUTDATED_LIBRARY",
      "NVJITLINK_ERROR_MISSING_FATBIN", "NVJITLINK_ERROR_UNRECOGNIZED_ARCH", "NVJITLINK_ERROR_UNSUPPORTED_ARCH",
      "NVJITLINK_ERROR_LTO_NOT_ENABLED"};
  return result >= 0 && result < int(std::size(names)) ? names[result] : "unknown nvJitLink error";
}

/// Reads one of nvJitLink's size-then-bytes outputs (a log, the cubin).
std::vector<char> readBytes(Handle handle, GetSizeFn size, GetBytesFn bytes) {
  size_t n = 0;
  if (size(handle, &n) != kSuccess || n == 0)
    return {};
  std::vector<char> out(n);
  if (bytes(handle, out.data()) != kSuccess)
    return {};
  return out;
}

/// Logs are C strings whose size counts the terminating NUL.
std::string readLog(Handle handle, GetSizeFn size, GetBytesFn bytes) {
  std::vector<char> log = readBytes(handle, size, bytes);
  if (log.empty())
    return {};
  return std::string(log.data(), strnlen(log.data(), log.size()));
}

struct KernelStats {
  int registers = -1;
  int spillStores = 0, spillLoads = 0;
  int shared = 0;
};

/// The number just before `suffix` in `line` ("8 registers" -> 8).
std::optional<int> numberBefore(llvm::StringRef line, llvm::StringRef suffix) {
  size_t end = line.find(suffix);
  if (end == llvm::StringRef::npos)
    return std::nullopt;
  size_t begin = end;
  while (begin > 0 && llvm::isDigit(line[begin - 1]))
    --begin;
  int value = 0;
  if (begin == end || line.slice(begin, end).getAsInteger(10, value))
    return std::nullopt;
  return value;
}

/// The verbose log reports each function twice: ptxas's own lines
///   ptxas info    : Function properties for k
///   ptxas         .     0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
///   ptxas info    : Used 8 registers, used 1 barriers, 256 bytes smem
/// and the linker's summary ("info    : Function properties for 'k':" then
/// "used 8 registers, ..., 1280 bytes smem, ..."), whose smem includes the
/// 1 KB sm_90 reserves per block. ptxas's figures are preferred.
struct InfoLog {
  llvm::StringMap<KernelStats> ptxas, linker;

  explicit InfoLog(llvm::StringRef log) {
    KernelStats *current = nullptr;
    llvm::SmallVector<llvm::StringRef> lines;
    log.split(lines, '\n');
    for (llvm::StringRef line : lines) {
      constexpr llvm::StringLiteral header = "Function properties for ";
      if (size_t at = line.find(header); at != llvm::StringRef::npos) {
        llvm::StringRef name = line.drop_front(at + header.size()).trim().rtrim(':').trim('\'');
        current = &(line.starts_with("ptxas") ? ptxas : linker)[name];
        continue;
      }
      if (!current)
        continue;
      if (auto n = numberBefore(line, " registers"))
        current->registers = *n;
      if (auto n = numberBefore(line, " bytes smem"))
        current->shared = *n;
      if (auto n = numberBefore(line, " bytes spill stores"))
        current->spillStores = *n;
      if (auto n = numberBefore(line, " bytes spill loads"))
        current->spillLoads = *n;
    }
  }

  /// The named kernel's figures, or the largest of each over all functions.
  std::optional<KernelStats> stats(llvm::StringRef kernel) const {
    const llvm::StringMap<KernelStats> &source = ptxas.empty() ? linker : ptxas;
    if (!kernel.empty()) {
      auto it = source.find(kernel);
      return it == source.end() ? std::nullopt : std::optional(it->second);
    }
    if (source.empty())
      return std::nullopt;
    KernelStats max;
    for (const auto &entry : source) {
      max.registers = std::max(max.registers, entry.second.registers);
      max.spillStores = std::max(max.spillStores, entry.second.spillStores);
      max.spillLoads = std::max(max.spillLoads, entry.second.spillLoads);
      max.shared = std::max(max.shared, entry.second.shared);
    }
    return max;
  }
};

/// Destroys the nvJitLink handle on every path out of compilePTXToCubin.
struct HandleGuard {
  const NvJitLinkApi &api;
  Handle handle = nullptr;
  ~HandleGuard() {
    if (handle)
      api.destroy(&handle);
  }
};

} // namespace

bool nvJitLinkAvailable() { return nvJitLink().has_value(); }

void preloadNvJitLink() { (void)nvJitLinkLoad(); }

llvm::Expected<CubinResult> compilePTXToCubin(llvm::StringRef ptx, llvm::StringRef arch, llvm::StringRef kernelName) {
  const std::optional<NvJitLinkApi> &api = nvJitLink();
  if (!api)
    return llvm::createStringError("nvJitLink was not found (looked for libnvJitLink.so.13 on the loader path, "
                                   "in $CUDA_HOME/lib64 and in /usr/local/cuda/lib64); it is needed to compile "
                                   "PTX to a cubin");

  // nvJitLink ends the process (exit 1) on an -arch it does not know, so the
  // arch is checked here first.
  if (!llvm::is_contained(supportedArchs(), arch))
    return llvm::createStringError("unsupported GPU architecture '" + arch +
                                   "' (supported: " + llvm::join(supportedArchs(), ", ") + ")");
  std::string archOption = "-arch=" + arch.str();
  const char *options[] = {archOption.c_str(), "-O3", "-verbose"};
  HandleGuard guard{*api};
  if (int result = api->create(&guard.handle, std::size(options), options); result != kSuccess)
    return llvm::createStringError("nvJitLink rejected the options for '" + arch + "' (" + resultName(result) + ")");

  // A copy, so that nvJitLink sees a NUL-terminated text whatever `ptx` views.
  std::string text = ptx.str();
  std::string inputName = kernelName.empty() ? "terrazzo.ptx" : kernelName.str() + ".ptx";
  int result = api->addData(guard.handle, kInputPTX, text.c_str(), text.size(), inputName.c_str());
  if (result == kSuccess)
    result = api->complete(guard.handle);

  CubinResult out;
  out.infoLog = readLog(guard.handle, api->infoLogSize, api->infoLog);
  if (result != kSuccess) {
    std::string errorLog = readLog(guard.handle, api->errorLogSize, api->errorLog);
    return llvm::createStringError("nvJitLink could not compile PTX for " + arch + " (" + resultName(result) +
                                   "):\n" + llvm::StringRef(errorLog).rtrim());
  }
  out.cubin = readBytes(guard.handle, api->cubinSize, api->cubin);
  if (out.cubin.empty())
    return llvm::createStringError("nvJitLink produced no cubin for " + arch);

  if (std::optional<KernelStats> stats = InfoLog(out.infoLog).stats(kernelName)) {
    out.registers = stats->registers;
    out.spillStoreBytes = stats->spillStores;
    out.spillLoadBytes = stats->spillLoads;
    out.sharedBytes = stats->shared;
  }
  return out;
}

} // namespace terrazzo::target
