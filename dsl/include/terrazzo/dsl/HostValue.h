// Values that come from the host side of a kernel: module-level globals found
// by the resolver, and the arguments of a launch. Both are described the same
// way, so a global constant and a constexpr argument specialize identically.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace terrazzo::dsl {

class JitFunction;

struct HostValue {
  enum class Kind {
    Int,
    Float,
    Bool,
    None,
    String,
    Dtype,           // text holds the dtype name ("float32", "bfloat16", ...)
    Function,        // another @jit function
    TerrazzoModule,  // the terrazzo module or its language namespace
    Pointer,         // a tensor in memory: text = element dtype name
    Unsupported,     // an object that cannot live in a kernel: text = its type name
  };
  Kind kind = Kind::None;
  int64_t intValue = 0;
  double floatValue = 0;
  bool boolValue = false;
  std::string text;
  std::shared_ptr<const JitFunction> function;
  // Pointer: where the tensor lives (host memory for the interpreter, device
  // memory for GPU launches) and how many bytes may be accessed from `data`.
  void *data = nullptr;
  size_t bytes = 0;
  // -1: host memory; -2: GPU memory of the current device; otherwise the
  // ordinal of the CUDA device holding it.
  int device = -1;
  // Pointer: the caller's memory must not be written (a read-only numpy
  // array); the interpreter refuses a store or atomic into it.
  bool readOnly = false;
  // Pointer to an array that is not row-major contiguous (passed as
  // tz.strided(x)): its shape and strides in bytes, so the interpreter can
  // refuse an access that falls between its elements. Empty: contiguous.
  std::vector<int64_t> shape, byteStrides;
  size_t itemBytes = 0;

  static HostValue integer(int64_t v) { HostValue h; h.kind = Kind::Int; h.intValue = v; return h; }
  static HostValue floating(double v) { HostValue h; h.kind = Kind::Float; h.floatValue = v; return h; }
  static HostValue boolean(bool v) { HostValue h; h.kind = Kind::Bool; h.boolValue = v; return h; }
  static HostValue none() { return HostValue(); }
  static HostValue string(std::string s) { HostValue h; h.kind = Kind::String; h.text = std::move(s); return h; }
  static HostValue dtype(std::string name) { HostValue h; h.kind = Kind::Dtype; h.text = std::move(name); return h; }
  static HostValue terrazzoModule() { HostValue h; h.kind = Kind::TerrazzoModule; return h; }
  static HostValue unsupported(std::string typeName) { HostValue h; h.kind = Kind::Unsupported; h.text = std::move(typeName); return h; }
  static HostValue jitFunction(std::shared_ptr<const JitFunction> f) {
    HostValue h; h.kind = Kind::Function; h.function = std::move(f); return h;
  }
  static HostValue pointer(std::string dtypeName, void *data, size_t bytes) {
    HostValue h; h.kind = Kind::Pointer; h.text = std::move(dtypeName); h.data = data; h.bytes = bytes; return h;
  }
  static HostValue devicePointer(std::string dtypeName, void *data, size_t bytes, int device) {
    HostValue h = pointer(std::move(dtypeName), data, bytes); h.device = device; return h;
  }
};

// Same kind and same value (functions: the same definition object).
bool sameHostValue(const HostValue &a, const HostValue &b);

// Looks up the module-level names a kernel refers to (Python: the function's
// __globals__; C++: the top-level definitions of the source file).
class Resolver {
public:
  virtual ~Resolver() = default;
  virtual std::optional<HostValue> lookup(const std::string &name) const = 0;
};

} // namespace terrazzo::dsl
