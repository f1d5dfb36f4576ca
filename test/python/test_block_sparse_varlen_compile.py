"""The block-sparse and packed-sequence variants of the flash-attention
kernels compile to cubins for sm_90a (no GPU needed), and the loops they
rely on for speed are software-pipelined: a block list of consecutive blocks
(and the first and last block of any other list) run as plain ranges whose
key/value (or query/dO) tiles are copied ahead,
like the dense kernels'."""

import numpy as np
import pytest

import terrazzo as tz


@tz.jit
def causal_window(b, h, q_idx, kv_idx):
    return (q_idx >= kv_idx) & (q_idx - kv_idx < 1024)


@tz.jit
def causal_document(b, h, q_idx, kv_idx, doc_ptr):
    return (tz.load(doc_ptr + q_idx) == tz.load(doc_ptr + kv_idx)) & (q_idx >= kv_idx)


@tz.jit
def head_scale(score, b, h, q_idx, kv_idx, scale_ptr):
    return score * tz.load(scale_ptr + h)


N, D = 1024, 128
STRIDES = [2 * N * D, N * D, D, 1]
LISTS = dict(SPARSE_BLOCK=128, sparse_counts_ptr=np.zeros((1, 1, 8, 2), np.int32),
             sparse_indices_ptr=np.zeros((1, 1, 8, 2, 8), np.int32), sparse_stride_b=0, sparse_stride_h=0,
             sparse_cols=8)
VARIANTS = {
    "block-sparse": dict(MASK_MOD=causal_window, **LISTS),
    # mask_mod and score_mod reading tensors (score_mod differentiated in dK/dV)
    "block-sparse-captures": dict(MASK_MOD=causal_document, mask_mod_arg0=np.zeros(N, np.int32),
                                  SCORE_MOD=head_scale, score_mod_arg0=np.ones(2, np.float32), **LISTS),
    "varlen": dict(VARLEN=True, cu_seqlens_q_ptr=np.zeros(3, np.int32), cu_seqlens_k_ptr=np.zeros(3, np.int32),
                   CAUSAL=True),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_forward_and_dkdv_assemble_pipelined(variant):
    q = np.zeros((1, 2, N, D), np.float16)
    lse = np.zeros((1, 2, N), np.float32)
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    info = fwd.compile_for_gpu((q, q, q, q, lse, None, *STRIDES * 4, 2, 2, N, N, 0.125),
                               dict(HEAD_DIM=D, BLOCK_M=128, BLOCK_N=64, STORE_LSE=True, arch="sm_90a", num_warps=8,
                                    **VARIANTS[variant]))
    assert info["cubin_bytes"] > 0 and "wgmma.mma_async" in info["ptx"]
    assert "tzgpu.async_copy" in info["tzgpu"], "the forward's key/value loads are not copied ahead"
    dkdv = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_bwd_dkdv")
    info = dkdv.compile_for_gpu((q, q, q, q, lse, lse, q, q, None, *STRIDES * 6, 2, 2, N, N, 0.125),
                                dict(HEAD_DIM=D, BLOCK_M=64, BLOCK_N=64, arch="sm_90a", **VARIANTS[variant]))
    assert info["cubin_bytes"] > 0
    assert "tzgpu.async_copy" in info["tzgpu"], "dK/dV's query/dO loads are not copied ahead"


def test_block_mask_kernels_assemble():
    classify = tz._terrazzo.Kernel.from_library("block_mask.py", "block_mask_classify")
    classes = np.zeros((1, 1, 8, 8), np.int32)
    info = classify.compile_for_gpu((classes, 1, N, N, 8, 8), dict(MASK_MOD=causal_window, BLOCK=128,
                                                                     arch="sm_90a", num_warps=8))
    assert info["cubin_bytes"] > 0
    compact = tz._terrazzo.Kernel.from_library("block_mask.py", "block_mask_compact")
    counts, indices = np.zeros((1, 1, 8, 2), np.int32), np.zeros((1, 1, 8, 2, 8), np.int32)
    info = compact.compile_for_gpu((classes, counts, indices, 8, 8, 64, 8, 1), dict(ENTRIES=8, arch="sm_90a"))
    assert info["cubin_bytes"] > 0


def test_block_sparse_dq_with_capture_gradient_assembles():
    # The dQ kernel walks the block lists, differentiates the score_mod and
    # adds its capture's gradient with atomics.
    q = np.zeros((1, 2, N, D), np.float16)
    lse = np.zeros((1, 2, N), np.float32)
    dq = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_bwd_dq")
    info = dq.compile_for_gpu((q, q, q, q, lse, lse, q, None, *STRIDES * 5, 2, 2, N, N, 0.125),
                              dict(HEAD_DIM=D, BLOCK_M=64, BLOCK_N=64, arch="sm_90a",
                                   score_mod_grad0=np.zeros(2, np.float32), **VARIANTS["block-sparse-captures"]))
    assert info["cubin_bytes"] > 0
    assert "atom" in info["ptx"] or "red." in info["ptx"]


def test_block_mask_classify_with_capture_assembles():
    classify = tz._terrazzo.Kernel.from_library("block_mask.py", "block_mask_classify")
    classes = np.zeros((1, 1, 8, 8), np.int32)
    info = classify.compile_for_gpu((classes, 1, N, N, 8, 8),
                                    dict(MASK_MOD=causal_document, BLOCK=128, mask_mod_arg0=np.zeros(N, np.int32),
                                         arch="sm_90a", num_warps=8))
    assert info["cubin_bytes"] > 0
