// Describing a kernel's TMA tensor maps from its arguments, and encoding
// them. When the descriptions are the ones of the previous launch, the
// maps encoded then are reused.
#include "TensorMaps.h"

#include "terrazzo/gpu/CudaDriver.h"

#include <cstring>

namespace terrazzo {

namespace {

// CUtensorMapDataType values (cuda.h) of the element types TMA copies.
constexpr int kFloat16 = 6, kBFloat16 = 9;

// The integer value of argument `i`; false if it is not an integer.
bool integerArgument(const std::vector<ParamKind> &kinds, void *const *arguments, int64_t i, int64_t &out) {
  if (i < 0 || static_cast<size_t>(i) >= kinds.size())
    return false;
  if (kinds[i] == ParamKind::I32) {
    int32_t v;
    std::memcpy(&v, arguments[i], 4);
    out = v;
    return true;
  }
  if (kinds[i] == ParamKind::I64) {
    std::memcpy(&out, arguments[i], 8);
    return true;
  }
  return false;
}

// The words a description is compared by (the cache of TensorMapEncoder).
void appendWords(const TensorMapDescription &d, std::vector<uint64_t> &words) {
  words.push_back(d.address);
  for (unsigned i = 0; i < d.rank; ++i)
    words.push_back(d.dims[i]);
  for (unsigned i = 0; i + 1 < d.rank; ++i)
    words.push_back(d.strideBytes[i]);
}

} // namespace

std::optional<std::vector<TensorMapDescription>>
describeTensorMaps(const std::vector<pipeline::TensorMapSpec> &specs, const std::vector<ParamKind> &kinds,
                   void *const *arguments) {
  std::vector<TensorMapDescription> out;
  for (const pipeline::TensorMapSpec &t : specs) {
    TensorMapDescription d;
    if (t.baseArg < 0 || static_cast<size_t>(t.baseArg) >= kinds.size() || kinds[t.baseArg] != ParamKind::Pointer)
      return std::nullopt;
    std::memcpy(&d.address, arguments[t.baseArg], 8);
    if (d.address % 16 != 0)
      return std::nullopt;
    d.rank = static_cast<unsigned>(t.box.size());
    if (d.rank < 1 || d.rank > 5 || t.extents.size() != d.rank || t.extentArgs.size() != d.rank ||
        t.strides.size() + 1 != d.rank || t.strideArgs.size() + 1 != d.rank)
      return std::nullopt;
    for (unsigned i = 0; i < d.rank; ++i) {
      int64_t extent = t.extents[i];
      if (t.extentArgs[i] >= 0 && !integerArgument(kinds, arguments, t.extentArgs[i], extent))
        return std::nullopt;
      // Unbounded: no int32 coordinate is out of range.
      if (t.extentArgs[i] < 0 && extent == -1)
        d.dims[i] = uint64_t(1) << 32;
      else if (extent < 1 || extent > (int64_t(1) << 32))
        return std::nullopt;
      else
        d.dims[i] = static_cast<uint64_t>(extent);
      d.box[i] = static_cast<uint32_t>(t.box[i]);
      if (i == 0)
        continue;
      int64_t stride = t.strides[i - 1];
      if (t.strideArgs[i - 1] >= 0 && !integerArgument(kinds, arguments, t.strideArgs[i - 1], stride))
        return std::nullopt;
      int64_t bytes = stride * t.elementBytes;
      if (stride < 1 || bytes % 16 != 0 || bytes >= (int64_t(1) << 40))
        return std::nullopt;
      d.strideBytes[i - 1] = static_cast<uint64_t>(bytes);
    }
    d.dataType = t.elementType == "bf16" ? kBFloat16 : kFloat16;
    d.swizzleBytes = t.swizzleBytes;
    out.push_back(d);
  }
  return out;
}

bool TensorMapEncoder::encode(const std::vector<ParamKind> &kinds, void *const *arguments,
                              std::vector<TensorMapBytes> &out) {
  std::optional<std::vector<TensorMapDescription>> described = describeTensorMaps(specs_, kinds, arguments);
  if (!described)
    return false;
  std::vector<uint64_t> inputs;
  for (const TensorMapDescription &d : *described)
    appendWords(d, inputs);
  std::lock_guard<std::mutex> lock(mutex_);
  if (inputs == lastInputs_ && last_.size() == specs_.size()) {
    out = last_;
    return true;
  }
  out.assign(specs_.size(), TensorMapBytes{});
  for (size_t m = 0; m < described->size(); ++m) {
    const TensorMapDescription &d = (*described)[m];
    if (!gpu::encodeTensorMapTiled(&out[m], d.dataType, d.rank, reinterpret_cast<const void *>(d.address), d.dims,
                                   d.strideBytes, d.box, d.swizzleBytes))
      return false;
  }
  lastInputs_ = std::move(inputs);
  last_ = out;
  return true;
}

} // namespace terrazzo
