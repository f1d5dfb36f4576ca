"""Agent attention's own kernel: the agents' gradient is the sum of what the
two flash-attention passes give them (as keys of the second, as queries of
the first); this adds the two. The passes themselves are
kernels/flash_attention.py's (see kernels/lib/AgentAttention.cpp).

Tensors are (B, H, n, D) through four strides each; grid
(cdiv(n, BLOCK_N), B * H)."""

import terrazzo as tz


@tz.jit
def agent_grad_sum(a_ptr, b_ptr, out_ptr,
                   stride_ab, stride_ah, stride_an, stride_ad,
                   stride_bb, stride_bh, stride_bn, stride_bd,
                   stride_ob, stride_oh, stride_on, stride_od,
                   H, N, D,
                   BLOCK_N: tz.constexpr, BLOCK_D: tz.constexpr):
    rows = tz.program_id(0) * BLOCK_N + tz.arange(0, BLOCK_N)
    bh = tz.program_id(1)
    b = (bh // H).to(tz.int64)
    h = (bh % H).to(tz.int64)
    for d0 in range(0, D, BLOCK_D):
        cols = d0 + tz.arange(0, BLOCK_D)
        mask = (rows[:, None] < N) & (cols[None, :] < D)
        a = tz.load(a_ptr + b * stride_ab + h * stride_ah + rows[:, None] * stride_an + cols[None, :] * stride_ad,
                    mask=mask, other=0.0)
        c = tz.load(b_ptr + b * stride_bb + h * stride_bh + rows[:, None] * stride_bn + cols[None, :] * stride_bd,
                    mask=mask, other=0.0)
        s = a.to(tz.float32) + c.to(tz.float32)
        tz.store(out_ptr + b * stride_ob + h * stride_oh + rows[:, None] * stride_on + cols[None, :] * stride_od,
                 s.to(out_ptr.dtype.element_ty), mask=mask)
