"""The kernel library: attention kernels written in the terrazzo DSL
(kernels/*.py) behind C++ host wrappers that check arguments, pick tile sizes
and launch.

Inputs may be numpy arrays (run on the CPU interpreter, results returned as
numpy arrays) or torch tensors: CUDA tensors run on the GPU on torch's current
stream, CPU tensors on the interpreter, and autograd works through
``flash_attention``, ``cosine_sim_attention`` and ``lightning_attention``
(torch.library custom ops, torch_ops.py, whose registered backward runs the
library's backward kernels; torch.compile traces them without graph breaks).

Shapes of the softmax attentions (lightning attention's are in its
docstring): q is (B, H, N_Q, D); k and v are (B, H_KV, N_K, D) with H_KV dividing
H. Any strides work (pass a transposed view for (B, S, H, D) memory). Causal
masking is aligned bottom-right for cross attention. Bad arguments raise
ValueError or TypeError naming the argument, before anything runs.
"""

from ._terrazzo import ops as _ops
from .block_mask import BlockMask, create_block_mask  # noqa: F401  (public names of terrazzo.ops)


def _is_torch(x):
    return type(x).__module__.startswith("torch") and hasattr(x, "data_ptr")


def _backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k, block_mask=None,
              mask_captures=(), captures=(), capture_grads=()):
    import torch
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    _ops.flash_attention_backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k,
                                  dq=dq, dk=dk, dv=dv, block_mask=block_mask, score_mod_args=captures,
                                  score_mod_arg_grads=capture_grads, mask_mod_args=mask_captures)
    return dq, dk, dv


def _block_mask_mod(block_mask, mask_mod, mask_mod_args):
    """The mask_mod and its captures of a call with a block mask: the given
    ones, else those the mask was built from."""
    if block_mask is not None and mask_mod is None:
        return getattr(block_mask, "mask_mod", None), (mask_mod_args or getattr(block_mask, "mask_mod_args", ()))
    return mask_mod, mask_mod_args


def _contiguous_captures(captures, what="score_mod_args"):
    """The tensors a score_mod (mask_mod) reads, contiguous: the kernel adds
    a capture's gradient at the offsets it read, so both share one layout."""
    captures = tuple(captures or ())
    if len(captures) > 4:
        raise ValueError(f"{what}: at most 4 tensors, got {len(captures)}")
    out = []
    for i, c in enumerate(captures):
        if _is_torch(c):
            out.append(c.contiguous())
        elif hasattr(c, "__array_interface__") or type(c).__module__ == "numpy":
            import numpy as np
            out.append(np.ascontiguousarray(c))
        else:
            raise TypeError(f"{what}[{i}]: expected a numpy array or torch tensor, got {type(c).__name__}")
    return tuple(out)


def _is_float_dtype(x):
    dtype = str(x.dtype)
    return any(f in dtype for f in ("float", "bfloat"))


def flash_attention(q, k, v, *, causal=False, scale=None, score_mod=None, mask_mod=None, seqlens_k=None,
                    return_lse=False, block_mask=None, score_mod_args=(), mask_mod_args=()):
    """Softmax attention. ``score_mod(score, b, h, q_idx, kv_idx, *score_mod_args)`` and
    ``mask_mod(b, h, q_idx, kv_idx, *mask_mod_args)`` are optional ``@tz.jit`` functions;
    ``score_mod_args`` up to 4 tensors the score_mod reads (with torch tensors
    that require grad, autograd returns their gradients), ``mask_mod_args``
    likewise for the mask_mod (no gradients);
    ``seqlens_k`` an int32 array / tensor of valid key lengths per batch.
    ``block_mask``: a BlockMask (create_block_mask) of the mask_mod for these
    lengths: empty tiles are skipped and full ones run without mask_mod
    (which, with its mask_mod_args, defaults to the block mask's; not with
    causal or seqlens_k).
    Returns the output (like q), and with ``return_lse`` also the float32
    (B, H, N_Q) natural-log softmax denominators that the backward needs.
    With torch tensors that require grad, the result is differentiable."""
    mask_mod, mask_mod_args = _block_mask_mod(block_mask, mask_mod, mask_mod_args)
    captures = _contiguous_captures(score_mod_args)
    mask_captures = _contiguous_captures(mask_mod_args, "mask_mod_args")
    if _is_torch(q):  # --- torch: the torch.library custom op (torch_ops.py) ---
        from . import torch_ops
        torch_ops.require_tensors(k=k, v=v, seqlens_k=seqlens_k, score_mod_args=captures, mask_mod_args=mask_captures)
        out, lse = torch_ops.flash_attention_op(score_mod, mask_mod)(
            q, k, v, seqlens_k, *torch_ops.block_mask_arguments(block_mask), list(mask_captures), list(captures),
            causal, scale)
        return (out, lse) if return_lse else out
    return _ops.flash_attention_forward(q, k, v, causal, scale, score_mod, mask_mod, seqlens_k, return_lse,
                                        block_mask=block_mask, score_mod_args=captures, mask_mod_args=mask_captures)


def flash_attention_backward(q, k, v, out, lse, dout, *, causal=False, scale=None, score_mod=None, mask_mod=None,
                             seqlens_k=None, block_mask=None, score_mod_args=(), mask_mod_args=()):
    """Gradients (dq, dk, dv) of flash_attention, recomputed from ``out`` and
    ``lse``; pass the same options as to the forward. With ``score_mod_args``
    it returns (dq, dk, dv, arg_grads): per capture, its gradient as a
    float32 array shaped like it (None for a capture of integers)."""
    mask_mod, mask_mod_args = _block_mask_mod(block_mask, mask_mod, mask_mod_args)
    captures = _contiguous_captures(score_mod_args)
    mask_captures = _contiguous_captures(mask_mod_args, "mask_mod_args")
    grads = _new_capture_grads(q, captures)
    if _is_torch(q):
        dq, dk, dv = _backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k, block_mask,
                               mask_captures, captures, grads)
    else:
        dq, dk, dv = _ops.flash_attention_backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod,
                                                   seqlens_k, block_mask=block_mask, score_mod_args=captures,
                                                   score_mod_arg_grads=grads, mask_mod_args=mask_captures)
    if captures:
        return dq, dk, dv, tuple(grads)
    return dq, dk, dv


def _new_capture_grads(q, captures):
    """Zeroed float32 buffers the backward adds the captures' gradients
    into (None for a capture of integers: no gradient)."""
    if _is_torch(q):
        import torch
        return [torch.zeros(c.shape, dtype=torch.float32, device=c.device) if c.is_floating_point() else None
                for c in captures]
    import numpy as np
    return [np.zeros(c.shape, dtype=np.float32) if _is_float_dtype(c) else None for c in captures]


# --- flash attention over packed variable-length sequences -----------------------------

def flash_attention_varlen(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, *, causal=False,
                           scale=None, score_mod=None, mask_mod=None, return_lse=False, score_mod_args=(),
                           mask_mod_args=()):
    """Softmax attention over packed variable-length sequences (no padding):
    q is (total_q, H, D), k and v (total_k, H_KV, D) with H_KV dividing H;
    sequence b owns rows ``cu_seqlens_q[b]:cu_seqlens_q[b+1]`` of q and
    ``cu_seqlens_k[b]:cu_seqlens_k[b+1]`` of k and v (int32, num_sequences +
    1 entries, starting at 0 and ending at the totals); ``max_seqlen_q`` /
    ``max_seqlen_k`` bound the sequences' lengths (the grids cover them).
    Causal masking is aligned bottom-right per sequence; score_mod and
    mask_mod see b = the sequence and in-sequence indices. Returns the output
    (like q), and with ``return_lse`` also the float32 (H, total_q)
    log-sum-exp. The offsets' values are checked on the host (numpy, CPU
    tensors), not on the GPU (reading them would synchronise): there the
    kernels clamp them, so bad offsets give wrong rows, never stray memory.
    ``score_mod_args`` / ``mask_mod_args`` as for flash_attention. With
    torch tensors the result is differentiable in q, k, v and the float
    score_mod_args."""
    captures = _contiguous_captures(score_mod_args)
    mask_captures = _contiguous_captures(mask_mod_args, "mask_mod_args")
    if _is_torch(q):  # --- torch: the torch.library custom op (torch_ops.py) ---
        from . import torch_ops
        torch_ops.require_tensors(k=k, v=v, cu_seqlens_q=cu_seqlens_q, cu_seqlens_k=cu_seqlens_k,
                                  score_mod_args=captures, mask_mod_args=mask_captures)
        out, lse = torch_ops.flash_attention_varlen_op(score_mod, mask_mod)(
            q, k, v, cu_seqlens_q, cu_seqlens_k, int(max_seqlen_q), int(max_seqlen_k), list(mask_captures),
            list(captures), causal, scale)
        return (out, lse) if return_lse else out
    return _ops.flash_attention_varlen_forward(q, k, v, cu_seqlens_q, cu_seqlens_k, int(max_seqlen_q),
                                               int(max_seqlen_k), causal, scale, score_mod, mask_mod, return_lse,
                                               score_mod_args=captures, mask_mod_args=mask_captures)


def flash_attention_varlen_backward(q, k, v, out, lse, dout, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k,
                                    *, causal=False, scale=None, score_mod=None, mask_mod=None, score_mod_args=(),
                                    mask_mod_args=()):
    """Gradients (dq, dk, dv) of flash_attention_varlen from its ``out`` and
    (H, total_q) ``lse``; pass the same options as to the forward. With
    ``score_mod_args`` it returns (dq, dk, dv, arg_grads) as
    flash_attention_backward does."""
    captures = _contiguous_captures(score_mod_args)
    mask_captures = _contiguous_captures(mask_mod_args, "mask_mod_args")
    grads = _new_capture_grads(q, captures)
    bufs = {}
    if _is_torch(q):
        import torch
        bufs = dict(dq=torch.empty_like(q), dk=torch.empty_like(k), dv=torch.empty_like(v))
    dq, dk, dv = _ops.flash_attention_varlen_backward(q, k, v, out, lse, dout, cu_seqlens_q, cu_seqlens_k,
                                                      int(max_seqlen_q), int(max_seqlen_k), causal, scale, score_mod,
                                                      mask_mod, score_mod_args=captures, score_mod_arg_grads=grads,
                                                      mask_mod_args=mask_captures, **bufs)
    if captures:
        return dq, dk, dv, tuple(grads)
    return dq, dk, dv


# --- cosine-similarity attention ------------------------------------------------------


def _bias_4d(bias):
    """A 2-D (N_Q, N_K) or 3-D (H, N_Q, N_K) bias as a broadcastable 4-D
    view (size-1 leading dimensions); 4-D and other ranks pass through."""
    ndim = getattr(bias, "ndim", None)
    if isinstance(ndim, int) and 2 <= ndim < 4:
        bias = bias.reshape((1,) * (4 - bias.ndim) + tuple(bias.shape))
    return bias


def _cs_backward(q, k, v, out, lse, dout, bias, key_mask, key_lens, causal, scale, groups, eps, need_dbias):
    """(dq, dk, dv, dbias): dbias float32 with the bias's shape (None unless
    need_dbias and a bias is given)."""
    import torch
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    dbias = None
    if need_dbias and bias is not None:
        dbias = torch.empty(bias.shape, dtype=torch.float32, device=bias.device)
    _ops.cosine_sim_attention_backward(q, k, v, out, lse, dout, causal, scale, groups, eps, bias, key_mask, key_lens,
                                       False, dq=dq, dk=dk, dv=dv, dbias=dbias)
    return dq, dk, dv, dbias


def cosine_sim_attention(q, k, v, *, scale=10.0, causal=False, groups=1, eps=1e-6, bias=None, key_mask=None,
                         key_lens=None, return_lse=False):
    """Cosine-similarity attention: q and k are L2-normalised (per group of
    D // groups columns, norms clamped to at least ``eps``), the scores are
    ``scale * q_hat . k_hat (+ bias)``, then softmax over the attended keys
    and ``@ v``. D is a power of two from 16 to 256; q, k, v are float16 or
    bfloat16.

    ``bias``: additive, (B or 1, H or 1, N_Q, N_K) (a 2-D (N_Q, N_K) or 3-D
    (H, N_Q, N_K) bias is read as broadcast over the missing leading
    dimensions), float16 / bfloat16 / float32 / float64, -inf masks.
    ``key_mask``: (B, N_K) bool or int8, nonzero = the key may be attended.
    ``key_lens``: (B,) int32, keys j >= key_lens[b] are padding.
    Rows that attend nothing give zeros. Returns the output (like q), and
    with ``return_lse`` also the float32 (B, H, N_Q) log-sum-exp of the
    scores that ``cosine_sim_attention_backward`` needs.

    With torch tensors the result is differentiable with respect to q, k, v
    and the bias (its gradient summed over the dimensions it is broadcast
    along)."""
    bias = _bias_4d(bias)
    if _is_torch(q):  # --- torch: the torch.library custom op (torch_ops.py) ---
        from . import torch_ops
        torch_ops.require_tensors(k=k, v=v, bias=bias, key_mask=key_mask, key_lens=key_lens)
        out, lse = torch_ops.cosine_sim_attention_fwd(q, k, v, bias, key_mask, key_lens, causal, scale, groups, eps)
        return (out, lse) if return_lse else out
    out, lse = _ops.cosine_sim_attention_forward(q, k, v, causal, scale, groups, eps, bias, key_mask, key_lens)
    return (out, lse) if return_lse else out


def cosine_sim_attention_backward(q, k, v, out, lse, dout, *, scale=10.0, causal=False, groups=1, eps=1e-6,
                                  bias=None, key_mask=None, key_lens=None, need_dbias=True):
    """Gradients of cosine_sim_attention, recomputed from its ``out`` and
    ``lse`` (pass the same options as to the forward). Returns (dq, dk, dv,
    dbias): dq like q, dk and dv like k, and dbias the float32 gradient of
    the bias with the bias's (4-D) shape, summed over its broadcast
    dimensions; None without a bias or with ``need_dbias=False``."""
    bias = _bias_4d(bias)
    if _is_torch(q):
        return _cs_backward(q, k, v, out, lse, dout, bias, key_mask, key_lens, causal, scale, groups, eps,
                            need_dbias)
    return tuple(_ops.cosine_sim_attention_backward(q, k, v, out, lse, dout, causal, scale, groups, eps, bias,
                                                    key_mask, key_lens, need_dbias))


# --- lightning attention (linear attention with decay) ---------------------------------


def _la_backward(q, k, v, dout, decay, scale, initial_state, dfinal_state, need_dinitial, feature_map=None,
                 feature_map_grad=None):
    import torch
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    dinit = None
    if need_dinitial:
        dinit = torch.empty((q.shape[0], q.shape[1], q.shape[3], v.shape[3]), dtype=torch.float32, device=q.device)
    _ops.lightning_attention_backward(q, k, v, dout, decay, scale, initial_state, dfinal_state, need_dinitial,
                                      feature_map, feature_map_grad, dq=dq, dk=dk, dv=dv, dinitial_state=dinit)
    return dq, dk, dv, dinit


def lightning_attention(q, k, v, *, decay=None, scale=None, initial_state=None, return_final_state=False,
                        feature_map=None, feature_map_grad=None):
    """Lightning attention (Lightning Attention-2 / TransNormerLLM): causal
    linear attention with an optional per-head exponential decay. Per batch
    and head, with lambda = exp(-decay[h]) and q multiplied by ``scale``
    (default Dk ** -0.5)::

        S_t = lambda * S_{t-1} + k_t^T v_t,    o_t = q_t S_t,    S_{-1} = initial_state (or 0)

    q, k: (B, H, N, Dk); v: (B, H, N, Dv), float16 or bfloat16 alike; Dk, Dv
    powers of two from 16 to 256; any N (computed in chunks, state in
    float32). ``decay``: float32 (H,) slopes s >= 0, or None (no decay).
    ``initial_state``: float32 (B, H, Dk, Dv) or None. Returns the output
    (like v), and with ``return_final_state`` also the float32 final state
    S_{N-1}. With torch tensors the result is differentiable in q, k, v and
    the initial state.

    ``feature_map``: an optional ``@tz.jit`` function phi(x) of a float32
    tile, applied elementwise to q and k inside the kernels (o_t = phi(q_t)
    S_t, S_t built from phi(k_t)); the backward needs ``feature_map_grad(x,
    g)``, returning phi'(x) * g (docs/linear-attention.md)."""
    if _is_torch(q):  # --- torch: the torch.library custom op (torch_ops.py) ---
        from . import torch_ops
        torch_ops.require_tensors(k=k, v=v, decay=decay, initial_state=initial_state)
        out, final = torch_ops.lightning_attention_op(feature_map, feature_map_grad)(
            q, k, v, initial_state, decay, scale, bool(return_final_state))
        return (out, final) if return_final_state else out
    return _ops.lightning_attention_forward(q, k, v, decay, scale, initial_state, return_final_state, feature_map)


def lightning_attention_backward(q, k, v, dout, *, decay=None, scale=None, initial_state=None, dfinal_state=None,
                                 need_dinitial_state=True, feature_map=None, feature_map_grad=None):
    """Gradients of lightning_attention for the output gradient ``dout`` and
    (optionally) the gradient of the final state ``dfinal_state`` (float32
    (B, H, Dk, Dv)). Returns (dq, dk, dv, dinitial_state): dq, dk like q,
    dv like v, dinitial_state float32 (B, H, Dk, Dv) (None with
    ``need_dinitial_state=False``; the gradient of a zero initial state
    when none is given)."""
    if _is_torch(q):
        return _la_backward(q, k, v, dout, decay, scale, initial_state, dfinal_state, need_dinitial_state,
                            feature_map, feature_map_grad)
    return tuple(_ops.lightning_attention_backward(q, k, v, dout, decay, scale, initial_state, dfinal_state,
                                                   need_dinitial_state, feature_map, feature_map_grad))


def lightning_attention_decode(q, k, v, state, *, decay=None, scale=None, inplace=False, feature_map=None):
    """One decoding step of lightning_attention: q, k (B, H, 1, Dk), v
    (B, H, 1, Dv) and the float32 (B, H, Dk, Dv) state after the previous
    tokens. Returns (out, new_state) with new_state = lambda * state + k^T v
    and out = scale * q new_state (like v). With ``inplace`` the new state is
    written into ``state`` (and returned). Step-by-step decoding from the
    forward's final state continues the forward exactly (same recurrence)."""
    if _is_torch(q):
        import torch
        out = torch.empty_like(v)
        new_state = state if inplace else torch.empty_like(state, memory_format=torch.contiguous_format)
        _ops.lightning_attention_decode(q, k, v, state, decay, scale, False, feature_map, out=out,
                                        new_state_out=new_state)
        return out, new_state
    return tuple(_ops.lightning_attention_decode(q, k, v, state, decay, scale, inplace, feature_map))


# --- focused linear attention (FLatten) -------------------------------------------------

def focused_linear_attention(q, k, v, *, power=3.0, eps=1e-6, causal=False):
    """Focused linear attention (FLatten), non-causal. Per batch and head,
    with phi applied to each row of q and k over the head dim::

        r(x) = ReLU(x) + eps,   phi(x) = ||r|| * r**power / ||r**power||
        out_i = phi(q_i) KV / (phi(q_i) . ks + eps)
        KV = mean_j phi(k_j)^T v_j,   ks = mean_j phi(k_j)

    q, k: (B, H, N, Dk); v: (B, H, N, Dv); float16 or bfloat16 alike; Dk, Dv
    powers of two from 16 to 128. The depthwise convolution on v that
    FLatten adds is the caller's. ``causal=True`` is not supported yet
    (raises). With torch tensors the result is differentiable in q, k, v."""
    if _is_torch(q):  # --- torch: the torch.library custom op (torch_ops.py) ---
        from . import torch_ops
        torch_ops.require_tensors(k=k, v=v)
        return torch_ops.focused_linear_attention_fwd(q, k, v, power, eps, causal)
    return _ops.focused_linear_attention_forward(q, k, v, power, eps, causal)


def focused_linear_attention_backward(q, k, v, dout, *, power=3.0, eps=1e-6, causal=False):
    """Gradients (dq, dk, dv) of focused_linear_attention for ``dout``."""
    if _is_torch(q):
        import torch
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        _ops.focused_linear_attention_backward(q, k, v, dout, power, eps, causal, dq=dq, dk=dk, dv=dv)
        return dq, dk, dv
    return tuple(_ops.focused_linear_attention_backward(q, k, v, dout, power, eps, causal))


# --- agent attention ------------------------------------------------------------------

def agent_attention(q, k, v, agents, *, scale=None, return_saved=False):
    """Agent attention: ``agent_values = softmax(scale * agents k^T) v``, then
    ``out = softmax(scale * q agents^T) agent_values``, as two flash-attention
    passes (no N x n score matrix in memory). q, k, v: (B, H, N, D); agents
    (B, H, n, D) (typically pooled from q); float16 or bfloat16 alike; scale
    defaults to D ** -0.5. With torch tensors the result is differentiable in
    q, k, v and the agents. With numpy arrays and ``return_saved``, returns
    (out, saved) where ``saved`` is what agent_attention_backward needs."""
    if _is_torch(q):  # --- torch: the torch.library custom op (torch_ops.py) ---
        from . import torch_ops
        torch_ops.require_tensors(k=k, v=v, agents=agents)
        return torch_ops.agent_attention_fwd(q, k, v, agents, scale)[0]
    out, agent_values, agent_lse, lse = _ops.agent_attention_forward(q, k, v, agents, scale)
    return (out, (out, agent_values, agent_lse, lse)) if return_saved else out


def agent_attention_backward(q, k, v, agents, saved, dout, *, scale=None):
    """Gradients (dq, dk, dv, dagents) of agent_attention, from the ``saved``
    tensors its forward returned with ``return_saved=True``."""
    out, agent_values, agent_lse, lse = saved
    return tuple(_ops.agent_attention_backward(q, k, v, agents, out, agent_values, agent_lse, lse, dout, scale))


# --- ring (context-parallel) attention over torch.distributed: ring_attention.py -------

from .ring_attention import (attention_merge, ring_attention, ring_cosine_sim_attention,  # noqa: E402
                             shard_sequence, unshard_sequence)
from .ring_linear_attention import ring_lightning_attention  # noqa: E402
