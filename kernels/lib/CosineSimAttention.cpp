// Host wrappers of kernels/cosine_sim_attention.py: argument checks, tile
// sizes, grids, and the launch of the forward kernel and of the three
// backward kernels (preprocess, dK/dV, dQ with dBias).
#include "ArgumentChecks.h"
#include "TileTuning.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/CosineSimAttention.h"

#include <cmath>

namespace terrazzo::ops {

namespace {
using checks::fail;

Kernel &libraryKernel(const std::string &name) { return ops::libraryKernel("cosine_sim_attention.py", name); }

std::string str(int64_t x) { return std::to_string(x); }

// Problem dimensions read off the checked q, k, v.
using Dims = checks::AttentionDims;

bool isPowerOfTwo(int64_t x) { return x > 0 && (x & (x - 1)) == 0; }

Dims checkQKV(const TensorArg &q, const TensorArg &k, const TensorArg &v) {
  return checks::checkAttentionInputs(
      q, k, v, [](int64_t d) { return isPowerOfTwo(d) && d >= 16 && d <= 256; },
      "a power of two from 16 to 256");
}

// Row-major contiguous, ignoring the strides of size-1 dimensions (and all
// strides of an empty tensor).
bool isContiguous(const TensorArg &t) {
  for (int64_t n : t.shape)
    if (n == 0)
      return true;
  int64_t expected = 1;
  for (size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] != 1 && t.strides[d] != expected)
      return false;
    expected *= t.shape[d];
  }
  return true;
}


void checkLse(const TensorArg &t, const Dims &d, const TensorArg &q) {
  checks::requireRank(t, "lse", 3, "(B, H, N_Q)");
  checks::requireDtype(t, "lse", {"float32"});
  checks::requireShape(t, "lse", {d.B, d.H, d.NQ});
  if (!isContiguous(t))
    fail("lse", "must be contiguous");
  checks::requireSameDevice(t, "lse", q, "q");
  checks::requireData(t, "lse");
}

void checkOptions(const CosineSimAttentionOptions &o, const Dims &d, const TensorArg &q) {
  if (!std::isfinite(o.scale) || o.scale <= 0)
    fail("scale", "must be finite and positive, got " + std::to_string(o.scale));
  if (!std::isfinite(o.eps) || o.eps <= 0)
    fail("eps", "must be finite and positive, got " + std::to_string(o.eps));
  if (o.groups < 1 || d.D % o.groups != 0)
    fail("groups", "must be a positive divisor of the head dim " + str(d.D) + ", got " + str(o.groups));
  if (const TensorArg *b = o.bias) {
    checks::requireRank(*b, "bias", 4, "(B or 1, H or 1, N_Q, N_K)");
    checks::requireDtype(*b, "bias", {"float16", "bfloat16", "float32", "float64"});
    const auto &s = b->shape;
    if ((s[0] != 1 && s[0] != d.B) || (s[1] != 1 && s[1] != d.H) || s[2] != d.NQ || s[3] != d.NK)
      fail("bias", "expected shape (" + str(d.B) + " or 1, " + str(d.H) + " or 1, " + str(d.NQ) + ", " + str(d.NK) +
                       "), got " + checks::shapeString(s));
    checks::requireSameDevice(*b, "bias", q, "q");
    checks::requireStrides(*b, "bias", false);
    checks::requireData(*b, "bias");
  }
  if (const TensorArg *m = o.keyMask) {
    checks::requireRank(*m, "key_mask", 2, "(B, N_K)");
    if (m->dtype != "int1" && m->dtype != "int8")
      fail("key_mask", "expected dtype bool or int8, got " + m->dtype);
    checks::requireShape(*m, "key_mask", {d.B, d.NK});
    checks::requireSameDevice(*m, "key_mask", q, "q");
    checks::requireStrides(*m, "key_mask", false);
    checks::requireData(*m, "key_mask");
  }
  if (const TensorArg *l = o.keyLens) {
    checks::requireRank(*l, "key_lens", 1, "(B,)");
    checks::requireDtype(*l, "key_lens", {"int32"});
    checks::requireShape(*l, "key_lens", {d.B});
    if (!isContiguous(*l))
      fail("key_lens", "must be contiguous");
    checks::requireSameDevice(*l, "key_lens", q, "q");
    checks::requireData(*l, "key_lens");
  }
}

void appendStrides(std::vector<HostValue> &args, const TensorArg &t) {
  for (int64_t s : t.strides)
    args.push_back(HostValue::integer(s));
}

// Strides of a broadcastable tensor: 0 along its size-1 dimensions, so
// that every index there reads (or accumulates into) element 0.
void appendBroadcastStrides(std::vector<HostValue> &args, const TensorArg *t, size_t rank) {
  for (size_t i = 0; i < rank; ++i)
    args.push_back(HostValue::integer(t && t->shape[i] != 1 ? t->strides[i] : 0));
}

HostValue pointerOrNone(const TensorArg *t) { return t ? t->pointer() : HostValue::none(); }

LaunchTarget targetOf(const TensorArg &q, const CosineSimAttentionOptions &o) {
  LaunchTarget t;
  t.device = q.device;
  t.deviceIndex = q.deviceIndex;
  t.stream = o.stream;
  t.numWarps = 4;
  return t;
}

// Tile sizes: 64 on the GPU. The interpreter runs every lane of a tile, so
// small problems get small tiles there rather than mostly-masked blocks.
int64_t blockFor(const LaunchTarget &t, int64_t n) {
  if (t.device == TensorArg::Device::Cuda)
    return 64;
  return n <= 16 ? 16 : n <= 128 ? 32 : 64;
}

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

Keywords commonKeywords(const Dims &d, const CosineSimAttentionOptions &o, int64_t blockM, int64_t blockN) {
  return {{"CAUSAL", HostValue::boolean(o.causal)},
          {"HAS_BIAS", HostValue::boolean(o.bias != nullptr)},
          {"HAS_KEY_MASK", HostValue::boolean(o.keyMask != nullptr)},
          {"HAS_KEY_LENS", HostValue::boolean(o.keyLens != nullptr)},
          {"GROUPS", HostValue::integer(o.groups)},
          {"BLOCK_M", HostValue::integer(blockM)},
          {"BLOCK_N", HostValue::integer(blockN)},
          {"HEAD_DIM", HostValue::integer(d.D)},
          {"SCALE", HostValue::floating(o.scale)}};
}

// Q, K, V, Bias, KeyMask, KeyLens: the leading pointers of every kernel but
// the preprocess.
std::vector<HostValue> inputPointers(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                     const CosineSimAttentionOptions &o) {
  return {q.pointer(), k.pointer(), v.pointer(), pointerOrNone(o.bias), pointerOrNone(o.keyMask),
          pointerOrNone(o.keyLens)};
}

// The strides of q, k, v, bias and the key mask, in kernel order.
void appendInputStrides(std::vector<HostValue> &args, const TensorArg &q, const TensorArg &k, const TensorArg &v,
                        const CosineSimAttentionOptions &o) {
  for (auto *t : {&q, &k, &v})
    appendStrides(args, *t);
  appendBroadcastStrides(args, o.bias, 4);
  appendBroadcastStrides(args, o.keyMask, 2);
}

void appendSizes(std::vector<HostValue> &args, const Dims &d) {
  for (int64_t x : {d.H, d.HKV, d.NQ, d.NK})
    args.push_back(HostValue::integer(x));
}
} // namespace

void cosineSimAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                               const TensorArg &lse, const CosineSimAttentionOptions &options) {
  Dims d = checkQKV(q, k, v);
  checks::requireLike(out, "out", q, "q", false);
  checkLse(lse, d, q);
  checkOptions(options, d, q);
  LaunchTarget target = targetOf(q, options);
  // With one group the keys' inverse norms are computed once here, not by
  // every query block (see cosine_sim_key_inv_norms).
  DeviceScratch keyInvNorms(target, d.B * d.HKV * d.NK * sizeof(float));
  TensorArg keyInvArg = keyInvNorms.tensor("float32", {d.B, d.HKV, d.NK});
  if (options.groups == 1 && d.B * d.HKV * d.NK > 0) {
    std::vector<HostValue> pre = {k.pointer(), keyInvArg.pointer()};
    appendStrides(pre, k);
    pre.push_back(HostValue::integer(d.HKV));
    pre.push_back(HostValue::integer(d.NK));
    pre.push_back(HostValue::floating(options.eps));
    runKernel(libraryKernel("cosine_sim_key_inv_norms"), target, {cdiv(d.NK, 64), d.B * d.HKV, 1}, pre,
              {{"BLOCK_N", HostValue::integer(64)}, {"HEAD_DIM", HostValue::integer(d.D)}});
  }
  std::vector<HostValue> args = inputPointers(q, k, v, options);
  args.push_back(out.pointer());
  args.push_back(lse.pointer());
  args.push_back(keyInvArg.pointer());
  appendInputStrides(args, q, k, v, options);
  appendStrides(args, out);
  appendSizes(args, d);
  args.push_back(HostValue::floating(options.eps));
  std::string variant = "groups=" + std::to_string(options.groups) + (options.bias ? ",bias" : "") +
                        (options.keyMask ? ",key_mask" : "") + (options.keyLens ? ",key_lens" : "");
  TuningShape shape{"cosine_sim_attention_fwd", q.dtype, d.D, d.NQ, d.NK, options.causal, variant};
  shape.fallback = {blockFor(target, d.NQ), blockFor(target, d.NK), target.numWarps, target.numStages};
  // N_K == 0 still runs: every row attends nothing (zeros, lse = -inf).
  runTunedForward(shape, target, [&](const AttentionTiles &tiles) {
    LaunchTarget tuned = withTiles(target, tiles);
    runKernel(libraryKernel("cosine_sim_attention_fwd"), tuned, {cdiv(d.NQ, tiles.blockM), d.B * d.H, 1}, args,
              commonKeywords(d, options, tiles.blockM, tiles.blockN));
  });
}

void cosineSimAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                                const TensorArg &lse, const TensorArg &dout, const TensorArg &dq,
                                const TensorArg &dk, const TensorArg &dv, const TensorArg *dbias,
                                const CosineSimAttentionOptions &options) {
  Dims d = checkQKV(q, k, v);
  checks::requireLike(out, "out", q, "q", false);
  checks::requireLike(dout, "dout", q, "q", false);
  checks::requireLike(dq, "dq", q, "q", true);
  checks::requireLike(dk, "dk", k, "k", true);
  checks::requireLike(dv, "dv", v, "v", true);
  checkLse(lse, d, q);
  checkOptions(options, d, q);
  if (dbias) {
    if (!options.bias)
      fail("dbias", "needs a bias (there is no bias to differentiate)");
    checks::requireRank(*dbias, "dbias", 4, "(the bias's shape)");
    checks::requireDtype(*dbias, "dbias", {"float32"});
    checks::requireShape(*dbias, "dbias", options.bias->shape);
    checks::requireSameDevice(*dbias, "dbias", q, "q");
    checks::requireStrides(*dbias, "dbias", false);
    checks::requireData(*dbias, "dbias");
  }
  LaunchTarget target = targetOf(q, options);
  int64_t blockM = blockFor(target, d.NQ), blockN = blockFor(target, d.NK);
  std::string variant = "groups=" + std::to_string(options.groups) + (options.bias ? ",bias" : "") +
                        (options.keyMask ? ",key_mask" : "") + (options.keyLens ? ",key_lens" : "") +
                        (dbias ? ",dbias" : "");
  TuningShape shape{"cosine_sim_attention_bwd", q.dtype, d.D, d.NQ, d.NK, options.causal, variant};
  shape.fallback = {blockM, blockN, target.numWarps, target.numStages};

  // Delta = rowsum(dO * O), float32 (B, H, N_Q).
  DeviceScratch delta(target, d.B * d.H * d.NQ * sizeof(float));
  const TensorArg deltaArg = delta.tensor("float32", {d.B, d.H, d.NQ});
  {
    std::vector<HostValue> args = {out.pointer(), dout.pointer(), deltaArg.pointer()};
    appendStrides(args, out);
    appendStrides(args, dout);
    args.push_back(HostValue::integer(d.H));
    args.push_back(HostValue::integer(d.NQ));
    Keywords pkw = {{"BLOCK_M", HostValue::integer(blockM)}, {"HEAD_DIM", HostValue::integer(d.D)}};
    runKernel(libraryKernel("cosine_sim_attention_bwd_preprocess"), target, {cdiv(d.NQ, blockM), d.B * d.H, 1},
              args, pkw);
  }
  // dK, dV: one program per key block and key/value head. It also runs when
  // N_Q == 0, writing zeros.
  std::vector<HostValue> dkdvArgs = inputPointers(q, k, v, options);
  for (auto *t : {&dout, &lse, &deltaArg, &dk, &dv})
    dkdvArgs.push_back(t->pointer());
  appendInputStrides(dkdvArgs, q, k, v, options);
  for (auto *t : {&dout, &dk, &dv})
    appendStrides(dkdvArgs, *t);
  appendSizes(dkdvArgs, d);
  dkdvArgs.push_back(HostValue::floating(options.eps));
  // dQ and dBias: one program per query block and dBias slice, looping over
  // the (batch, head) pairs broadcast into that slice. It also runs when
  // N_K == 0, writing zeros.
  int64_t repB = 1, repH = 1;
  if (dbias) {
    repB = options.bias->shape[0] == 1 ? d.B : 1;
    repH = options.bias->shape[1] == 1 ? d.H : 1;
  }
  std::vector<HostValue> dqArgs = inputPointers(q, k, v, options);
  for (auto *t : {&dout, &lse, &deltaArg, &dq})
    dqArgs.push_back(t->pointer());
  dqArgs.push_back(pointerOrNone(dbias));
  appendInputStrides(dqArgs, q, k, v, options);
  for (auto *t : {&dout, &dq})
    appendStrides(dqArgs, *t);
  appendBroadcastStrides(dqArgs, dbias, 4);
  appendSizes(dqArgs, d);
  dqArgs.push_back(HostValue::integer(repB));
  dqArgs.push_back(HostValue::integer(repH));
  dqArgs.push_back(HostValue::floating(options.eps));
  // Both kernels overwrite dK, dV, dQ and dBias: the tuner may run them
  // several times.
  runTunedBackward(shape, target, [&](const AttentionTiles &tiles) {
    LaunchTarget tuned = withTiles(target, tiles);
    Keywords kw = commonKeywords(d, options, tiles.blockM, tiles.blockN);
    runKernel(libraryKernel("cosine_sim_attention_bwd_dkdv"), tuned, {cdiv(d.NK, tiles.blockN), d.B * d.HKV, 1},
              dkdvArgs, kw);
    kw.emplace_back("HAS_DBIAS", HostValue::boolean(dbias != nullptr));
    runKernel(libraryKernel("cosine_sim_attention_bwd_dq"), tuned,
              {cdiv(d.NQ, tiles.blockM), (d.B / repB) * (d.H / repH), 1}, dqArgs, kw);
  });
}

} // namespace terrazzo::ops
