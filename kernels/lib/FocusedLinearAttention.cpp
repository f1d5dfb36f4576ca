// Host wrappers of kernels/focused_linear_attention.py: argument checks, tile
// sizes, the float32 KV / ks scratches, and the launches of the forward
// (KV state, outputs) and the backward (KV state again, dQ with dKV / dks,
// then dK and dV).
#include "ArgumentChecks.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/FocusedLinearAttention.h"

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

// KV = mean_j phi(k_j)^T v_j and ks = mean_j phi(k_j) into the scratches.
void runKvState(const TensorArg &k, const TensorArg &v, const TensorArg &kv, const TensorArg &ks, const Dims &d,
                const FocusedLinearAttentionOptions &o, const LaunchTarget &target) {
  std::vector<HostValue> args = {k.pointer(), v.pointer(), kv.pointer(), ks.pointer()};
  appendStrides(args, k);
  appendStrides(args, v);
  appendSizes(args, d, o);
  int64_t bv = blockV(target, d.DV);
  Keywords kw = keywords(d, o, blockRows(target));
  kw.emplace_back("BLOCK_V", HostValue::integer(bv));
  runKernel(libraryKernel("focused_kv_state"), target, {d.DV / bv, d.B * d.H, 1}, args, kw);
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
    std::vector<HostValue> args = {q.pointer(),   dout.pointer(), kv.pointer(), ks.pointer(),
                                   dq.pointer(),  dkv.pointer(),  dks.pointer()};
    appendStrides(args, q);
    appendStrides(args, dout);
    appendStrides(args, dq);
    appendSizes(args, d, options);
    runKernel(libraryKernel("focused_bwd_query"), target, {1, d.B * d.H, 1}, args, keywords(d, options, bm));
  }
  std::vector<HostValue> args = {k.pointer(), v.pointer(), dkv.pointer(), dks.pointer(), dk.pointer(), dv.pointer()};
  for (auto *t : {&k, &v, &dk, &dv})
    appendStrides(args, *t);
  appendSizes(args, d, options);
  runKernel(libraryKernel("focused_bwd_kv"), target, {cdiv(d.N, bm), d.B * d.H, 1}, args, keywords(d, options, bm));
}

} // namespace terrazzo::ops
