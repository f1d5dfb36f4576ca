// tzc: compile one kernel of a DSL source file for a given signature and
// print its IR.
//
//   tzc add.py --kernel add --signature '*fp32,*fp32,*fp32,i32' -D BLOCK=256
//
// Signature entries, one per non-keyword parameter in order:
//   *fp32, *bf16, ...  a pointer to that dtype (16-byte aligned)
//   i32, i64, fp32, i1 a run-time scalar (no value specialization)
//   i32:16             a run-time integer known to be a multiple of 16
//   123, 1.5, True     a constexpr value; 'text' a string, tz.float16 a dtype
// -D NAME=VALUE binds a parameter by name (constexprs, usually).
#include "terrazzo/Terrazzo.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <cstring>
#include <algorithm>
#include <iostream>
#include <sstream>

using terrazzo::HostValue;

namespace {
void usage() {
  std::cerr << "usage: tzc FILE --kernel NAME [--signature SIG] [-D NAME=VALUE]...\n"
               "           [--emit=tz|tzgpu|llvm-mlir|llvm|ptx|cubin] [--arch=sm_90a] [--num-warps=N]\n"
               "           [--num-stages=N] [--min-blocks-per-sm=N] [--tma]\n"
               "           [--warp-specialize] [--persistent]\n"
               "  the launch options are those of a Python launch (num_warps, num_stages, min_blocks_per_sm;\n"
               "  compile_for_gpu's arch), as --opt=VALUE or --opt VALUE\n"
               "  --emit=cubin assembles with nvJitLink and prints registers, spills and shared memory\n"
               "  --tma copies each pipelined tile that can be with TMA and mbarriers (sm_90a)\n"
               "  --warp-specialize gives loops whose tiles are all TMA copies a producer warpgroup (sm_90a;\n"
               "    implies --tma)\n"
               "  --persistent makes the kernel loop over the tiles of the launch grid (tz-make-persistent;\n"
               "  with --emit=tz, the IR after that pass)\n";
}

// Parses one signature entry or -D value.
HostValue parseValue(const std::string &s) {
  // A 16-byte aligned dummy address: tzc never runs the kernel.
  alignas(16) static char dummy[16];
  if (!s.empty() && s[0] == '*') {
    std::string dtype = s.substr(1);
    static const std::pair<const char *, const char *> aliases[] = {
        {"fp16", "float16"}, {"bf16", "bfloat16"}, {"fp32", "float32"}, {"fp64", "float64"},
        {"i1", "int1"}, {"i8", "int8"}, {"i16", "int16"}, {"i32", "int32"}, {"i64", "int64"}};
    for (auto &[a, full] : aliases)
      if (dtype == a)
        dtype = full;
    return HostValue::pointer(dtype, dummy, sizeof(dummy));
  }
  if (s == "i32") return HostValue::integer(7);             // not 1, not a multiple of 16
  if (s == "i64") return HostValue::integer(7LL << 33);      // does not fit in 32 bits
  if (s == "i32:16") return HostValue::integer(16 * 7);
  if (s == "fp32") return HostValue::floating(0.5);
  if (s == "i1") return HostValue::boolean(false);
  if (s == "True" || s == "False") return HostValue::boolean(s == "True");
  if (s == "None") return HostValue::none();
  if (s.rfind("tz.", 0) == 0) return HostValue::dtype(s.substr(3));
  if (s.size() >= 2 && (s[0] == '"' || s[0] == '\'') && s.back() == s[0])
    return HostValue::string(s.substr(1, s.size() - 2));
  char *end = nullptr;
  long long i = std::strtoll(s.c_str(), &end, 0);
  if (end && *end == '\0' && !s.empty()) return HostValue::integer(i);
  double d = std::strtod(s.c_str(), &end);
  if (end && *end == '\0' && !s.empty()) return HostValue::floating(d);
  throw std::invalid_argument("cannot parse signature entry '" + s + "'");
}
// The integer value of launch option `option` (a Python launch checks its
// type too: "--num-warps=eight" is an error naming the option, not 0).
int parseIntOption(const std::string &option, const std::string &text) {
  char *end = nullptr;
  errno = 0;
  long v = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || !end || *end != '\0' || errno == ERANGE || v < INT32_MIN || v > INT32_MAX)
    throw std::invalid_argument(option + " needs an integer, got '" + text + "'");
  return static_cast<int>(v);
}
} // namespace

int main(int argc, char **argv) {
  std::string file, kernel, signature, emit = "tz";
  terrazzo::GpuOptions gpu;
  std::vector<std::pair<std::string, std::string>> defines;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) { usage(); std::exit(2); }
      return argv[++i];
    };
    if (a == "--kernel") {
      kernel = next();
      continue;
    }
    if (a == "--signature") {
      signature = next();
      continue;
    }
    if (a == "-D") {
      std::string kv = next();
      auto eq = kv.find('=');
      if (eq == std::string::npos) { usage(); return 2; }
      defines.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      continue;
    }
    // --opt=VALUE or --opt VALUE: the value of `opt`, or nullopt when `a` is another argument.
    auto valueOf = [&](const std::string &opt) -> std::optional<std::string> {
      if (a == opt)
        return next();
      if (a.rfind(opt + "=", 0) == 0)
        return a.substr(opt.size() + 1);
      return std::nullopt;
    };
    try {
      if (auto v = valueOf("--emit")) emit = *v;
      else if (auto v = valueOf("--arch")) gpu.arch = *v;
      else if (auto v = valueOf("--num-warps")) gpu.numWarps = parseIntOption("--num-warps", *v);
      else if (auto v = valueOf("--num-stages")) gpu.numStages = parseIntOption("--num-stages", *v);
      else if (auto v = valueOf("--min-blocks-per-sm")) gpu.minBlocksPerSM = parseIntOption("--min-blocks-per-sm", *v);
      else if (a == "--tma") gpu.tma = 1;
      else if (a == "--warp-specialize") gpu.warpSpecialize = 1;
      else if (a == "--persistent") gpu.persistent = 1;
      else if (a == "-h" || a == "--help") { usage(); return 0; }
      else if (file.empty()) file = a;
      else { usage(); return 2; }
    } catch (const std::invalid_argument &e) {
      std::cerr << "tzc: error: " << e.what() << "\n";
      return 2;
    }
  }
  if (file.empty() || kernel.empty()) {
    usage();
    return 2;
  }
  static const char *stages[] = {"tz", "tzgpu", "llvm-mlir", "llvm", "ptx", "cubin"};
  if (std::find(std::begin(stages), std::end(stages), emit) == std::end(stages)) {
    std::cerr << "tzc: unknown --emit=" << emit << "\n";
    usage();
    return 2;
  }
  try {
    terrazzo::Keywords keywords;
    for (auto &[name, value] : defines)
      keywords.emplace_back(name, parseValue(value));
    std::vector<HostValue> args;
    std::stringstream ss(signature);
    std::string item;
    while (std::getline(ss, item, ',')) {
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty())
        args.push_back(parseValue(item));
    }
    auto k = terrazzo::Kernel::fromFile(file, kernel);
    if (emit == "tz") {
      std::cout << k->ir(args, keywords, terrazzo::wantsPersistent(gpu));
      return 0;
    }
    terrazzo::GpuCompilation c = k->compileForGpu(args, keywords, gpu);
    if (emit == "tzgpu")
      std::cout << c.tzgpu;
    else if (emit == "llvm-mlir")
      std::cout << c.llvmDialect;
    else if (emit == "llvm")
      std::cout << c.llvmIR;
    else if (emit == "ptx")
      std::cout << c.ptx;
    else {
      if (c.cubinBytes == 0) {
        if (c.launchWarps != gpu.numWarps)
          std::cerr << "tzc: a warp-specialised kernel is assembled by the driver when it loads (nvJitLink would "
                       "drop its setmaxnreg): no cubin here\n";
        else
          std::cerr << "tzc: nvJitLink is not available: cannot assemble a cubin\n";
        return 1;
      }
      std::cout << c.kernelName << " " << c.arch << ": cubin " << c.cubinBytes << " bytes, registers "
                << c.registers << ", spill stores " << c.spillStoreBytes << " bytes, spill loads "
                << c.spillLoadBytes << " bytes, dynamic shared memory " << c.sharedBytes << " bytes\n";
    }
    return 0;
  } catch (const terrazzo::DslError &e) {
    std::cerr << e.what();
    return 1;
  } catch (const std::exception &e) {
    std::cerr << "tzc: error: " << e.what() << "\n";
    return 1;
  }
}
