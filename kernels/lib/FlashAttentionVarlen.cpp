// Flash attention over packed variable-length sequences: (total, H, D)
// tensors and cu_seqlens offsets, checked here and launched as the dense
// kernels' VARLEN variant (FlashAttentionLaunch.h).
#include "ArgumentChecks.h"
#include "FlashAttentionLaunch.h"
#include "terrazzo/ops/Attention.h"

#include <algorithm>

namespace terrazzo::ops {

namespace {
using checks::fail;

std::string str(int64_t x) { return std::to_string(x); }

// A packed (total, heads, D) tensor as the kernels' (B, heads, total, D)
// view: every batch starts at row 0 (batch stride 0), the kernels add the
// sequence's offset.
TensorArg batchedView(const TensorArg &t, int64_t batches) {
  TensorArg view = t;
  view.shape = {batches, t.shape[1], t.shape[0], t.shape[2]};
  view.strides = {0, t.strides[1], t.strides[0], t.strides[2]};
  return view;
}

void requirePacked(const TensorArg &t, const std::string &name, const char *layout) {
  checks::requireRank(t, name, 3, layout);
}

// q (total_q, H, D), k and v (total_k, H_KV, D); the rest of the checks are
// the dense ones, on one-batch views.
checks::AttentionDims checkPackedInputs(const TensorArg &q, const TensorArg &k, const TensorArg &v) {
  requirePacked(q, "q", "(total_q, H, D)");
  requirePacked(k, "k", "(total_k, H_KV, D)");
  requirePacked(v, "v", "(total_k, H_KV, D)");
  if (k.shape[2] != q.shape[2])
    fail("k", "head dim " + str(k.shape[2]) + " differs from q's " + str(q.shape[2]));
  checks::requireShape(v, "v", k.shape);
  return checks::checkAttentionInputs(batchedView(q, 1), batchedView(k, 1), batchedView(v, 1),
                                      [](int64_t d) { return d >= 1 && d <= 256; }, "1 to 256");
}

// The offsets: int32 (S + 1,), on q's device, both of one length. On the
// host (where reading them costs nothing) also their values. Returns S.
int64_t checkSequences(const VarlenSequences &s, const TensorArg &q, int64_t totalQ, int64_t totalK) {
  if (!s.cuSeqlensQ)
    fail("cu_seqlens_q", "is required");
  if (!s.cuSeqlensK)
    fail("cu_seqlens_k", "is required");
  for (auto [t, name] : {std::pair{s.cuSeqlensQ, "cu_seqlens_q"}, {s.cuSeqlensK, "cu_seqlens_k"}}) {
    checks::requireRank(*t, name, 1, "(num_sequences + 1,)");
    checks::requireDtype(*t, name, {"int32"});
    checks::requireSameDevice(*t, name, q, "q");
    if (t->shape[0] < 1)
      fail(name, "must hold at least one offset (num_sequences + 1 of them)");
    checks::requireData(*t, name);
  }
  if (s.cuSeqlensK->shape[0] != s.cuSeqlensQ->shape[0])
    fail("cu_seqlens_k", "has " + str(s.cuSeqlensK->shape[0]) + " offsets, cu_seqlens_q has " +
                             str(s.cuSeqlensQ->shape[0]) + ": both need one per sequence plus one");
  if (s.maxSeqlenQ < 0)
    fail("max_seqlen_q", "must be non-negative, got " + str(s.maxSeqlenQ));
  if (s.maxSeqlenK < 0)
    fail("max_seqlen_k", "must be non-negative, got " + str(s.maxSeqlenK));
  if (q.device == TensorArg::Device::Host) {
    auto values = [](const TensorArg *t, const char *name, int64_t total, int64_t maxLen, const char *maxName) {
      const auto *p = static_cast<const int32_t *>(t->data);
      int64_t n = t->shape[0], stride = t->strides[0];
      if (p[0] != 0)
        fail(name, "must start at 0, got " + str(p[0]));
      for (int64_t i = 1; i < n; ++i) {
        int64_t prev = p[(i - 1) * stride], cur = p[i * stride];
        if (cur < prev)
          fail(name, "must be non-decreasing: entry " + str(i) + " is " + str(cur) + " after " + str(prev));
        if (cur - prev > maxLen)
          fail(maxName, "is " + str(maxLen) + " but sequence " + str(i - 1) + " has " + str(cur - prev) + " rows");
      }
      if (p[(n - 1) * stride] != total)
        fail(name, "must end at the number of packed rows, " + str(total) + ", got " + str(p[(n - 1) * stride]));
    };
    values(s.cuSeqlensQ, "cu_seqlens_q", totalQ, s.maxSeqlenQ, "max_seqlen_q");
    values(s.cuSeqlensK, "cu_seqlens_k", totalK, s.maxSeqlenK, "max_seqlen_k");
  }
  return s.cuSeqlensQ->shape[0] - 1;
}

// lse: float32 (H, total_q), contiguous.
void checkPackedLse(const TensorArg &t, const checks::AttentionDims &d, const TensorArg &q) {
  checks::requireRank(t, "lse", 2, "(H, total_q)");
  checks::requireDtype(t, "lse", {"float32"});
  checks::requireShape(t, "lse", {d.H, d.NQ});
  if (t.shape[1] > 1 && t.strides[1] != 1)
    fail("lse", "must be contiguous");
  if (t.shape[0] > 1 && t.strides[0] != d.NQ)
    fail("lse", "must be contiguous");
  checks::requireSameDevice(t, "lse", q, "q");
  checks::requireData(t, "lse");
}

void checkOptions(const FlashAttentionOptions &o, const TensorArg &q, bool backward) {
  flash::checkMods(o);
  flash::checkScoreModArgs(o, q, backward);
  if (o.seqlensK)
    fail("seqlens_k", "does not apply to packed sequences (cu_seqlens_k gives the key counts)");
  if (o.blockMask)
    fail("block_mask", "is not supported with packed sequences");
}

// Dims of the launch: B = the sequences, N_Q / N_K the packed totals.
checks::AttentionDims launchDims(checks::AttentionDims d, int64_t sequences, const TensorArg &q, const TensorArg &k) {
  d.B = sequences;
  d.NQ = q.shape[0];
  d.NK = k.shape[0];
  return d;
}
} // namespace

void flashAttentionVarlenForward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                 const VarlenSequences &sequences, const TensorArg &out, const TensorArg *lse,
                                 const FlashAttentionOptions &options) {
  checks::AttentionDims d = checkPackedInputs(q, k, v);
  checks::requireLike(out, "out", q, "q", false);
  int64_t n = checkSequences(sequences, q, q.shape[0], k.shape[0]);
  d = launchDims(d, n, q, k);
  if (lse)
    checkPackedLse(*lse, d, q);
  checkOptions(options, q, false);
  if (n == 0 || d.H == 0 || d.NQ == 0 || sequences.maxSeqlenQ == 0)
    return;
  flash::RowLayout rows{sequences.cuSeqlensQ, sequences.cuSeqlensK, sequences.maxSeqlenQ,
                        std::max<int64_t>(sequences.maxSeqlenK, 1)};
  flash::launchForward(batchedView(q, n), batchedView(k, n), batchedView(v, n), batchedView(out, n), lse, options,
                       d, rows);
}

void flashAttentionVarlenBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                  const VarlenSequences &sequences, const TensorArg &out, const TensorArg &lse,
                                  const TensorArg &dout, const TensorArg &dq, const TensorArg &dk, const TensorArg &dv,
                                  const FlashAttentionOptions &options) {
  checks::AttentionDims d = checkPackedInputs(q, k, v);
  checks::requireLike(out, "out", q, "q", false);
  checks::requireLike(dout, "dout", q, "q", false);
  checks::requireLike(dq, "dq", q, "q", false);
  checks::requireLike(dk, "dk", k, "k", false);
  checks::requireLike(dv, "dv", v, "v", false);
  int64_t n = checkSequences(sequences, q, q.shape[0], k.shape[0]);
  d = launchDims(d, n, q, k);
  checkPackedLse(lse, d, q);
  checkOptions(options, q, true);
  if (n == 0 || d.H == 0 || d.NQ == 0 || d.NK == 0)
    return;
  // Keys of a sequence without queries get no gradient from the kernels
  // (their dK/dV programs visit no rows and store zeros), so the grids
  // cover every key even where max_seqlen_q is 0.
  flash::RowLayout rows{sequences.cuSeqlensQ, sequences.cuSeqlensK, std::max<int64_t>(sequences.maxSeqlenQ, 1),
                        std::max<int64_t>(sequences.maxSeqlenK, 1)};
  flash::launchBackward(batchedView(q, n), batchedView(k, n), batchedView(v, n), batchedView(out, n), lse,
                        batchedView(dout, n), batchedView(dq, n), batchedView(dk, n), batchedView(dv, n), options, d,
                        rows);
}

} // namespace terrazzo::ops
