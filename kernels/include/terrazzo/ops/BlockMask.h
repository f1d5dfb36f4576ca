// Block masks for block-sparse attention (FlexAttention's BlockMask idea):
// which (query block, key block) tiles a mask_mod keeps entirely ("full"),
// partly ("partial") or not at all ("empty"), as compact per-block lists
// that flash attention walks instead of every tile. Built once by
// createBlockMask (DSL kernels in kernels/block_mask.py, on the GPU for CUDA
// tensors), reused by every call with the same mask and lengths.
#pragma once

#include "terrazzo/ops/TensorArg.h"

#include <vector>

namespace terrazzo::ops {

// A built block mask. MB and MH are the batch and head counts it was built
// for; 1 broadcasts over that dimension. nQ = cdiv(qLen, blockSize), nKV =
// cdiv(kvLen, blockSize). All tensors are contiguous int32 on one device.
struct BlockMaskArg {
  int64_t qLen = 0, kvLen = 0;
  int64_t blockSize = 128; // a power of two, at least 16
  TensorArg kvCounts;      // (MB, MH, nQ, 2): partial and full key blocks of each query block
  TensorArg kvIndices;     // (MB, MH, nQ, 2, nKV): their key block indices, partial then full, ascending
  TensorArg qCounts;       // (MB, MH, nKV, 2): the transpose, for the backward's dK/dV
  TensorArg qIndices;      // (MB, MH, nKV, 2, nQ)
};

// Evaluates maskMod (a jit function (b, h, q_idx, kv_idx) -> bool tile) per
// tile, writes each tile's class (0 empty, 1 partial, 2 full) into `classes`
// (int32 (MB, MH, nQ, nKV), contiguous) and the lists into `mask`'s tensors
// (the index tensors' unused slots are left as they are). `mask`'s lengths
// and block size describe what to build. maskModArgs (at most 4, on
// `classes`' device) are the tensors maskMod reads after its four indices,
// as flash attention's FlashAttentionOptions::maskModArgs.
TERRAZZO_API void createBlockMask(const HostValue &maskMod, const TensorArg &classes, const BlockMaskArg &mask,
                                  void *stream = nullptr, const std::vector<const TensorArg *> &maskModArgs = {});

} // namespace terrazzo::ops
