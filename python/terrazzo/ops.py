"""The kernel library: attention kernels written in the terrazzo DSL
(kernels/*.py) behind C++ host wrappers that check arguments, pick tile sizes
and launch.

Inputs may be numpy arrays (run on the CPU interpreter, results returned as
numpy arrays) or torch tensors: CUDA tensors run on the GPU on torch's current
stream, CPU tensors on the interpreter, and autograd works through
``flash_attention`` (a torch.autograd.Function whose backward runs the
library's backward kernels).

Shapes: q is (B, H, N_Q, D); k and v are (B, H_KV, N_K, D) with H_KV dividing
H. Any strides work (pass a transposed view for (B, S, H, D) memory). Causal
masking is aligned bottom-right for cross attention. Bad arguments raise
ValueError or TypeError naming the argument, before anything runs.
"""

from ._terrazzo import ops as _ops


def _is_torch(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


def _forward(q, k, v, causal, scale, score_mod, mask_mod, seqlens_k):
    import torch
    out = torch.empty_like(q)
    lse = torch.empty(q.shape[:3], dtype=torch.float32, device=q.device)
    _ops.flash_attention_forward(q, k, v, causal, scale, score_mod, mask_mod, seqlens_k, True, out=out, lse_out=lse)
    return out, lse


def _backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k):
    import torch
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    _ops.flash_attention_backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k,
                                  dq=dq, dk=dk, dv=dv)
    return dq, dk, dv


_autograd_function = None


def _flash_attention_function():
    """torch.autograd.Function over the library's forward and backward,
    defined on first use so that importing terrazzo does not import torch."""
    global _autograd_function
    if _autograd_function is None:
        import torch

        class FlashAttention(torch.autograd.Function):
            @staticmethod
            def forward(ctx, q, k, v, causal, scale, score_mod, mask_mod, seqlens_k):
                out, lse = _forward(q, k, v, causal, scale, score_mod, mask_mod, seqlens_k)
                ctx.save_for_backward(q, k, v, out, lse)
                ctx.options = (causal, scale, score_mod, mask_mod, seqlens_k)
                return out, lse

            @staticmethod
            def backward(ctx, dout, dlse):
                q, k, v, out, lse = ctx.saved_tensors
                dq, dk, dv = _backward(q, k, v, out, lse, dout.contiguous(), *ctx.options)
                return dq, dk, dv, None, None, None, None, None

        _autograd_function = FlashAttention
    return _autograd_function


def flash_attention(q, k, v, *, causal=False, scale=None, score_mod=None, mask_mod=None, seqlens_k=None,
                    return_lse=False):
    """Softmax attention. ``score_mod(score, b, h, q_idx, kv_idx)`` and
    ``mask_mod(b, h, q_idx, kv_idx)`` are optional ``@tz.jit`` functions;
    ``seqlens_k`` an int32 array / tensor of valid key lengths per batch.
    Returns the output (like q), and with ``return_lse`` also the float32
    (B, H, N_Q) natural-log softmax denominators that the backward needs.
    With torch tensors that require grad, the result is differentiable."""
    if _is_torch(q):
        out, lse = _flash_attention_function().apply(q, k, v, causal, scale, score_mod, mask_mod, seqlens_k)
        return (out, lse) if return_lse else out
    return _ops.flash_attention_forward(q, k, v, causal, scale, score_mod, mask_mod, seqlens_k, return_lse)


def flash_attention_backward(q, k, v, out, lse, dout, *, causal=False, scale=None, score_mod=None, mask_mod=None,
                             seqlens_k=None):
    """Gradients (dq, dk, dv) of flash_attention, recomputed from ``out`` and
    ``lse``; pass the same options as to the forward."""
    if _is_torch(q):
        return _backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k)
    return _ops.flash_attention_backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k)
