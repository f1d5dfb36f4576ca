// Argument validation for the library's host wrappers.
#include "ArgumentChecks.h"

#include <stdexcept>

namespace terrazzo::ops::checks {

void fail(const std::string &arg, const std::string &message) {
  throw std::invalid_argument("argument '" + arg + "': " + message);
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

void requireRank(const TensorArg &t, const std::string &arg, size_t rank, const char *layout) {
  if (t.shape.size() != rank)
    fail(arg, "expected " + std::to_string(rank) + " dimensions " + layout + ", got shape " + shapeString(t.shape));
  if (t.strides.size() != rank)
    fail(arg, "has " + std::to_string(t.strides.size()) + " strides for " + std::to_string(rank) + " dimensions");
}

void requireDtype(const TensorArg &t, const std::string &arg, std::initializer_list<const char *> allowed) {
  std::string names;
  for (const char *a : allowed) {
    if (t.dtype == a)
      return;
    names += (names.empty() ? "" : " or ") + std::string(a);
  }
  fail(arg, "expected dtype " + names + ", got " + t.dtype);
}

void requireSameDtype(const TensorArg &t, const std::string &arg, const TensorArg &ref, const std::string &refArg) {
  if (t.dtype != ref.dtype)
    fail(arg, "has dtype " + t.dtype + " but '" + refArg + "' has " + ref.dtype + "; they must match");
}

void requireShape(const TensorArg &t, const std::string &arg, const std::vector<int64_t> &shape) {
  if (t.shape != shape)
    fail(arg, "expected shape " + shapeString(shape) + ", got " + shapeString(t.shape));
}

void requireData(const TensorArg &t, const std::string &arg) {
  bool empty = false;
  for (int64_t d : t.shape)
    empty |= d == 0;
  if (!t.data && !empty)
    fail(arg, "has no data pointer");
}

namespace {
std::string deviceName(const TensorArg &t) {
  return t.device == TensorArg::Device::Host ? "cpu" : "cuda:" + std::to_string(t.deviceIndex);
}
} // namespace

void requireSameDevice(const TensorArg &t, const std::string &arg, const TensorArg &ref, const std::string &refArg) {
  if (t.device != ref.device || (t.device == TensorArg::Device::Cuda && t.deviceIndex != ref.deviceIndex))
    fail(arg, "is on " + deviceName(t) + " but " + refArg + " is on " + deviceName(ref));
}

void requireStrides(const TensorArg &t, const std::string &arg, bool innerContiguous) {
  for (size_t d = 0; d < t.strides.size(); ++d)
    if (t.strides[d] < 0)
      fail(arg, "has a negative stride in dimension " + std::to_string(d));
  if (innerContiguous && !t.shape.empty() && t.shape.back() > 1 && t.strides.back() != 1)
    fail(arg, "must be contiguous in its last dimension (stride 1), got stride " + std::to_string(t.strides.back()));
}

AttentionDims checkAttentionInputs(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                   bool (*headDimOk)(int64_t), const char *headDims) {
  auto str = [](int64_t x) { return std::to_string(x); };
  requireRank(q, "q", 4, "(B, H, N_Q, D)");
  requireRank(k, "k", 4, "(B, H_KV, N_K, D)");
  requireRank(v, "v", 4, "(B, H_KV, N_K, D)");
  requireDtype(q, "q", {"float16", "bfloat16"});
  requireSameDtype(k, "k", q, "q");
  requireSameDtype(v, "v", q, "q");
  AttentionDims d{q.shape[0], q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3]};
  if (k.shape[0] != d.B)
    fail("k", "batch size " + str(k.shape[0]) + " differs from q's " + str(d.B));
  if (k.shape[3] != d.D)
    fail("k", "head dim " + str(k.shape[3]) + " differs from q's " + str(d.D));
  requireShape(v, "v", k.shape);
  if (d.HKV <= 0 || d.H % d.HKV != 0)
    fail("k", "has " + str(d.HKV) + " heads, which must divide q's " + str(d.H) + " heads");
  if (!headDimOk(d.D))
    fail("q", "head dim " + str(d.D) + " is not supported (" + headDims + ")");
  for (auto [t, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}}) {
    requireSameDevice(*t, name, q, "q");
    requireStrides(*t, name, false);
    requireData(*t, name);
  }
  return d;
}

LinearAttentionDims checkLinearAttentionInputs(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                               int64_t maxHeadDim) {
  auto str = [](int64_t x) { return std::to_string(x); };
  requireRank(q, "q", 4, "(B, H, N, Dk)");
  requireRank(k, "k", 4, "(B, H, N, Dk)");
  requireRank(v, "v", 4, "(B, H, N, Dv)");
  requireDtype(q, "q", {"float16", "bfloat16"});
  requireSameDtype(k, "k", q, "q");
  requireSameDtype(v, "v", q, "q");
  LinearAttentionDims d{q.shape[0], q.shape[1], q.shape[2], q.shape[3], v.shape[3]};
  requireShape(k, "k", q.shape);
  if (v.shape[0] != d.B || v.shape[1] != d.H || v.shape[2] != d.N)
    fail("v", "expected shape (" + str(d.B) + ", " + str(d.H) + ", " + str(d.N) + ", Dv) like q's first three, got " +
                  shapeString(v.shape));
  auto ok = [&](int64_t x) { return x >= 16 && x <= maxHeadDim && (x & (x - 1)) == 0; };
  std::string allowed = "a power of two from 16 to " + str(maxHeadDim);
  if (!ok(d.DK))
    fail("q", "head dim " + str(d.DK) + " is not supported (" + allowed + ")");
  if (!ok(d.DV))
    fail("v", "head dim " + str(d.DV) + " is not supported (" + allowed + ")");
  for (auto [t, name] : {std::pair{&q, "q"}, {&k, "k"}, {&v, "v"}}) {
    requireSameDevice(*t, name, q, "q");
    requireStrides(*t, name, false);
    requireData(*t, name);
  }
  return d;
}

void requireLike(const TensorArg &t, const std::string &arg, const TensorArg &like, const std::string &likeArg,
                 bool allowFloat32) {
  requireRank(t, arg, like.shape.size(), "");
  requireShape(t, arg, like.shape);
  if (!(allowFloat32 && t.dtype == "float32"))
    requireSameDtype(t, arg, like, likeArg);
  requireSameDevice(t, arg, like, likeArg);
  requireStrides(t, arg, false);
  requireData(t, arg);
}

} // namespace terrazzo::ops::checks
