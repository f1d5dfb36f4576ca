// The key of a cached launch: what a call's arguments say about the
// specialization and launch it needs, computed straight from the Python
// objects of a vectorcall (no conversion, no dict).
//
// Two calls with equal keys bind the same parameters to values the full path
// would specialize identically: per parameter, ints by their Triton
// properties (== 1, fits in 32 bits, divisible by 16) or, for constexpr
// parameters, by value; floats and bools by kind or value likewise; CUDA
// tensors by dtype object, device and 16-byte alignment; None; any other
// object by identity (the cache holds a reference, so an address is never
// reused while it is a key). Launch options are part of the key.
#pragma once

#include <Python.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace terrazzo::python {

// What the cached launch path knows of a kernel's parameters.
struct ParamTable {
  std::vector<PyObject *> names; // interned str, one per parameter (owned)
  std::vector<bool> constexprs;
  size_t size() const { return names.size(); }
};

// Tags of the per-parameter key words.
enum KeyTag : uint64_t {
  kAbsent = 0, // not given: the default
  kInt = 1,    // run-time int; bits 8..10: == 1, fits in i32, divisible by 16
  kConstInt = 2,
  kBool = 3,
  kConstBool = 4,
  kFloat = 5,
  kConstFloat = 6,
  kNone = 7,
  kTensor = 8, // bit 8: 16-byte aligned; bits 16..: device ordinal
  kObject = 9, // by identity
};

constexpr size_t kMaxFastParams = 64;

// The words of a key, in place (no allocation per launch): two per
// parameter, one of options, two per autotuning key parameter.
class KeyWords {
public:
  void clear() { size_ = 0; }
  void push_back(uint64_t w) { words_[size_++] = w; }
  size_t size() const { return size_; }
  uint64_t operator[](size_t i) const { return words_[i]; }
  const uint64_t *begin() const { return words_.data(); }
  const uint64_t *end() const { return words_.data() + size_; }
  std::vector<uint64_t> toVector() const { return std::vector<uint64_t>(begin(), end()); }
  bool operator==(const std::vector<uint64_t> &v) const {
    return v.size() == size_ && std::equal(begin(), end(), v.begin());
  }

private:
  std::array<uint64_t, 4 * kMaxFastParams + 1> words_;
  size_t size_ = 0;
};

// One call, analysed.
struct LaunchCall {
  // Key words: two per parameter (tag word, value word), then the options.
  KeyWords key;
  uint64_t hash = 0;
  // Per parameter: the argument (borrowed from the call) and its raw value
  // (int, bool, double bits or device pointer).
  std::array<PyObject *, kMaxFastParams> bound{};
  std::array<uint64_t, kMaxFastParams> raw; // set for bound parameters only
  std::array<KeyTag, kMaxFastParams> tags; // set for every parameter by analyzeCall
  int tensorDevice = -1; // the device of the CUDA tensors (all on one), -1: none given
  // Launch options given as keywords.
  int numWarps = 4, numStages = 2, minBlocksPerSM = 0;
  int tma = -1; // GpuOptions::tma
  int warpSpecialize = -1; // GpuOptions::warpSpecialize
  int persistent = -1; // GpuOptions::persistent
  PyObject *stream = nullptr; // borrowed; null: not given
};

// Analyses a vectorcall (args[0..nargs) positional, then the values of
// kwnames). False when the call is not one the cached path handles (an
// unknown keyword, a value it cannot key, a CPU tensor, too many
// parameters...): the caller takes the full path, which reports any error.
// Never leaves a Python error set.
bool analyzeCall(const ParamTable &params, PyObject *const *args, size_t nargs, PyObject *kwnames, LaunchCall &call);

// The key as a tuple of ints (tests); null with an error set on failure.
PyObject *keyTuple(const LaunchCall &call);

} // namespace terrazzo::python
