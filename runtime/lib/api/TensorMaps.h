// The TMA tensor maps a kernel compiled with TMA copies takes after its own
// arguments (pipeline::TensorMapSpec): described from the values of the
// arguments they depend on, then encoded on the host before each launch.
#pragma once

#include "ParamKind.h"

#include "terrazzo/Pipeline/GpuPipeline.h"

#include <cstdint>
#include <mutex>
#include <optional>
#include <vector>

namespace terrazzo {

// One tensor map as the kernel parameter takes it (CUtensorMap).
struct alignas(64) TensorMapBytes {
  uint64_t words[16];
};

// What cuTensorMapEncodeTiled is given for one map (dimension 0 first).
struct TensorMapDescription {
  uint64_t address = 0;
  unsigned rank = 0;
  uint64_t dims[5] = {};
  uint64_t strideBytes[4] = {}; // of dimensions 1 and up
  uint32_t box[5] = {};
  int dataType = 0; // CUtensorMapDataType
  int swizzleBytes = 0;
};

// The maps of `specs` for these run-time arguments (`arguments[i]` points
// at the 8-byte slot of argument i, of kind kinds[i]); nullopt if one
// cannot describe them exactly: a stride that is not a positive multiple of
// 16 bytes (or 2^40 or more), an extent below 1 or above 2^32, an address
// not 16-byte aligned, an argument of the wrong kind. Unbounded extents are
// 2^32.
std::optional<std::vector<TensorMapDescription>>
describeTensorMaps(const std::vector<pipeline::TensorMapSpec> &specs, const std::vector<ParamKind> &kinds,
                   void *const *arguments);

// The tensor maps of one loaded kernel, with the last ones encoded: a loop
// of launches on the same tensors encodes them once.
class TensorMapEncoder {
public:
  explicit TensorMapEncoder(std::vector<pipeline::TensorMapSpec> specs) : specs_(std::move(specs)) {}
  bool empty() const { return specs_.empty(); }
  size_t size() const { return specs_.size(); }

  // Encodes every map from the run-time arguments into `out`. False if
  // describeTensorMaps cannot describe them or the driver refuses one: the
  // caller then launches the kernel compiled without TMA copies.
  bool encode(const std::vector<ParamKind> &kinds, void *const *arguments, std::vector<TensorMapBytes> &out);

private:
  std::vector<pipeline::TensorMapSpec> specs_;
  std::mutex mutex_;
  std::vector<uint64_t> lastInputs_; // the descriptions the cached maps came from
  std::vector<TensorMapBytes> last_;
};

} // namespace terrazzo
