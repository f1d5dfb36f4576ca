// The launches of kernels/flash_attention.py behind the public entry points
// (FlashAttention.cpp: dense (B, H, N, D) batches; FlashAttentionVarlen.cpp:
// packed sequences). Arguments are checked by the callers.
#pragma once

#include "ArgumentChecks.h"
#include "terrazzo/ops/Attention.h"

namespace terrazzo::ops::flash {

// Where each batch's rows are: the dense layout (no offsets; the grids
// cover N_Q and N_K), or packed sequences whose int32 offsets the kernels
// read (views with batch stride 0, B = the number of sequences, N_Q / N_K
// the totals; the grids cover the longest sequences).
struct RowLayout {
  const TensorArg *cuSeqlensQ = nullptr, *cuSeqlensK = nullptr;
  int64_t gridRowsQ = 0, gridRowsK = 0;
  bool packed() const { return cuSeqlensQ != nullptr; }
};

// lse: float32 (B, H, N_Q), or (H, N_Q) for a packed layout; may be null.
void launchForward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                   const TensorArg *lse, const FlashAttentionOptions &options, const checks::AttentionDims &d,
                   const RowLayout &rows);

void launchBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v, const TensorArg &out,
                    const TensorArg &lse, const TensorArg &dout, const TensorArg &dq, const TensorArg &dk,
                    const TensorArg &dv, const FlashAttentionOptions &options, const checks::AttentionDims &d,
                    const RowLayout &rows);

// score_mod / mask_mod are jit functions or None.
void checkMods(const FlashAttentionOptions &o);

// score_mod_args / mask_mod_args (at most 4 each, only with their mod, on
// q's device), and for the backward score_mod_arg_grads (float32, the shape
// and strides of their captures); the forward takes no gradients.
void checkScoreModArgs(const FlashAttentionOptions &o, const TensorArg &q, bool backward);

// options.blockMask fits q (B, H, N_Q) and k (N_K): int32 contiguous
// tensors of consistent shapes on q's device, broadcastable batch and head
// counts, the same lengths; and the options it cannot be combined with.
void checkBlockMask(const FlashAttentionOptions &o, const checks::AttentionDims &d, const TensorArg &q);

} // namespace terrazzo::ops::flash
