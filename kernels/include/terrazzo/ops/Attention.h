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

} // namespace terrazzo::ops
