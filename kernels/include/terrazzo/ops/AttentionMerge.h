// Merging softmax-attention results computed over disjoint key sets by their
// log-sum-exps (kernels/attention_merge.py): the combining step of ring
// (context-parallel) attention, usable on its own for any split of the keys
// (e.g. a cached prefix and new tokens). Every argument error throws
// std::invalid_argument naming the argument, before anything runs.
//
// With (out, lse) the attention over keys K_a and (partOut, partLse) over K_b,
// attentionMergeInto leaves in (out, lse) the attention over K_a and K_b:
//   lse <- log(exp(lse) + exp(partLse)),
//   out <- exp(lse_old - lse) out + exp(partLse - lse) partOut.
// A side whose lse is -inf has no keys and contributes nothing (its out is
// not read, so an accumulator may start as lse = -inf with any out); rows
// empty on both sides get out = 0, lse = -inf.
#pragma once

#include "terrazzo/ops/TensorArg.h"

namespace terrazzo::ops {

struct AttentionMergeOptions {
  void *stream = nullptr; // CUstream of a GPU call (null: the default stream)
};

// out and partOut: (B, H, N, D), float32, float16 or bfloat16 (each its own),
// D from 1 to 256; lse and partLse: float32 (B, H, N), natural logs. Any
// non-negative strides (slices of larger tensors merge in place). All on one
// device: CUDA tensors run on the GPU, host memory on the CPU interpreter.
TERRAZZO_API void attentionMergeInto(const TensorArg &out, const TensorArg &lse, const TensorArg &partOut,
                                     const TensorArg &partLse, const AttentionMergeOptions &options = {});

} // namespace terrazzo::ops
