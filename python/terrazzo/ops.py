"""The kernel library: attention kernels written in the terrazzo DSL
(kernels/*.py) behind C++ host wrappers that check arguments, pick tile sizes
and launch. Today they run on the CPU interpreter over numpy arrays.

Shapes: q is (B, H, N_Q, D); k and v are (B, H_KV, N_K, D) with H_KV dividing
H. Any strides work (pass a transposed view for (B, S, H, D) memory). Causal
masking is aligned bottom-right for cross attention. Bad arguments raise
ValueError or TypeError naming the argument, before anything runs.
"""

from ._terrazzo import ops as _ops


def flash_attention(q, k, v, *, causal=False, scale=None, score_mod=None, mask_mod=None, seqlens_k=None,
                    return_lse=False):
    """Softmax attention. ``score_mod(score, b, h, q_idx, kv_idx)`` and
    ``mask_mod(b, h, q_idx, kv_idx)`` are optional ``@tz.jit`` functions;
    ``seqlens_k`` an int32 array of valid key lengths per batch. Returns the
    output (like q), and with ``return_lse`` also the float32 (B, H, N_Q)
    natural-log softmax denominators that the backward needs."""
    return _ops.flash_attention_forward(q, k, v, causal, scale, score_mod, mask_mod, seqlens_k, return_lse)


def flash_attention_backward(q, k, v, out, lse, dout, *, causal=False, scale=None, score_mod=None, mask_mod=None,
                             seqlens_k=None):
    """Gradients (dq, dk, dv) of flash_attention, recomputed from ``out`` and
    ``lse``; pass the same options as to the forward."""
    return _ops.flash_attention_backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k)
