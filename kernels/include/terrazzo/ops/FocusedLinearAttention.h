// Focused linear attention (FLatten; kernels/focused_linear_attention.py)
// behind C++ entry points that check their arguments, pick tile sizes and
// launch. Every argument error throws std::invalid_argument naming the
// argument, before anything runs. CUDA tensors run on the GPU (all on one
// device, on `stream`), host tensors on the CPU interpreter.
//
// Per batch and head, phi applied to each row of q and k over the head dim:
//   r(x) = ReLU(x) + eps,   phi(x) = ||r|| * r^power / ||r^power||
//   KV = mean_j phi(k_j)^T v_j,   ks = mean_j phi(k_j)
//   o_i = phi(q_i) KV / (phi(q_i) . ks + eps)
// Non-causal. The depthwise convolution on v that FLatten adds stays the
// caller's (add it to the output).
//
// Layout: q and k (B, H, N, Dk), v and out (B, H, N, Dv); Dk and Dv powers of
// two from 16 to 128; float16 or bfloat16 alike; any non-negative strides.
#pragma once

#include "terrazzo/ops/TensorArg.h"

namespace terrazzo::ops {

struct FocusedLinearAttentionOptions {
  double power = 3.0; // finite, > 0; a compile-time constant of the kernels
  double eps = 1e-6;  // finite, > 0
  bool causal = false; // not supported yet: true is rejected
  void *stream = nullptr;
};

TERRAZZO_API void focusedLinearAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                                const TensorArg &out,
                                                const FocusedLinearAttentionOptions &options = {});

// dq, dk like q (or float32), dv like v (or float32), from dout (like v).
TERRAZZO_API void focusedLinearAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                                 const TensorArg &dout, const TensorArg &dq, const TensorArg &dk,
                                                 const TensorArg &dv,
                                                 const FocusedLinearAttentionOptions &options = {});

} // namespace terrazzo::ops
