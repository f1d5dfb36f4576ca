// The TMA tensor maps a kernel compiled with TMA copies takes after its own
// arguments (pipeline::TensorMapSpec): encoded on the host before each
// launch from the values of the arguments they are described by.
#pragma once

#include "terrazzo/Pipeline/GpuPipeline.h"

#include <cstdint>
#include <mutex>
#include <vector>

namespace terrazzo {

enum class ParamKind : char;

// One tensor map as the kernel parameter takes it (CUtensorMap).
struct alignas(64) TensorMapBytes {
  uint64_t words[16];
};

// The tensor maps of one loaded kernel, with the last ones encoded: a loop
// of launches on the same tensors encodes them once.
class TensorMapEncoder {
public:
  explicit TensorMapEncoder(std::vector<pipeline::TensorMapSpec> specs) : specs_(std::move(specs)) {}
  bool empty() const { return specs_.empty(); }
  size_t size() const { return specs_.size(); }

  // Encodes every map from the run-time arguments (`arguments[i]` points at
  // the 8-byte slot of argument i, of kind kinds[i]) into `out`. False if
  // one cannot be encoded exactly — a stride that is not a positive
  // multiple of 16 bytes, an extent out of range, a misaligned address —:
  // the caller then launches the kernel compiled without TMA copies.
  bool encode(const std::vector<ParamKind> &kinds, void *const *arguments, std::vector<TensorMapBytes> &out);

private:
  std::vector<pipeline::TensorMapSpec> specs_;
  std::mutex mutex_;
  std::vector<uint64_t> lastInputs_; // the values the cached maps came from
  std::vector<TensorMapBytes> last_;
};

} // namespace terrazzo
