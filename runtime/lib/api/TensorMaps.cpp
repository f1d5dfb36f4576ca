// Encoding a kernel's TMA tensor maps from its arguments. Every value a
// map depends on is read from the argument slots first; when they are the
// ones of the previous launch, the maps encoded then are reused.
#include "TensorMaps.h"

#include "KernelImpl.h"

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

} // namespace

bool TensorMapEncoder::encode(const std::vector<ParamKind> &kinds, void *const *arguments,
                              std::vector<TensorMapBytes> &out) {
  // Everything the maps depend on: per map, the base address, then each
  // extent and stride (in elements; -1 for an unbounded extent).
  std::vector<uint64_t> inputs;
  for (const pipeline::TensorMapSpec &t : specs_) {
    if (t.baseArg < 0 || static_cast<size_t>(t.baseArg) >= kinds.size() || kinds[t.baseArg] != ParamKind::Pointer)
      return false;
    uint64_t address;
    std::memcpy(&address, arguments[t.baseArg], 8);
    inputs.push_back(address);
    for (size_t d = 0; d < t.box.size(); ++d) {
      int64_t extent = t.extents[d];
      if (t.extentArgs[d] >= 0 && !integerArgument(kinds, arguments, t.extentArgs[d], extent))
        return false;
      inputs.push_back(static_cast<uint64_t>(extent));
      if (d == 0)
        continue;
      int64_t stride = t.strides[d - 1];
      if (t.strideArgs[d - 1] >= 0 && !integerArgument(kinds, arguments, t.strideArgs[d - 1], stride))
        return false;
      inputs.push_back(static_cast<uint64_t>(stride));
    }
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (inputs == lastInputs_ && last_.size() == specs_.size()) {
    out = last_;
    return true;
  }
  out.assign(specs_.size(), TensorMapBytes{});
  size_t next = 0;
  for (size_t m = 0; m < specs_.size(); ++m) {
    const pipeline::TensorMapSpec &t = specs_[m];
    unsigned rank = static_cast<unsigned>(t.box.size());
    uint64_t address = inputs[next++];
    uint64_t dims[5], strideBytes[4];
    uint32_t box[5];
    for (unsigned d = 0; d < rank; ++d) {
      int64_t extent = static_cast<int64_t>(inputs[next++]);
      // Unbounded: no int32 coordinate is out of range.
      dims[d] = extent == -1 ? (uint64_t(1) << 32) : static_cast<uint64_t>(extent);
      if (extent != -1 && (extent < 1 || extent > (int64_t(1) << 32)))
        return false;
      box[d] = static_cast<uint32_t>(t.box[d]);
      if (d == 0)
        continue;
      int64_t stride = static_cast<int64_t>(inputs[next++]);
      if (stride < 1 || (stride * t.elementBytes) % 16 != 0 || stride * t.elementBytes >= (int64_t(1) << 40))
        return false;
      strideBytes[d - 1] = static_cast<uint64_t>(stride * t.elementBytes);
    }
    if (address % 16 != 0)
      return false;
    int type = t.elementType == "bf16" ? kBFloat16 : kFloat16;
    if (!gpu::encodeTensorMapTiled(&out[m], type, rank, reinterpret_cast<const void *>(address), dims, strideBytes,
                                   box, t.swizzleBytes))
      return false;
  }
  lastInputs_ = std::move(inputs);
  last_ = out;
  return true;
}

} // namespace terrazzo
