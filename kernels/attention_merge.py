"""Merging two softmax-attention results over disjoint key sets, in the
Terrazzo kernel language: what ring (context-parallel) attention does after
each step (python/terrazzo/ring_attention.py, docs/ring-attention.md).

A partial result over a key set K_a is (o_a, lse_a) with
lse_a = log(sum_{j in K_a} exp(s_j)) and o_a = sum_{j in K_a} exp(s_j - lse_a) v_j.
Over K_a and K_b together:

    lse = log(exp(lse_a) + exp(lse_b))
    o   = exp(lse_a - lse) o_a + exp(lse_b - lse) o_b

computed with the larger lse subtracted first so nothing overflows. A row
with no keys on one side has lse = -inf there and weight 0 (its o is never
read, so it may hold anything, e.g. an accumulator not yet initialised); a
row with no keys on either side gets o = 0 and lse = -inf.

`out`/`lse` are the accumulator, updated in place; `part`/`part_lse` the
new partial. Every tensor has its own strides: out and part (B, H, N, D),
lse and part_lse (B, H, N), so slices of larger tensors merge without
copies. lse values are natural logarithms, float32 (flash attention's LSE
convention); out and part may be float32, float16 or bfloat16, the
arithmetic is float32.

Grid: (cdiv(N, BLOCK_M), B * H).
"""

import terrazzo as tz


@tz.jit
def _row_base(ptr, b, h, stride_b, stride_h):
    # 64-bit batch/head offsets, as in flash_attention.py: B * H * N * D may
    # exceed 2**31 elements at long context.
    return ptr + b.to(tz.int64) * stride_b + h.to(tz.int64) * stride_h


@tz.jit
def attention_merge(out_ptr, lse_ptr, part_ptr, part_lse_ptr,
                    stride_ob, stride_oh, stride_om, stride_od,
                    stride_lb, stride_lh, stride_lm,
                    stride_pb, stride_ph, stride_pm, stride_pd,
                    stride_plb, stride_plh, stride_plm,
                    H, N,
                    HEAD_DIM: tz.constexpr, BLOCK_M: tz.constexpr, HEAD_DIM_PADDED: tz.constexpr = None):
    D_PAD = HEAD_DIM if HEAD_DIM_PADDED is None else HEAD_DIM_PADDED
    start_m = tz.program_id(0) * BLOCK_M
    bh = tz.program_id(1)
    b = bh // H
    h = bh % H
    offs_m = start_m + tz.arange(0, BLOCK_M)
    offs_d = tz.arange(0, D_PAD)
    rows = offs_m < N
    lse_ptrs = _row_base(lse_ptr, b, h, stride_lb, stride_lh) + offs_m.to(tz.int64) * stride_lm
    part_lse_ptrs = _row_base(part_lse_ptr, b, h, stride_plb, stride_plh) + offs_m.to(tz.int64) * stride_plm
    lse_a = tz.load(lse_ptrs, mask=rows, other=-float("inf"))
    lse_b = tz.load(part_lse_ptrs, mask=rows, other=-float("inf"))

    m = tz.maximum(lse_a, lse_b)
    # Both sides empty: shift by 0 so the weights are exp(-inf) = 0, not NaN.
    m_shift = tz.where(m == -float("inf"), 0.0, m)
    w_a = tz.exp(lse_a - m_shift)
    w_b = tz.exp(lse_b - m_shift)
    total = w_a + w_b
    has_keys = total > 0.0
    total_safe = tz.where(has_keys, total, 1.0)
    c_a = w_a / total_safe
    c_b = w_b / total_safe
    new_lse = tz.where(has_keys, m_shift + tz.log(total_safe), -float("inf"))

    if HEAD_DIM == D_PAD:
        tile = rows[:, None]
    else:
        tile = rows[:, None] & (offs_d[None, :] < HEAD_DIM)
    o_ptrs = (_row_base(out_ptr, b, h, stride_ob, stride_oh) + offs_m.to(tz.int64)[:, None] * stride_om
              + offs_d[None, :] * stride_od)
    p_ptrs = (_row_base(part_ptr, b, h, stride_pb, stride_ph) + offs_m.to(tz.int64)[:, None] * stride_pm
              + offs_d[None, :] * stride_pd)
    o_a = tz.load(o_ptrs, mask=tile, other=0.0).to(tz.float32)
    o_b = tz.load(p_ptrs, mask=tile, other=0.0).to(tz.float32)
    # A side of weight 0 contributes exactly 0, whatever its o holds (an
    # uninitialised accumulator, or NaN poison in a test).
    o = tz.where(c_a[:, None] > 0.0, o_a * c_a[:, None], 0.0) + tz.where(c_b[:, None] > 0.0, o_b * c_b[:, None], 0.0)
    tz.store(o_ptrs, o.to(out_ptr.dtype.element_ty), mask=tile)
    tz.store(lse_ptrs, new_lse, mask=rows)
