// Host wrappers of kernels/focused_linear_attention.py: argument checks, tile
// sizes, the row splits of the reductions over the sequence, the float32
// KV / ks scratches, and the launches of the forward (KV state, outputs) and
// the backward (KV state again, dQ with dKV / dks, then dK and dV).
#include "ArgumentChecks.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/FocusedLinearAttention.h"

#include <algorithm>
#include <cmath>

namespace terrazzo::ops {

namespace {
using checks::fail;
using Dims = checks::LinearAttentionDims;

Kernel &libraryKernel(const std::string &name) {
  return ops::libraryKernel("focused_linear_attention.py", name);
}

void checkOptions(const FocusedLinearAttentionOptions &o) {
  if (!std::isfinite(o.power) || o.power <= 0)
    fail("power", "must be finite and positive, got " + std::to_string(o.power));
  if (!std::isfinite(o.eps) || o.eps <= 0)
    fail("eps", "must be finite and positive, got " + std::to_string(o.eps));
  if (o.causal)
    fail("causal", "causal focused linear attention is not supported yet (only causal=False)");
}

LaunchTarget targetOf(const TensorArg &q, const FocusedLinearAttentionOptions &o) {
  LaunchTarget t;
  t.device = q.device;
  t.deviceIndex = q.deviceIndex;
  t.stream = o.stream;
  // Whole rows of Dk (phi needs their norms) and KV stay in registers: at
  // Dk = Dv = 128, 32-row blocks over 8 warps compile without spills on
  // sm_90a except the dQ pass (~370 bytes); 64 rows or 4 warps spill KBs.
  t.numWarps = 8;
  return t;
}

// Rows per block: 32 on the GPU (above); 16 on the interpreter (which runs
// every lane of a tile, and small tests then cross block boundaries).
int64_t blockRows(const LaunchTarget &t) { return t.device == TensorArg::Device::Cuda ? 32 : 16; }
int64_t blockV(const LaunchTarget &t, int64_t dv) {
  return std::min<int64_t>(dv, t.device == TensorArg::Device::Cuda ? 64 : 16);
}

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void appendStrides(std::vector<HostValue> &args, const TensorArg &t) {
  for (int64_t s : t.strides)
    args.push_back(HostValue::integer(s));
}

void appendSizes(std::vector<HostValue> &args, const Dims &d, const FocusedLinearAttentionOptions &o) {
  args.push_back(HostValue::integer(d.H));
  args.push_back(HostValue::integer(d.N));
  args.push_back(HostValue::floating(o.eps));
}

Keywords keywords(const Dims &d, const FocusedLinearAttentionOptions &o, int64_t blockM) {
  return {{"DK", HostValue::integer(d.DK)},
          {"DV", HostValue::integer(d.DV)},
          {"BLOCK_M", HostValue::integer(blockM)},
          {"POWER", HostValue::floating(o.power)}};
}

// How the rows are split between programs of the reductions over the
// sequence (KV, ks forward; dKV, dks backward): enough splits to fill the
// GPU (~2 programs per SM of an H100 with the (v block, b, h) programs),
// each a whole number of row blocks. The interpreter splits every 2 blocks,
// so small tests cross splits.
struct Splits {
  int64_t count, rows;
};

Splits splitsFor(const LaunchTarget &t, const Dims &d, int64_t programsPerSplit, int64_t blockM) {
  int64_t blocks = std::max<int64_t>(1, cdiv(d.N, blockM));
  int64_t want = t.device == TensorArg::Device::Cuda ? cdiv(264, std::max<int64_t>(1, programsPerSplit))
                                                        : (blocks + 1) / 2;
  int64_t count = std::clamp<int64_t>(want, 1, blocks);
  int64_t rows = cdiv(blocks, count) * blockM;
  return {std::max<int64_t>(1, cdiv(d.N, rows)), rows};
}

// out = scale * the sum of `splits` float32 partials of `count` elements.
void sumSplits(const TensorArg &parts, const TensorArg &out, int64_t splits, int64_t count, double scale,
               const LaunchTarget &target) {
  const int64_t block = 1024;
  runKernel(libraryKernel("focused_sum_splits"), target, {cdiv(count, block), 1, 1},
            {parts.pointer(), out.pointer(), HostValue::integer(splits), HostValue::integer(count),
             HostValue::floating(scale)},
            {{"BLOCK", HostValue::integer(block)}});
}

// KV = mean_j phi(k_j)^T v_j and ks = mean_j phi(k_j) into the scratches.
void runKvState(const TensorArg &k, const TensorArg &v, const TensorArg &kv, const TensorArg &ks, const Dims &d,
                const FocusedLinearAttentionOptions &o, const LaunchTarget &target) {
  int64_t bv = blockV(target, d.DV), bm = blockRows(target);
  Splits sp = splitsFor(target, d, d.B * d.H * (d.DV / bv), bm);
  DeviceScratch kvParts(target, sp.count * d.B * d.H * d.DK * d.DV * sizeof(float));
  DeviceScratch ksParts(target, sp.count * d.B * d.H * d.DK * sizeof(float));
  TensorArg kvp = kvParts.tensor("float32", {sp.count, d.B * d.H, d.DK, d.DV});
  TensorArg ksp = ksParts.tensor("float32", {sp.count, d.B * d.H, d.DK});
  std::vector<HostValue> args = {k.pointer(), v.pointer(), kvp.pointer(), ksp.pointer()};
  appendStrides(args, k);
  appendStrides(args, v);
  appendSizes(args, d, o);
  args.push_back(HostValue::integer(sp.rows));
  Keywords kw = keywords(d, o, bm);
  kw.emplace_back("BLOCK_V", HostValue::integer(bv));
  runKernel(libraryKernel("focused_kv_state"), target, {d.DV / bv, d.B * d.H, sp.count}, args, kw);
  double invN = 1.0 / (double)std::max<int64_t>(d.N, 1);
  sumSplits(kvp, kv, sp.count, d.B * d.H * d.DK * d.DV, invN, target);
  sumSplits(ksp, ks, sp.count, d.B * d.H * d.DK, invN, target);
}
} // namespace

void focusedLinearAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                                   const FocusedLinearAttentionOptions &options) {
  Dims d = checks::checkLinearAttentionInputs(q, k, v, 128);
  checks::requireLike(out, "out", v, "v", false);
  checkOptions(options);
  LaunchTarget target = targetOf(q, options);
  DeviceScratch kvMem(target, d.B * d.H * d.DK * d.DV * sizeof(float));
  DeviceScratch ksMem(target, d.B * d.H * d.DK * sizeof(float));
  TensorArg kv = kvMem.tensor("float32", {d.B * d.H, d.DK, d.DV}), ks = ksMem.tensor("float32", {d.B * d.H, d.DK});
  runKvState(k, v, kv, ks, d, options, target);
  std::vector<HostValue> args = {q.pointer(), kv.pointer(), ks.pointer(), out.pointer()};
  appendStrides(args, q);
  appendStrides(args, out);
  appendSizes(args, d, options);
  int64_t bm = blockRows(target);
  runKernel(libraryKernel("focused_output"), target, {cdiv(d.N, bm), d.B * d.H, 1}, args, keywords(d, options, bm));
}

void focusedLinearAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &dout,
                                    const TensorArg &dq, const TensorArg &dk, const TensorArg &dv,
                                    const FocusedLinearAttentionOptions &options) {
  Dims d = checks::checkLinearAttentionInputs(q, k, v, 128);
  checks::requireLike(dout, "dout", v, "v", false);
  checks::requireLike(dq, "dq", q, "q", true);
  checks::requireLike(dk, "dk", k, "k", true);
  checks::requireLike(dv, "dv", v, "v", true);
  checkOptions(options);
  LaunchTarget target = targetOf(q, options);
  size_t kvBytes = d.B * d.H * d.DK * d.DV * sizeof(float), ksBytes = d.B * d.H * d.DK * sizeof(float);
  DeviceScratch kvMem(target, kvBytes), ksMem(target, ksBytes), dkvMem(target, kvBytes), dksMem(target, ksBytes);
  TensorArg kv = kvMem.tensor("float32", {d.B * d.H, d.DK, d.DV}), ks = ksMem.tensor("float32", {d.B * d.H, d.DK});
  TensorArg dkv = dkvMem.tensor("float32", {d.B * d.H, d.DK, d.DV});
  TensorArg dks = dksMem.tensor("float32", {d.B * d.H, d.DK});
  runKvState(k, v, kv, ks, d, options, target);
  int64_t bm = blockRows(target);
  {
    // dq and the split partials of dKV, dks, then their sums.
    Splits sp = splitsFor(target, d, d.B * d.H, bm);
    DeviceScratch dkvParts(target, sp.count * kvBytes), dksParts(target, sp.count * ksBytes);
    TensorArg dkvp = dkvParts.tensor("float32", {sp.count, d.B * d.H, d.DK, d.DV});
    TensorArg dksp = dksParts.tensor("float32", {sp.count, d.B * d.H, d.DK});
    std::vector<HostValue> args = {q.pointer(),  dout.pointer(), kv.pointer(), ks.pointer(),
                                   dq.pointer(), dkvp.pointer(), dksp.pointer()};
    appendStrides(args, q);
    appendStrides(args, dout);
    appendStrides(args, dq);
    appendSizes(args, d, options);
    args.push_back(HostValue::integer(sp.rows));
    runKernel(libraryKernel("focused_bwd_query"), target, {sp.count, d.B * d.H, 1}, args, keywords(d, options, bm));
    sumSplits(dkvp, dkv, sp.count, d.B * d.H * d.DK * d.DV, 1.0, target);
    sumSplits(dksp, dks, sp.count, d.B * d.H * d.DK, 1.0, target);
  }
  std::vector<HostValue> args = {k.pointer(), v.pointer(), dkv.pointer(), dks.pointer(), dk.pointer(), dv.pointer()};
  for (auto *t : {&k, &v, &dk, &dv})
    appendStrides(args, *t);
  appendSizes(args, d, options);
  runKernel(libraryKernel("focused_bwd_kv"), target, {cdiv(d.N, bm), d.B * d.H, 1}, args, keywords(d, options, bm));
}

} // namespace terrazzo::ops
