// Host wrappers of kernels/flash_attention.py: argument checks, tile sizes,
// grids, and the launch of forward and backward kernels.
#include "ArgumentChecks.h"
#include "FlashAttentionLaunch.h"
#include "TileTuning.h"
#include "LibraryLaunch.h"
#include "terrazzo/ops/Attention.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <tuple>

namespace terrazzo::ops {

namespace {
using checks::fail;

Kernel &libraryKernel(const std::string &name) { return ops::libraryKernel("flash_attention.py", name); }

int64_t nextPowerOfTwo(int64_t x) {
  int64_t p = 1;
  while (p < x)
    p *= 2;
  return p;
}

using Dims = checks::AttentionDims;

Dims checkQKV(const TensorArg &q, const TensorArg &k, const TensorArg &v) {
  return checks::checkAttentionInputs(
      q, k, v, [](int64_t d) { return d >= 1 && d <= 256; }, "1 to 256");
}


void checkRowStats(const TensorArg &t, const std::string &name, const Dims &d, const TensorArg &q) {
  checks::requireRank(t, name, 3, "(B, H, N_Q)");
  checks::requireDtype(t, name, {"float32"});
  checks::requireShape(t, name, {d.B, d.H, d.NQ});
  if (t.strides != std::vector<int64_t>{d.H * d.NQ, d.NQ, 1})
    fail(name, "must be contiguous");
  checks::requireSameDevice(t, name, q, "q");
  checks::requireData(t, name);
}

void checkSeqlens(const FlashAttentionOptions &o, const Dims &d, const TensorArg &q) {
  if (!o.seqlensK)
    return;
  checks::requireRank(*o.seqlensK, "seqlens_k", 1, "(B,)");
  checks::requireDtype(*o.seqlensK, "seqlens_k", {"int32"});
  checks::requireShape(*o.seqlensK, "seqlens_k", {d.B});
  checks::requireSameDevice(*o.seqlensK, "seqlens_k", q, "q");
  checks::requireData(*o.seqlensK, "seqlens_k");
}

// The captures of both mods as the kernels' keyword arguments, and the
// buffers for score_mod's captures' gradients as the dQ kernel's (which adds
// them).
void addScoreModArgs(Keywords &kw, const FlashAttentionOptions &o) {
  for (size_t i = 0; i < o.scoreModArgs.size(); ++i)
    kw.emplace_back("score_mod_arg" + std::to_string(i), o.scoreModArgs[i]->pointer());
  for (size_t i = 0; i < o.maskModArgs.size(); ++i)
    kw.emplace_back("mask_mod_arg" + std::to_string(i), o.maskModArgs[i]->pointer());
}
void addScoreModGrads(Keywords &kw, const FlashAttentionOptions &o) {
  for (size_t i = 0; i < o.scoreModArgGrads.size(); ++i)
    if (o.scoreModArgGrads[i])
      kw.emplace_back("score_mod_grad" + std::to_string(i), o.scoreModArgGrads[i]->pointer());
}

void appendStrides(std::vector<HostValue> &args, const TensorArg &t) {
  for (int64_t s : t.strides)
    args.push_back(HostValue::integer(s));
}

// Tile sizes: small problems get small tiles so the interpreter does not
// compute mostly-masked blocks.
int64_t blockFor(int64_t n) { return n <= 16 ? 16 : n <= 32 ? 32 : 64; }

Keywords commonKeywords(const Dims &d, const FlashAttentionOptions &o, int64_t blockM, int64_t blockN) {
  Keywords kw = {{"HEAD_DIM", HostValue::integer(d.D)},
                 {"BLOCK_M", HostValue::integer(blockM)},
                 {"BLOCK_N", HostValue::integer(blockN)},
                 {"CAUSAL", HostValue::boolean(o.causal)},
                 {"HAS_SEQLENS_K", HostValue::boolean(o.seqlensK != nullptr)},
                 {"SCORE_MOD", o.scoreMod},
                 {"MASK_MOD", o.maskMod}};
  addScoreModArgs(kw, o);
  int64_t padded = nextPowerOfTwo(d.D);
  if (padded != d.D)
    kw.emplace_back("HEAD_DIM_PADDED", HostValue::integer(padded));
  return kw;
}

double scaleOf(const FlashAttentionOptions &o, const Dims &d) {
  double scale = o.scale.value_or(1.0 / std::sqrt((double)d.D));
  if (!std::isfinite(scale))
    fail("scale", "must be finite");
  return scale;
}

LaunchTarget targetOf(const TensorArg &q, const FlashAttentionOptions &o) {
  LaunchTarget t;
  t.device = q.device;
  t.deviceIndex = q.deviceIndex;
  t.stream = o.stream;
  t.numWarps = 4;
  return t;
}

// The forward's options that change its kernel, for the tuning key: the
// mods by presence (different score_mods share one choice).
std::string variantOf(const FlashAttentionOptions &o, const TensorArg *lse, const flash::RowLayout &rows) {
  std::string v;
  if (rows.packed())
    v += "varlen,";
  if (o.blockMask)
    v += "block_mask,";
  if (o.scoreMod.kind != HostValue::Kind::None)
    v += "score_mod,";
  if (o.maskMod.kind != HostValue::Kind::None)
    v += "mask_mod,";
  if (o.seqlensK)
    v += "seqlens,";
  if (lse)
    v += "lse,";
  return v;
}

HostValue seqlensArg(const FlashAttentionOptions &o) {
  return o.seqlensK ? o.seqlensK->pointer() : HostValue::none();
}

// The kernels' keywords for a packed layout (their defaults mean dense).
void addLayoutKeywords(Keywords &kw, const flash::RowLayout &rows) {
  if (!rows.packed())
    return;
  kw.emplace_back("VARLEN", HostValue::boolean(true));
  kw.emplace_back("cu_seqlens_q_ptr", rows.cuSeqlensQ->pointer());
  kw.emplace_back("cu_seqlens_k_ptr", rows.cuSeqlensK->pointer());
}

// The block mask's lists for kernels that own query blocks (forward, dQ),
// or with `transposed` for those that own key blocks (dK/dV).
void addBlockMaskKeywords(Keywords &kw, const BlockMaskArg *mask, bool transposed) {
  if (!mask)
    return;
  const TensorArg &counts = transposed ? mask->qCounts : mask->kvCounts;
  const TensorArg &indices = transposed ? mask->qIndices : mask->kvIndices;
  int64_t mb = counts.shape[0], mh = counts.shape[1], lines = counts.shape[2];
  kw.emplace_back("SPARSE_BLOCK", HostValue::integer(mask->blockSize));
  kw.emplace_back("sparse_counts_ptr", counts.pointer());
  kw.emplace_back("sparse_indices_ptr", indices.pointer());
  kw.emplace_back("sparse_stride_b", HostValue::integer(mb == 1 ? 0 : mh * lines));
  kw.emplace_back("sparse_stride_h", HostValue::integer(mh == 1 ? 0 : lines));
  kw.emplace_back("sparse_cols", HostValue::integer(indices.shape[4]));
}

// The kernels walk each listed block in tiles that must divide it: tiles
// (powers of two, like the block size) no larger than the block do.
AttentionTiles fitBlockMask(AttentionTiles tiles, const BlockMaskArg *mask) {
  if (mask) {
    tiles.blockM = std::min(tiles.blockM, mask->blockSize);
    tiles.blockN = std::min(tiles.blockN, mask->blockSize);
  }
  return tiles;
}

int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
} // namespace

namespace flash {
void checkMods(const FlashAttentionOptions &o) {
  using K = HostValue::Kind;
  if (o.scoreMod.kind != K::None && o.scoreMod.kind != K::Function)
    fail("score_mod", "must be a @tz.jit function or None");
  if (o.maskMod.kind != K::None && o.maskMod.kind != K::Function)
    fail("mask_mod", "must be a @tz.jit function or None");
}

constexpr size_t kMaxScoreModArgs = 4;

void checkScoreModArgs(const FlashAttentionOptions &o, const TensorArg &q, bool backward) {
  for (auto [args, mod, what] : {std::tuple(&o.scoreModArgs, &o.scoreMod, "score_mod"),
                                  std::tuple(&o.maskModArgs, &o.maskMod, "mask_mod")}) {
    std::string argsName = std::string(what) + "_args";
    if (args->size() > kMaxScoreModArgs)
      fail(argsName, "takes at most 4 tensors, not " + std::to_string(args->size()));
    if (!args->empty() && mod->kind == HostValue::Kind::None)
      fail(argsName, std::string("needs a ") + what + " that reads them");
    for (size_t i = 0; i < args->size(); ++i) {
      std::string name = argsName + "[" + std::to_string(i) + "]";
      checks::requireSameDevice(*(*args)[i], name, q, "q");
      checks::requireStrides(*(*args)[i], name, false);
      checks::requireData(*(*args)[i], name);
    }
  }
  if (!backward) {
    if (!o.scoreModArgGrads.empty())
      fail("score_mod_arg_grads", "are outputs of the backward only");
    return;
  }
  if (o.scoreModArgGrads.size() > o.scoreModArgs.size())
    fail("score_mod_arg_grads", "has " + std::to_string(o.scoreModArgGrads.size()) + " entries for " +
                                    std::to_string(o.scoreModArgs.size()) + " score_mod_args");
  for (size_t i = 0; i < o.scoreModArgGrads.size(); ++i) {
    const TensorArg *g = o.scoreModArgGrads[i];
    if (!g)
      continue;
    std::string name = "score_mod_arg_grads[" + std::to_string(i) + "]";
    const TensorArg &arg = *o.scoreModArgs[i];
    checks::requireDtype(*g, name, {"float32"});
    checks::requireShape(*g, name, arg.shape);
    // The kernel adds each gradient at the offset its value was read from.
    for (size_t dim = 0; dim < arg.shape.size(); ++dim)
      if (arg.shape[dim] > 1 && g->strides[dim] != arg.strides[dim])
        fail(name, "must have the strides of score_mod_args[" + std::to_string(i) + "]");
    checks::requireSameDevice(*g, name, q, "q");
    checks::requireData(*g, name);
  }
}

void launchForward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                   const TensorArg *lse, const FlashAttentionOptions &options, const Dims &d, const RowLayout &rows) {
  LaunchTarget target = targetOf(q, options);
  std::vector<HostValue> args = {q.pointer(), k.pointer(), v.pointer(), out.pointer(),
                                 lse ? lse->pointer() : HostValue::none(), seqlensArg(options)};
  for (auto *t : {&q, &k, &v, &out})
    appendStrides(args, *t);
  for (int64_t x : {d.H, d.HKV, d.NQ, d.NK})
    args.push_back(HostValue::integer(x));
  args.push_back(HostValue::floating(scaleOf(options, d)));
  TuningShape shape{"flash_attention_fwd", q.dtype,        d.D, rows.gridRowsQ, rows.gridRowsK, options.causal,
                    variantOf(options, lse, rows)};
  shape.fallback = {blockFor(rows.gridRowsQ), blockFor(rows.gridRowsK), target.numWarps, target.numStages};
  runTunedForward(shape, target, [&](const AttentionTiles &chosen) {
    AttentionTiles tiles = fitBlockMask(chosen, options.blockMask);
    LaunchTarget tuned = withTiles(target, tiles);
    Keywords kw = commonKeywords(d, options, tiles.blockM, tiles.blockN);
    kw.emplace_back("STORE_LSE", HostValue::boolean(lse != nullptr));
    addLayoutKeywords(kw, rows);
    addBlockMaskKeywords(kw, options.blockMask, false);
    runKernel(libraryKernel("flash_attention_fwd"), tuned, {cdiv(rows.gridRowsQ, tiles.blockM), d.B * d.H, 1}, args,
              kw);
  });
}

} // namespace flash

void flashAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                           const TensorArg *lse, const FlashAttentionOptions &options) {
  Dims d = checkQKV(q, k, v);
  checks::requireLike(out, "out", q, "q", false);
  if (lse)
    checkRowStats(*lse, "lse", d, q);
  checkSeqlens(options, d, q);
  flash::checkMods(options);
  flash::checkScoreModArgs(options, q, false);
  flash::checkBlockMask(options, d, q);
  if (d.B == 0 || d.H == 0 || d.NQ == 0)
    return;
  flash::launchForward(q, k, v, out, lse, options, d, flash::RowLayout{nullptr, nullptr, d.NQ, d.NK});
}

namespace flash {
void launchBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                    const TensorArg &lse, const TensorArg &dout, const TensorArg &dq, const TensorArg &dk,
                    const TensorArg &dv, const FlashAttentionOptions &options, const Dims &d, const RowLayout &rows) {
  double scale = scaleOf(options, d);
  LaunchTarget target = targetOf(q, options);
  // The tiles: 64x64 blocks on 4 warps (blocks of 16 or 32 for short
  // sequences), tuned over stages and register bounds on the GPU. At head
  // dim 64 a bound of 3 blocks per multiprocessor (168 registers: a few
  // spilled bytes) gave 8-20% faster forward+backward; at 128 it spilled
  // too much and halved the speed (bench/results/2026-11-24-H100-run23,
  // bwdsweep.txt): that is the default where nothing is tuned. Head dim 32
  // takes it too (vision shape forward+backward 1.22x SDPA flash in run26).
  int64_t blockM = blockFor(rows.gridRowsQ), blockN = blockFor(rows.gridRowsK);
  TuningShape shape{"flash_attention_bwd", q.dtype, d.D, rows.gridRowsQ, rows.gridRowsK, options.causal,
                    variantOf(options, nullptr, rows)};
  shape.fallback = {blockM, blockN, target.numWarps, target.numStages,
                    d.D <= 64 && blockM == 64 && blockN == 64 ? 3 : 0};

  // delta = rowsum(dO * O), float32 like lse: (B, H, N_Q), or (H, N_Q)
  // over packed rows, which is the dense layout of one batch of N_Q rows.
  int64_t rowBatches = rows.packed() ? 1 : d.B;
  DeviceScratch delta(target, rowBatches * d.H * d.NQ * sizeof(float));
  TensorArg deltaArg = delta.tensor("float32", {rowBatches, d.H, d.NQ});
  {
    std::vector<HostValue> args = {out.pointer(), dout.pointer(), deltaArg.pointer()};
    appendStrides(args, out);
    appendStrides(args, dout);
    args.push_back(HostValue::integer(d.H));
    args.push_back(HostValue::integer(d.NQ));
    Keywords kw = {{"HEAD_DIM", HostValue::integer(d.D)}, {"BLOCK_M", HostValue::integer(blockM)}};
    if (nextPowerOfTwo(d.D) != d.D)
      kw.emplace_back("HEAD_DIM_PADDED", HostValue::integer(nextPowerOfTwo(d.D)));
    runKernel(libraryKernel("flash_attention_bwd_preprocess"), target, {cdiv(d.NQ, blockM), rowBatches * d.H, 1},
              args, kw);
  }
  std::vector<HostValue> dkdvArgs = {q.pointer(),        k.pointer(),  v.pointer(),  dout.pointer(), lse.pointer(),
                                     deltaArg.pointer(), dk.pointer(), dv.pointer(), seqlensArg(options)};
  for (auto *t : {&q, &k, &v, &dout, &dk, &dv})
    appendStrides(dkdvArgs, *t);
  std::vector<HostValue> dqArgs = {q.pointer(),   k.pointer(),        v.pointer(),  dout.pointer(),
                                   lse.pointer(), deltaArg.pointer(), dq.pointer(), seqlensArg(options)};
  for (auto *t : {&q, &k, &v, &dout, &dq})
    appendStrides(dqArgs, *t);
  for (auto *args : {&dkdvArgs, &dqArgs}) {
    for (int64_t x : {d.H, d.HKV, d.NQ, d.NK})
      args->push_back(HostValue::integer(x));
    args->push_back(HostValue::floating(scale));
  }
  // Timing runs leave the captures' gradients alone: only the last launch,
  // with the chosen tiles, adds into them.
  auto launch = [&](const AttentionTiles &chosen, bool addCaptureGrads) {
    AttentionTiles tiles = fitBlockMask(chosen, options.blockMask);
    LaunchTarget tuned = withTiles(target, tiles);
    Keywords kw = commonKeywords(d, options, tiles.blockM, tiles.blockN);
    addLayoutKeywords(kw, rows);
    Keywords dkdvKw = kw, dqKw = kw;
    addBlockMaskKeywords(dkdvKw, options.blockMask, true);
    addBlockMaskKeywords(dqKw, options.blockMask, false);
    if (addCaptureGrads)
      addScoreModGrads(dqKw, options);
    runKernel(libraryKernel("flash_attention_bwd_dkdv"), tuned, {cdiv(rows.gridRowsK, tiles.blockN), d.B * d.HKV, 1},
              dkdvArgs, dkdvKw);
    runKernel(libraryKernel("flash_attention_bwd_dq"), tuned, {cdiv(rows.gridRowsQ, tiles.blockM), d.B * d.H, 1},
              dqArgs, dqKw);
  };
  runTunedBackward(
      shape, target, [&](const AttentionTiles &tiles) { launch(tiles, false); },
      [&](const AttentionTiles &tiles) { launch(tiles, true); });
}
} // namespace flash

void flashAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                            const TensorArg &lse, const TensorArg &dout, const TensorArg &dq, const TensorArg &dk,
                            const TensorArg &dv, const FlashAttentionOptions &options) {
  Dims d = checkQKV(q, k, v);
  checks::requireLike(out, "out", q, "q", false);
  checks::requireLike(dout, "dout", q, "q", false);
  checks::requireLike(dq, "dq", q, "q", false);
  checks::requireLike(dk, "dk", k, "k", false);
  checks::requireLike(dv, "dv", v, "v", false);
  checkRowStats(lse, "lse", d, q);
  checkSeqlens(options, d, q);
  flash::checkMods(options);
  flash::checkScoreModArgs(options, q, true);
  flash::checkBlockMask(options, d, q);
  if (d.B == 0 || d.H == 0 || d.NQ == 0 || d.NK == 0)
    return;
  flash::launchBackward(q, k, v, out, lse, dout, dq, dk, dv, options, d,
                        flash::RowLayout{nullptr, nullptr, d.NQ, d.NK});
}

} // namespace terrazzo::ops
