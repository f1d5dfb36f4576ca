// Attention kernels of the library (DSL sources in kernels/*.py) behind C++
// entry points that check their arguments, pick tile sizes and grids, and
// launch. Every argument error throws std::invalid_argument naming the
// argument, before anything runs. CUDA tensors run on the GPU (all on one
// device, on `stream`), host tensors on the CPU interpreter.
//
// Layout: q is (B, H, N_Q, D); k and v are (B, H_KV, N_K, D) with H_KV
// dividing H (MQA/GQA). The dimensions are logical: any strides work, so
// (B, S, H, D) memory is passed by permuting shape and strides, no copy.
// Causal masking is aligned bottom-right: query i sees key j iff
// j <= i + (N_K - N_Q). Fully masked rows produce zeros.
#pragma once

#include "terrazzo/ops/BlockMask.h"
#include "terrazzo/ops/TensorArg.h"

#include <optional>
#include <vector>

namespace terrazzo::ops {

struct FlashAttentionOptions {
  bool causal = false;
  std::optional<double> scale;  // default 1 / sqrt(D)
  HostValue scoreMod;           // a jit function (score, b, h, q_idx, kv_idx) -> score, or None
  HostValue maskMod;            // a jit function (b, h, q_idx, kv_idx) -> bool tile, or None
  const TensorArg *seqlensK = nullptr; // optional int32 (B,): valid keys per batch
  // Optional block mask (createBlockMask) of the same mask_mod: empty tiles
  // are skipped, full ones run unmasked. Its lengths must be N_Q and N_K;
  // not with causal (put causality in the mask_mod) nor seqlens_k.
  const BlockMaskArg *blockMask = nullptr;
  void *stream = nullptr;       // CUstream of a GPU call (null: the default stream)
  // Tensors score_mod reads (at most 4, on q's device): it is called as
  // score_mod(score, b, h, q_idx, kv_idx, *scoreModArgs), each as a pointer.
  std::vector<const TensorArg *> scoreModArgs;
  // Backward only: per capture, null or a float32 buffer with the capture's
  // shape and strides into which the gradient of the loss with respect to
  // the capture is added (atomically; zero it first for the gradient alone).
  std::vector<const TensorArg *> scoreModArgGrads;
  // Tensors mask_mod reads (at most 4, on q's device), after its four
  // arguments: mask_mod(b, h, q_idx, kv_idx, *maskModArgs). No gradients.
  std::vector<const TensorArg *> maskModArgs;
};

// out: like q. lse: float32 (B, H, N_Q) contiguous, natural log of the
// softmax denominator (-inf for fully masked rows), or null.
TERRAZZO_API void flashAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                        const TensorArg &out, const TensorArg *lse,
                                        const FlashAttentionOptions &options = {});

// Gradients from the forward's out and lse (recomputation). dq like q; dk, dv like k.
// The score_mod is differentiated by the compiler (d score_mod / d score), and
// the gradients of its captured tensors are added into scoreModArgGrads.
TERRAZZO_API void flashAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                         const TensorArg &out, const TensorArg &lse, const TensorArg &dout,
                                         const TensorArg &dq, const TensorArg &dk, const TensorArg &dv,
                                         const FlashAttentionOptions &options = {});

// Packed variable-length batches (FlashAttention's cu_seqlens API): q is
// (total_q, H, D), k and v (total_k, H_KV, D); sequence b owns rows
// [cuSeqlensQ[b], cuSeqlensQ[b+1]) of q and [cuSeqlensK[b], cuSeqlensK[b+1])
// of k and v. Both offset tensors are int32 (num_sequences + 1,); on the
// host their values are checked (start at 0, non-decreasing, end at the
// total, no sequence longer than maxSeqlen*); on a GPU they are not read
// (the kernels clamp them into the tensors). Causal alignment, score_mod and
// mask_mod are per sequence (b = the sequence, in-sequence indices).
struct VarlenSequences {
  const TensorArg *cuSeqlensQ = nullptr;
  const TensorArg *cuSeqlensK = nullptr;
  int64_t maxSeqlenQ = 0, maxSeqlenK = 0;
};

// out like q; lse float32 (H, total_q) contiguous, or null. options.seqlensK
// and options.blockMask must be unset.
TERRAZZO_API void flashAttentionVarlenForward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                              const VarlenSequences &sequences, const TensorArg &out,
                                              const TensorArg *lse, const FlashAttentionOptions &options = {});

TERRAZZO_API void flashAttentionVarlenBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                               const VarlenSequences &sequences, const TensorArg &out,
                                               const TensorArg &lse, const TensorArg &dout, const TensorArg &dq,
                                               const TensorArg &dk, const TensorArg &dv,
                                               const FlashAttentionOptions &options = {});

} // namespace terrazzo::ops
