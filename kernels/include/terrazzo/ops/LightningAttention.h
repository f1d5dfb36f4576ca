// Lightning attention (kernels/lightning_attention.py): causal linear
// attention with an optional per-head exponential decay, behind C++ entry
// points that check their arguments, pick chunk and tile sizes and launch.
// Every argument error throws std::invalid_argument naming the argument,
// before anything runs. CUDA tensors run on the GPU (all on one device, on
// `stream`), host tensors on the CPU interpreter.
//
// Per batch and head, with lambda = exp(-decay[h]) (1 without a decay) and
// q multiplied by the scale:
//   S_t = lambda S_{t-1} + k_t^T v_t,   o_t = q_t S_t,   S_{-1} = initial state (or 0)
// The final state is S_{N-1}. States are float32 (B, H, Dk, Dv), any strides.
//
// Layout: q and k are (B, H, N, Dk), v and out (B, H, N, Dv); Dk and Dv are
// powers of two from 16 to 256; q, k, v float16 or bfloat16 alike. Any
// non-negative strides work ((B, N, H, D) memory is passed by permuting shape
// and strides). decay: float32 (H,) slopes, any stride; they should be
// finite and >= 0 (not checked: the values may live on the device).
#pragma once

#include "terrazzo/ops/TensorArg.h"

#include <optional>

namespace terrazzo::ops {

struct LightningAttentionOptions {
  std::optional<double> scale;     // default 1 / sqrt(Dk), applied to q
  const TensorArg *decay = nullptr; // float32 (H,), or null: no decay
  // Optional feature map: a jit function phi(x) of a float32 tile, applied
  // elementwise to q and k (o_t = phi(q_t) S_t, S_t from phi(k_t)), and for
  // the backward its derivative featureMapGrad(x, g) = phi'(x) * g. None: no map.
  HostValue featureMap, featureMapGrad;
  void *stream = nullptr; // CUstream of a GPU call (null: the default stream)
};

// out: like v. initialState: float32 (B, H, Dk, Dv) or null (zeros).
// finalState: float32 (B, H, Dk, Dv) receiving S_{N-1}, or null.
TERRAZZO_API void lightningAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                            const TensorArg &out, const TensorArg *initialState,
                                            const TensorArg *finalState,
                                            const LightningAttentionOptions &options = {});

// Gradients of the forward given dout (like v) and, optionally, the gradient
// of the final state dFinalState (float32 (B, H, Dk, Dv); null: zero). dq
// and dk are like q, dv like v (the input dtype or float32).
// dInitialState: float32 (B, H, Dk, Dv) receiving the gradient of the
// initial state, or null.
TERRAZZO_API void lightningAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                             const TensorArg &dout, const TensorArg *initialState,
                                             const TensorArg *dFinalState, const TensorArg &dq, const TensorArg &dk,
                                             const TensorArg &dv, const TensorArg *dInitialState,
                                             const LightningAttentionOptions &options = {});

// One decoding step: q, k (B, H, 1, Dk), v (B, H, 1, Dv), state float32
// (B, H, Dk, Dv). Writes newState = lambda * state + k^T v and
// out = scale * q newState (like v). newState may be state itself (in place).
TERRAZZO_API void lightningAttentionDecode(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                           const TensorArg &state, const TensorArg &out, const TensorArg &newState,
                                           const LightningAttentionOptions &options = {});

} // namespace terrazzo::ops
