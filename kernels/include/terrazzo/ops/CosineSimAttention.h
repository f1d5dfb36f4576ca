// Cosine-similarity attention (kernels/cosine_sim_attention.py) behind C++
// entry points that check their arguments, pick tile sizes and grids, and
// launch. Every argument error throws std::invalid_argument naming the
// argument, before anything runs. CUDA tensors run on the GPU (all on one
// device, on `stream`), host tensors on the CPU interpreter.
//
//   q_hat = q / max(||q||, eps)    k_hat = k / max(||k||, eps)   (per group)
//   s     = scale * q_hat . k_hat (+ bias)
//   out   = softmax_j(s over the keys that are not masked) @ v
//
// The scores are bounded by groups * scale, so the softmax needs no running
// maximum; keep groups * scale moderate (<= ~50, see the kernel's docstring)
// and biases below ~80.
//
// Layout: q is (B, H, N_Q, D); k and v are (B, H_KV, N_K, D) with H_KV
// dividing H (MQA/GQA); D is a power of two from 16 to 256. The dimensions
// are logical: any non-negative strides work, so (B, S, H, D) memory is
// passed by permuting shape and strides, no copy. Causal masking is aligned
// bottom-right: query i sees key j iff j <= i + (N_K - N_Q). Rows that attend
// nothing produce zeros (and lse = -inf, zero gradients), never NaN.
#pragma once

#include "terrazzo/ops/TensorArg.h"

namespace terrazzo::ops {

struct CosineSimAttentionOptions {
  bool causal = false;
  double scale = 10.0; // finite, > 0; a compile-time constant of the kernels
  int groups = 1;      // q and k are normalised per group of D / groups columns
  double eps = 1e-6;   // > 0: norms are clamped to at least eps
  // Additive bias (B or 1, H or 1, N_Q, N_K), float16 / bfloat16 / float32 /
  // float64, any strides; a size-1 batch or head dimension is broadcast.
  // -inf entries mask.
  const TensorArg *bias = nullptr;
  const TensorArg *keyMask = nullptr; // (B, N_K) bool or int8: nonzero = the key may be attended
  const TensorArg *keyLens = nullptr; // (B,) int32 contiguous: keys j >= keyLens[b] are padding
  void *stream = nullptr;             // CUstream of a GPU call (null: the default stream)
};

// out: (B, H, N_Q, D) in q's dtype. lse: float32 (B, H, N_Q) contiguous, the
// natural log of each row's softmax denominator (-inf for rows that attend
// nothing); required, since the backward recomputes the probabilities from it.
TERRAZZO_API void cosineSimAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                            const TensorArg &out, const TensorArg &lse,
                                            const CosineSimAttentionOptions &options = {});

// Gradients from the forward's out and lse (same options). out and dout are
// like q; dq is like q and dk, dv like k, in the input dtype or float32.
// dbias: float32 with the bias's shape (any non-negative strides), or null;
// it receives d(loss)/d(bias) summed over the bias's broadcast dimensions.
TERRAZZO_API void cosineSimAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                             const TensorArg &out, const TensorArg &lse, const TensorArg &dout,
                                             const TensorArg &dq, const TensorArg &dk, const TensorArg &dv,
                                             const TensorArg *dbias, const CosineSimAttentionOptions &options = {});

} // namespace terrazzo::ops
