"""The attention kernels as ``torch.library`` custom operators, so that
``torch.compile(fullgraph=True)`` traces through them without a graph break,
fake tensors (and meta shapes) propagate through them, and CUDA graphs can
capture them: each op allocates its outputs with torch on the inputs' device
and launches on torch's current stream, without reading CUDA tensors on the
host.

The ops are what the torch path of ``terrazzo.ops.flash_attention``,
``flash_attention_varlen``, ``cosine_sim_attention``,
``lightning_attention``, ``focused_linear_attention`` and
``agent_attention`` calls; each forward's backward is another custom op
(``register_autograd``), so autograd and AOTAutograd see two opaque kernels
per attention (docs/attention-variants.md, "torch.compile ...").

A score_mod / mask_mod is a ``@tz.jit`` function, which an operator schema
cannot take: each distinct (score_mod, mask_mod) pair gets its own pair of
ops, ``terrazzo::flash_attention_fwd_<n>`` / ``..._bwd_<n>``, with the
functions closed over (created once and cached). The tensors they read
(score_mod_args, mask_mod_args), a block mask's lists and the sequence
offsets are tensor arguments; options are int / float / bool arguments.

This module imports torch: ``terrazzo.ops`` imports it only for torch inputs.
"""

from typing import List, Optional

import torch

from ._terrazzo import ops as _ops
from .block_mask import BlockMask

# The BlockMask tensors in the order the ops take them.
_BLOCK_MASK_FIELDS = ("classes", "kv_counts", "kv_indices", "q_counts", "q_indices")


def require_tensors(**named):
    """TypeError naming the first argument that is neither None nor a torch
    tensor (tuples: each element): with torch inputs every array argument
    must be a torch tensor, as the ops' schemas take no numpy arrays."""
    for name, value in named.items():
        items = enumerate(value) if isinstance(value, tuple) else [(None, value)]
        for i, item in items:
            if item is not None and not isinstance(item, torch.Tensor):
                where = name if i is None else f"{name}[{i}]"
                raise TypeError(f"argument '{where}': expected a torch tensor (q is one), got {type(item).__name__}")


def _block_mask_from(mask_mod, tensors, q_len, kv_len, block_size):
    """The BlockMask the host wrapper reads, rebuilt from an op's arguments
    (``tensors`` in _BLOCK_MASK_FIELDS order); None without a block mask."""
    if not tensors:
        return None
    return BlockMask(mask_mod, q_len, kv_len, block_size, **dict(zip(_BLOCK_MASK_FIELDS, tensors)))


def block_mask_arguments(block_mask):
    """The ops' block-mask arguments (tensors, q_len, kv_len, block_size)
    of a BlockMask or None."""
    if block_mask is None:
        return [], 0, 0, 0
    if not isinstance(block_mask, BlockMask):
        raise TypeError(f"argument 'block_mask': expected a BlockMask (create_block_mask), "
                        f"got {type(block_mask).__name__}")
    return ([getattr(block_mask, f) for f in _BLOCK_MASK_FIELDS], int(block_mask.q_len), int(block_mask.kv_len),
            int(block_mask.block_size))


def _float_capture_grads(captures):
    """Zeroed float32 buffers the backward adds the floating captures'
    gradients into (None for integer captures, which have none)."""
    return [torch.zeros(c.shape, dtype=torch.float32, device=c.device) if c.is_floating_point() else None
            for c in captures]


def _nones(items):
    """No gradient for each element of a list input (autograd wants the
    backward's result shaped like the inputs)."""
    return [None] * len(items)


def _autograd_capture_grads(grads, captures):
    """The captures' gradients in their dtypes, as a list autograd matches to
    the ``captures`` input (None where there is none)."""
    out, it = [], iter(grads)
    for c in captures:
        out.append(next(it).to(c.dtype) if c.is_floating_point() else None)
    return out


# --- flash attention (dense, with seqlens_k or a block mask) ----------------------------

_flash_ops = {}  # (score_mod, mask_mod) -> (n, forward CustomOpDef)


# Called by Dynamo at trace time, its result a constant of the graph: an op
# cannot be created while Dynamo traces (it would break the graph), and the
# op's name is all the graph needs. Dynamo guards on the functions passed.
@torch.compiler.assume_constant_result
def _flash_op_number(score_mod, mask_mod) -> int:
    key = (score_mod, mask_mod)
    if key not in _flash_ops:
        n = len(_flash_ops)
        _flash_ops[key] = (n, _make_flash_ops(n, score_mod, mask_mod))
    return _flash_ops[key][0]


def flash_attention_op(score_mod, mask_mod):
    """The forward custom op ``terrazzo::flash_attention_fwd_<n>`` of this
    (score_mod, mask_mod) pair, created on first use; it returns (out,
    lse)."""
    return getattr(torch.ops.terrazzo, f"flash_attention_fwd_{_flash_op_number(score_mod, mask_mod)}").default


def flash_attention_backward_op(score_mod, mask_mod):
    """Its backward, ``terrazzo::flash_attention_bwd_<n>``: (dq, dk, dv, the
    float32 gradients of the floating captures)."""
    return getattr(torch.ops.terrazzo, f"flash_attention_bwd_{_flash_op_number(score_mod, mask_mod)}").default


def _make_flash_ops(n, score_mod, mask_mod):
    # Arguments of both ops after the tensors they differ in: a block mask
    # (its tensors, then q_len, kv_len, block_size: 0 without one), the
    # mask_mod's and the score_mod's captures, the options.
    @torch.library.custom_op(f"terrazzo::flash_attention_fwd_{n}", mutates_args=())
    def forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, seqlens_k: Optional[torch.Tensor],
                block_mask: List[torch.Tensor], bm_q_len: int, bm_kv_len: int, bm_block_size: int,
                mask_captures: List[torch.Tensor], captures: List[torch.Tensor], causal: bool, scale: Optional[float]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        out = torch.empty_like(q)
        lse = torch.empty(q.shape[:3], dtype=torch.float32, device=q.device)
        mask = _block_mask_from(mask_mod, block_mask, bm_q_len, bm_kv_len, bm_block_size)
        _ops.flash_attention_forward(q, k, v, causal, scale, score_mod, mask_mod, seqlens_k, True, out=out,
                                     lse_out=lse, block_mask=mask, score_mod_args=tuple(captures),
                                     mask_mod_args=tuple(mask_captures))
        return out, lse

    @forward.register_fake
    def _(q, k, v, *rest):
        return torch.empty_like(q), q.new_empty(q.shape[:3], dtype=torch.float32)

    @torch.library.custom_op(f"terrazzo::flash_attention_bwd_{n}", mutates_args=())
    def backward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor, lse: torch.Tensor,
                 dout: torch.Tensor, seqlens_k: Optional[torch.Tensor], block_mask: List[torch.Tensor],
                 bm_q_len: int, bm_kv_len: int, bm_block_size: int, mask_captures: List[torch.Tensor],
                 captures: List[torch.Tensor], causal: bool, scale: Optional[float]
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, List[torch.Tensor]]:
        """(dq, dk, dv, float32 gradients of the floating captures)."""
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        grads = _float_capture_grads(captures)
        mask = _block_mask_from(mask_mod, block_mask, bm_q_len, bm_kv_len, bm_block_size)
        _ops.flash_attention_backward(q, k, v, out, lse, dout, causal, scale, score_mod, mask_mod, seqlens_k,
                                      dq=dq, dk=dk, dv=dv, block_mask=mask, score_mod_args=tuple(captures),
                                      score_mod_arg_grads=grads, mask_mod_args=tuple(mask_captures))
        return dq, dk, dv, [g for g in grads if g is not None]

    @backward.register_fake
    def _(q, k, v, out, lse, dout, seqlens_k, block_mask, bm_q_len, bm_kv_len, bm_block_size, mask_captures,
          captures, causal, scale):
        return (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v),
                [c.new_empty(c.shape, dtype=torch.float32) for c in captures if c.is_floating_point()])

    def setup_context(ctx, inputs, output):
        q, k, v, *rest = inputs
        out, lse = output
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.rest = rest  # seqlens_k, the block mask, the captures, the options

    def grad(ctx, dout, dlse):
        q, k, v, out, lse = ctx.saved_tensors
        seqlens_k, block_mask, bm_q_len, bm_kv_len, bm_block_size, mask_captures, captures, causal, scale = ctx.rest
        dq, dk, dv, grads = backward(q, k, v, out, lse, dout.contiguous(), seqlens_k, block_mask, bm_q_len,
                                     bm_kv_len, bm_block_size, mask_captures, captures, causal, scale)
        return (dq, dk, dv, None, _nones(block_mask), None, None, None, _nones(mask_captures),
                _autograd_capture_grads(grads, captures), None, None)

    forward.register_autograd(grad, setup_context=setup_context)
    return forward


# --- flash attention over packed variable-length sequences ------------------------------

_varlen_ops = {}  # (score_mod, mask_mod) -> (n, forward CustomOpDef)


@torch.compiler.assume_constant_result
def _varlen_op_number(score_mod, mask_mod) -> int:
    """As _flash_op_number, for the packed-sequence ops."""
    key = (score_mod, mask_mod)
    if key not in _varlen_ops:
        n = len(_varlen_ops)
        _varlen_ops[key] = (n, _make_varlen_ops(n, score_mod, mask_mod))
    return _varlen_ops[key][0]


def flash_attention_varlen_op(score_mod, mask_mod):
    """The packed-sequence forward custom op of this (score_mod, mask_mod)
    pair, created on first use; it returns (out, lse (H, total_q))."""
    return getattr(torch.ops.terrazzo, f"flash_attention_varlen_fwd_{_varlen_op_number(score_mod, mask_mod)}").default


def flash_attention_varlen_backward_op(score_mod, mask_mod):
    """Its backward: (dq, dk, dv, float32 gradients of the floating captures)."""
    return getattr(torch.ops.terrazzo,
                   f"flash_attention_varlen_bwd_{_varlen_op_number(score_mod, mask_mod)}").default


def _make_varlen_ops(n, score_mod, mask_mod):
    @torch.library.custom_op(f"terrazzo::flash_attention_varlen_fwd_{n}", mutates_args=())
    def forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_seqlens_q: torch.Tensor,
                cu_seqlens_k: torch.Tensor, max_seqlen_q: int, max_seqlen_k: int, mask_captures: List[torch.Tensor],
                captures: List[torch.Tensor], causal: bool, scale: Optional[float]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        out = torch.empty_like(q)
        lse = torch.empty((q.shape[1], q.shape[0]), dtype=torch.float32, device=q.device)
        _ops.flash_attention_varlen_forward(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, causal,
                                            scale, score_mod, mask_mod, True, out=out, lse_out=lse,
                                            score_mod_args=tuple(captures), mask_mod_args=tuple(mask_captures))
        return out, lse

    @forward.register_fake
    def _(q, k, v, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, mask_captures, captures, causal, scale):
        return torch.empty_like(q), q.new_empty((q.shape[1], q.shape[0]), dtype=torch.float32)

    @torch.library.custom_op(f"terrazzo::flash_attention_varlen_bwd_{n}", mutates_args=())
    def backward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor, lse: torch.Tensor,
                 dout: torch.Tensor, cu_seqlens_q: torch.Tensor, cu_seqlens_k: torch.Tensor, max_seqlen_q: int,
                 max_seqlen_k: int, mask_captures: List[torch.Tensor], captures: List[torch.Tensor], causal: bool,
                 scale: Optional[float]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, List[torch.Tensor]]:
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        grads = _float_capture_grads(captures)
        _ops.flash_attention_varlen_backward(q, k, v, out, lse, dout, cu_seqlens_q, cu_seqlens_k, max_seqlen_q,
                                             max_seqlen_k, causal, scale, score_mod, mask_mod, dq=dq, dk=dk, dv=dv,
                                             score_mod_args=tuple(captures), score_mod_arg_grads=grads,
                                             mask_mod_args=tuple(mask_captures))
        return dq, dk, dv, [g for g in grads if g is not None]

    @backward.register_fake
    def _(q, k, v, out, lse, dout, cu_seqlens_q, cu_seqlens_k, max_seqlen_q, max_seqlen_k, mask_captures, captures,
          causal, scale):
        return (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v),
                [c.new_empty(c.shape, dtype=torch.float32) for c in captures if c.is_floating_point()])

    def setup_context(ctx, inputs, output):
        q, k, v, cu_q, cu_k, max_q, max_k, mask_captures, captures, causal, scale = inputs
        out, lse = output
        ctx.save_for_backward(q, k, v, out, lse, cu_q, cu_k)
        ctx.rest = (max_q, max_k, list(mask_captures), list(captures), causal, scale)
        ctx.mark_non_differentiable(lse)

    def grad(ctx, dout, dlse):
        q, k, v, out, lse, cu_q, cu_k = ctx.saved_tensors
        max_q, max_k, mask_captures, captures, causal, scale = ctx.rest
        dq, dk, dv, grads = backward(q, k, v, out, lse, dout.contiguous(), cu_q, cu_k, max_q, max_k, mask_captures,
                                     captures, causal, scale)
        return (dq, dk, dv, None, None, None, None, _nones(mask_captures), _autograd_capture_grads(grads, captures),
                None, None)

    forward.register_autograd(grad, setup_context=setup_context)
    return forward


# --- cosine-similarity attention --------------------------------------------------------


@torch.library.custom_op("terrazzo::cosine_sim_attention_fwd", mutates_args=())
def cosine_sim_attention_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, bias: Optional[torch.Tensor],
                             key_mask: Optional[torch.Tensor], key_lens: Optional[torch.Tensor], causal: bool,
                             scale: float, groups: int, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(out, float32 (B, H, N_Q) lse); bias already 4-D."""
    out = torch.empty_like(q)
    lse = torch.empty(q.shape[:3], dtype=torch.float32, device=q.device)
    _ops.cosine_sim_attention_forward(q, k, v, causal, scale, groups, eps, bias, key_mask, key_lens, out=out,
                                      lse_out=lse)
    return out, lse


@cosine_sim_attention_fwd.register_fake
def _(q, k, v, bias, key_mask, key_lens, causal, scale, groups, eps):
    return torch.empty_like(q), q.new_empty(q.shape[:3], dtype=torch.float32)


@torch.library.custom_op("terrazzo::cosine_sim_attention_bwd", mutates_args=())
def cosine_sim_attention_bwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, out: torch.Tensor,
                             lse: torch.Tensor, dout: torch.Tensor, bias: Optional[torch.Tensor],
                             key_mask: Optional[torch.Tensor], key_lens: Optional[torch.Tensor], causal: bool,
                             scale: float, groups: int, eps: float, need_dbias: bool
                             ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(dq, dk, dv, dbias): dbias float32 like the bias, or an empty (0,)
    tensor without a bias or need_dbias (a schema has no optional outputs)."""
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    want = need_dbias and bias is not None
    dbias = torch.empty(bias.shape if want else (0,), dtype=torch.float32, device=q.device)
    _ops.cosine_sim_attention_backward(q, k, v, out, lse, dout, causal, scale, groups, eps, bias, key_mask, key_lens,
                                       False, dq=dq, dk=dk, dv=dv, dbias=dbias if want else None)
    return dq, dk, dv, dbias


@cosine_sim_attention_bwd.register_fake
def _(q, k, v, out, lse, dout, bias, key_mask, key_lens, causal, scale, groups, eps, need_dbias):
    want = need_dbias and bias is not None
    return (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v),
            q.new_empty(bias.shape if want else (0,), dtype=torch.float32))


def _cs_setup_context(ctx, inputs, output):
    q, k, v, bias, key_mask, key_lens, causal, scale, groups, eps = inputs
    out, lse = output
    ctx.save_for_backward(q, k, v, out, lse, bias, key_mask, key_lens)
    ctx.options = (causal, scale, groups, eps)
    ctx.mark_non_differentiable(lse)


def _cs_grad(ctx, dout, dlse):
    q, k, v, out, lse, bias, key_mask, key_lens = ctx.saved_tensors
    need_dbias = bias is not None and ctx.needs_input_grad[3]
    dq, dk, dv, dbias = cosine_sim_attention_bwd(q, k, v, out, lse, dout.contiguous(), bias, key_mask, key_lens,
                                                 *ctx.options, need_dbias)
    return dq, dk, dv, (dbias.to(bias.dtype) if need_dbias else None), None, None, None, None, None, None


cosine_sim_attention_fwd.register_autograd(_cs_grad, setup_context=_cs_setup_context)


# --- lightning attention (linear attention with decay) ----------------------------------

_lightning_ops = {}  # (feature_map, feature_map_grad) -> (n, forward CustomOpDef)


@torch.compiler.assume_constant_result
def _lightning_op_number(feature_map, feature_map_grad) -> int:
    """As _flash_op_number, per (feature_map, feature_map_grad) pair."""
    key = (feature_map, feature_map_grad)
    if key not in _lightning_ops:
        n = len(_lightning_ops)
        _lightning_ops[key] = (n, _make_lightning_ops(n, feature_map, feature_map_grad))
    return _lightning_ops[key][0]


def lightning_attention_op(feature_map, feature_map_grad):
    """``terrazzo::lightning_attention_fwd_<n>``: (out, final state), the
    final state float32 (B, H, Dk, Dv), or (0,) without need_final."""
    return getattr(torch.ops.terrazzo,
                   f"lightning_attention_fwd_{_lightning_op_number(feature_map, feature_map_grad)}").default


def lightning_attention_backward_op(feature_map, feature_map_grad):
    """``terrazzo::lightning_attention_bwd_<n>``: (dq, dk, dv, dinitial),
    dinitial float32 like the initial state, or (0,) without need_dinitial."""
    return getattr(torch.ops.terrazzo,
                   f"lightning_attention_bwd_{_lightning_op_number(feature_map, feature_map_grad)}").default


def _state_shape(q, v):
    return (q.shape[0], q.shape[1], q.shape[3], v.shape[3])


def _make_lightning_ops(n, feature_map, feature_map_grad):
    @torch.library.custom_op(f"terrazzo::lightning_attention_fwd_{n}", mutates_args=())
    def forward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, initial_state: Optional[torch.Tensor],
                decay: Optional[torch.Tensor], scale: Optional[float], need_final: bool
                ) -> tuple[torch.Tensor, torch.Tensor]:
        out = torch.empty_like(v)
        final = torch.empty(_state_shape(q, v) if need_final else (0,), dtype=torch.float32, device=q.device)
        _ops.lightning_attention_forward(q, k, v, decay, scale, initial_state, need_final, feature_map, out=out,
                                         final_state_out=final if need_final else None)
        return out, final

    @forward.register_fake
    def _(q, k, v, initial_state, decay, scale, need_final):
        return (torch.empty_like(v),
                q.new_empty(_state_shape(q, v) if need_final else (0,), dtype=torch.float32))

    @torch.library.custom_op(f"terrazzo::lightning_attention_bwd_{n}", mutates_args=())
    def backward(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dout: torch.Tensor,
                 initial_state: Optional[torch.Tensor], decay: Optional[torch.Tensor], scale: Optional[float],
                 dfinal_state: Optional[torch.Tensor], need_dinitial: bool
                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
        dinit = torch.empty(_state_shape(q, v) if need_dinitial else (0,), dtype=torch.float32, device=q.device)
        _ops.lightning_attention_backward(q, k, v, dout, decay, scale, initial_state, dfinal_state, need_dinitial,
                                          feature_map, feature_map_grad, dq=dq, dk=dk, dv=dv,
                                          dinitial_state=dinit if need_dinitial else None)
        return dq, dk, dv, dinit

    @backward.register_fake
    def _(q, k, v, dout, initial_state, decay, scale, dfinal_state, need_dinitial):
        return (torch.empty_like(q), torch.empty_like(k), torch.empty_like(v),
                q.new_empty(_state_shape(q, v) if need_dinitial else (0,), dtype=torch.float32))

    def setup_context(ctx, inputs, output):
        q, k, v, initial_state, decay, scale, need_final = inputs
        ctx.save_for_backward(q, k, v, initial_state, decay)
        ctx.scale, ctx.need_final = scale, need_final

    def grad(ctx, dout, dfinal):
        q, k, v, initial_state, decay = ctx.saved_tensors
        need_dinit = initial_state is not None and ctx.needs_input_grad[3]
        dq, dk, dv, dinit = backward(q, k, v, dout.contiguous(), initial_state, decay, ctx.scale,
                                     dfinal.contiguous() if ctx.need_final and dfinal is not None else None,
                                     need_dinit)
        return dq, dk, dv, (dinit.to(initial_state.dtype) if need_dinit else None), None, None, None

    forward.register_autograd(grad, setup_context=setup_context)
    return forward


# --- focused linear attention (FLatten) -------------------------------------------------


@torch.library.custom_op("terrazzo::focused_linear_attention_fwd", mutates_args=())
def focused_linear_attention_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, power: float, eps: float,
                                 causal: bool) -> torch.Tensor:
    out = torch.empty_like(v)
    _ops.focused_linear_attention_forward(q, k, v, power, eps, causal, out=out)
    return out


@focused_linear_attention_fwd.register_fake
def _(q, k, v, power, eps, causal):
    return torch.empty_like(v)


@torch.library.custom_op("terrazzo::focused_linear_attention_bwd", mutates_args=())
def focused_linear_attention_bwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, dout: torch.Tensor,
                                 power: float, eps: float, causal: bool
                                 ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    dq, dk, dv = torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)
    _ops.focused_linear_attention_backward(q, k, v, dout, power, eps, causal, dq=dq, dk=dk, dv=dv)
    return dq, dk, dv


@focused_linear_attention_bwd.register_fake
def _(q, k, v, dout, power, eps, causal):
    return torch.empty_like(q), torch.empty_like(k), torch.empty_like(v)


def _focused_setup_context(ctx, inputs, output):
    q, k, v, power, eps, causal = inputs
    ctx.save_for_backward(q, k, v)
    ctx.options = (power, eps, causal)


def _focused_grad(ctx, dout):
    q, k, v = ctx.saved_tensors
    return (*focused_linear_attention_bwd(q, k, v, dout.contiguous(), *ctx.options), None, None, None)


focused_linear_attention_fwd.register_autograd(_focused_grad, setup_context=_focused_setup_context)


# --- agent attention ------------------------------------------------------------------


@torch.library.custom_op("terrazzo::agent_attention_fwd", mutates_args=())
def agent_attention_fwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, agents: torch.Tensor,
                        scale: Optional[float]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(out, agent_values, agent_lse (B, H, n), lse (B, H, N)): the output
    and what the backward reads."""
    out, agent_values = torch.empty_like(q), torch.empty_like(agents)
    agent_lse = torch.empty(agents.shape[:3], dtype=torch.float32, device=q.device)
    lse = torch.empty(q.shape[:3], dtype=torch.float32, device=q.device)
    _ops.agent_attention_forward(q, k, v, agents, scale, out=out, agent_values=agent_values, agent_lse=agent_lse,
                                 lse=lse)
    return out, agent_values, agent_lse, lse


@agent_attention_fwd.register_fake
def _(q, k, v, agents, scale):
    return (torch.empty_like(q), torch.empty_like(agents), q.new_empty(agents.shape[:3], dtype=torch.float32),
            q.new_empty(q.shape[:3], dtype=torch.float32))


@torch.library.custom_op("terrazzo::agent_attention_bwd", mutates_args=())
def agent_attention_bwd(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, agents: torch.Tensor,
                        out: torch.Tensor, agent_values: torch.Tensor, agent_lse: torch.Tensor, lse: torch.Tensor,
                        dout: torch.Tensor, scale: Optional[float]
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    dq, dk, dv, dagents = (torch.empty_like(x) for x in (q, k, v, agents))
    _ops.agent_attention_backward(q, k, v, agents, out, agent_values, agent_lse, lse, dout, scale, dq=dq, dk=dk,
                                  dv=dv, dagents=dagents)
    return dq, dk, dv, dagents


@agent_attention_bwd.register_fake
def _(q, k, v, agents, out, agent_values, agent_lse, lse, dout, scale):
    return tuple(torch.empty_like(x) for x in (q, k, v, agents))


def _agent_setup_context(ctx, inputs, output):
    q, k, v, agents, scale = inputs
    ctx.save_for_backward(q, k, v, agents, *output)
    ctx.scale = scale
    ctx.mark_non_differentiable(*output[1:])


def _agent_grad(ctx, dout, *unused):
    q, k, v, agents, out, agent_values, agent_lse, lse = ctx.saved_tensors
    return (*agent_attention_bwd(q, k, v, agents, out, agent_values, agent_lse, lse, dout.contiguous(), ctx.scale),
            None)


agent_attention_fwd.register_autograd(_agent_grad, setup_context=_agent_setup_context)
