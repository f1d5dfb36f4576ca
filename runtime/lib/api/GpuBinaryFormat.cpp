// Fields in order, each integer as 8 little-endian bytes, each string as
// its length then its bytes, each list as its length then its integers,
// behind a format tag (tzgpubin2 added the tensor maps).
#include "GpuBinaryFormat.h"

#include <cstdint>
#include <cstring>

namespace terrazzo {

namespace {
constexpr std::string_view kTag = "tzgpubin2";

void putInt(std::string &out, int64_t v) { out.append(reinterpret_cast<const char *>(&v), 8); }
void putString(std::string &out, std::string_view s) {
  putInt(out, static_cast<int64_t>(s.size()));
  out.append(s);
}

struct Reader {
  std::string_view data;
  bool ok = true;
  int64_t getInt() {
    if (data.size() < 8) {
      ok = false;
      return 0;
    }
    int64_t v;
    std::memcpy(&v, data.data(), 8);
    data.remove_prefix(8);
    return v;
  }
  std::string_view getString() {
    int64_t n = getInt();
    if (!ok || n < 0 || static_cast<uint64_t>(n) > data.size()) {
      ok = false;
      return {};
    }
    std::string_view s = data.substr(0, n);
    data.remove_prefix(n);
    return s;
  }
};
} // namespace

std::string encodeGpuBinary(const pipeline::GpuBinary &bin) {
  std::string out(kTag);
  putString(out, bin.kernelName);
  putString(out, bin.ptx);
  putString(out, std::string_view(bin.cubin.data(), bin.cubin.size()));
  putInt(out, bin.numWarps);
  putInt(out, bin.sharedBytes);
  putInt(out, bin.registers);
  putInt(out, bin.spillStoreBytes);
  putInt(out, bin.spillLoadBytes);
  putString(out, bin.assemblerLog);
  putInt(out, static_cast<int64_t>(bin.tensorMaps.size()));
  auto putList = [&](const std::vector<int64_t> &v) {
    putInt(out, static_cast<int64_t>(v.size()));
    for (int64_t x : v)
      putInt(out, x);
  };
  for (const pipeline::TensorMapSpec &t : bin.tensorMaps) {
    putInt(out, t.baseArg);
    putString(out, t.elementType);
    putInt(out, t.elementBytes);
    putInt(out, t.swizzleBytes);
    for (const auto *list : {&t.box, &t.extentArgs, &t.extents, &t.strideArgs, &t.strides})
      putList(*list);
  }
  return out;
}

std::optional<pipeline::GpuBinary> decodeGpuBinary(std::string_view data) {
  if (data.substr(0, kTag.size()) != kTag)
    return std::nullopt;
  Reader r{data.substr(kTag.size())};
  pipeline::GpuBinary bin;
  bin.kernelName = std::string(r.getString());
  bin.ptx = std::string(r.getString());
  std::string_view cubin = r.getString();
  bin.cubin.assign(cubin.begin(), cubin.end());
  bin.numWarps = static_cast<int>(r.getInt());
  bin.sharedBytes = r.getInt();
  bin.registers = static_cast<int>(r.getInt());
  bin.spillStoreBytes = static_cast<int>(r.getInt());
  bin.spillLoadBytes = static_cast<int>(r.getInt());
  bin.assemblerLog = std::string(r.getString());
  int64_t maps = r.getInt();
  auto getList = [&](std::vector<int64_t> &v) {
    int64_t n = r.getInt();
    if (n < 0 || n > 5) {
      r.ok = false;
      return;
    }
    for (int64_t i = 0; i < n && r.ok; ++i)
      v.push_back(r.getInt());
  };
  for (int64_t m = 0; r.ok && m >= 0 && m < maps && m < 64; ++m) {
    pipeline::TensorMapSpec t;
    t.baseArg = static_cast<int>(r.getInt());
    t.elementType = std::string(r.getString());
    t.elementBytes = static_cast<int>(r.getInt());
    t.swizzleBytes = static_cast<int>(r.getInt());
    for (auto *list : {&t.box, &t.extentArgs, &t.extents, &t.strideArgs, &t.strides})
      getList(*list);
    bin.tensorMaps.push_back(std::move(t));
  }
  if (maps < 0 || maps >= 64 || static_cast<int64_t>(bin.tensorMaps.size()) != maps)
    return std::nullopt;
  if (!r.ok || !r.data.empty() || bin.kernelName.empty() || bin.numWarps < 1 || (bin.ptx.empty() && bin.cubin.empty()))
    return std::nullopt;
  return bin;
}

} // namespace terrazzo
