// Agent attention (Han et al., 2024) from two flash-attention passes of the
// library (kernels/flash_attention.py) and a gradient sum
// (kernels/agent_attention.py). Every argument error throws
// std::invalid_argument naming the argument, before anything runs.
//
//   agent_values = softmax(scale * agents k^T) v        (B, H, n, D)
//   out          = softmax(scale * q agents^T) agent_values
//
// Neither N x N nor N x n scores are materialised: each pass is a flash
// attention (tiles only); what is kept between them is agent_values and the
// two passes' log-sum-exps. q, k, v (B, H, N, D), agents (B, H, n, D), float16
// or bfloat16 alike, D from 1 to 256, N >= 1 and n >= 1, any non-negative
// strides; scale defaults to 1 / sqrt(D). Non-causal.
#pragma once

#include "terrazzo/ops/TensorArg.h"

#include <optional>

namespace terrazzo::ops {

struct AgentAttentionOptions {
  std::optional<double> scale;
  void *stream = nullptr;
};

// Writes out (like q), agentValues (like agents), and the float32 contiguous
// log-sum-exps agentLse (B, H, n) and lse (B, H, N) that the backward needs.
TERRAZZO_API void agentAttentionForward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                        const TensorArg &agents, const TensorArg &out, const TensorArg &agentValues,
                                        const TensorArg &agentLse, const TensorArg &lse,
                                        const AgentAttentionOptions &options = {});

// Gradients from the forward's saved tensors: dq like q, dk and dv like k,
// dagents like agents (all in the input dtype).
TERRAZZO_API void agentAttentionBackward(const TensorArg &q, const TensorArg &k, const TensorArg &v,
                                         const TensorArg &agents, const TensorArg &out, const TensorArg &agentValues,
                                         const TensorArg &agentLse, const TensorArg &lse, const TensorArg &dout,
                                         const TensorArg &dq, const TensorArg &dk, const TensorArg &dv,
                                         const TensorArg &dagents, const AgentAttentionOptions &options = {});

} // namespace terrazzo::ops
