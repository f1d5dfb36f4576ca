"""Focused linear attention (FLatten), forward and backward, in the Terrazzo
kernel language. Non-causal; the depthwise convolution on V stays the
caller's.

Per batch b and head h, with the focusing function applied to every row of
q and k (over the head dim):

    r(x)   = ReLU(x) + eps                       (elementwise, > 0)
    phi(x) = ||r|| * r^p / ||r^p||               (r^p elementwise, p = POWER)
    KV     = (1/N) sum_j phi(k_j)^T v_j          (Dk x Dv, float32)
    ks     = (1/N) sum_j phi(k_j)                (Dk, float32)
    o_i    = phi(q_i) KV / (phi(q_i) . ks + eps)

The means (rather than sums) keep KV bounded whatever N is, so it can be
rounded to the input dtype for the tensor-core product with phi(q).

Kernels: focused_kv_state (partial KV and ks sums over a split of the
rows; grid (Dv / BLOCK_V, B * H, splits)), focused_sum_splits (adds the
splits: deterministic, no atomics), focused_output (grid (cdiv(N, BLOCK_M),
B * H)). Backward,
with U_i = phi(q_i) KV and z_i = phi(q_i) . ks + eps:

    dU_i = do_i / z_i,   dz_i = -(do_i . o_i) / z_i
    dphi(q_i) = dU_i KV^T + dz_i ks
    dKV = sum_i phi(q_i)^T dU_i,   dks = sum_i dz_i phi(q_i)
    dphi(k_j) = (v_j dKV^T + dks) / N,   dv_j = phi(k_j) dKV / N

focused_bwd_query (grid (splits, B * H), a loop over its split's rows)
writes dq and partial float32 dKV and dks, which focused_sum_splits adds; focused_bwd_kv (grid (cdiv(N, BLOCK_M), B * H))
writes dk and dv. dq and dk go through _focus_backward, the Jacobian of phi.

Head dims: Dk and Dv are powers of two up to 128 (whole rows are loaded:
phi needs the norm of the row). Tensors are addressed through four strides
each ((B, H, N, D) logical order); the float32 scratches are contiguous
(B * H, Dk, Dv) and (B * H, Dk).
"""

import terrazzo as tz


@tz.jit
def _base(ptr, b, h, stride_b, stride_h):
    return ptr + b.to(tz.int64) * stride_b + h.to(tz.int64) * stride_h


@tz.jit
def _load_rows(base, rows, cols, n_rows, stride_r, stride_c):
    return tz.load(base + rows[:, None] * stride_r + cols[None, :] * stride_c, mask=rows[:, None] < n_rows,
                   other=0.0)


@tz.jit
def _focus_parts(x, eps, POWER: tz.constexpr):
    # r, r^p and the ratio ||r|| / ||r^p|| of each row of a float32 tile.
    r = tz.maximum(x, 0.0) + eps
    u = tz.exp2(POWER * tz.log2(r))
    n1 = tz.sqrt(tz.sum(r * r, axis=1))
    n2 = tz.sqrt(tz.sum(u * u, axis=1))
    return r, u, n1, n2


@tz.jit
def _focus(x, rows, n_rows, eps, POWER: tz.constexpr):
    # phi of each row; rows past the sequence give 0 (phi of a zero row is not).
    r, u, n1, n2 = _focus_parts(x, eps, POWER)
    return tz.where(rows[:, None] < n_rows, u * (n1 / n2)[:, None], 0.0)


@tz.jit
def _focus_backward(x, g, eps, POWER: tz.constexpr):
    # d/dx of sum(g * phi(x)) per row: phi = n1 u / n2 with u = r^p,
    # n1 = ||r||, n2 = ||u||, du/dr = p u / r; ReLU passes x > 0 only.
    r, u, n1, n2 = _focus_parts(x, eps, POWER)
    du = POWER * u / r
    gu = tz.sum(g * u, axis=1)
    dr = g * du * (n1 / n2)[:, None] + (gu / (n1 * n2))[:, None] * r \
        - (n1 * gu / (n2 * n2 * n2))[:, None] * u * du
    return tz.where(x > 0.0, dr, 0.0)


@tz.jit
def focused_kv_state(k_ptr, v_ptr, kv_ptr, ks_ptr,
                     stride_kb, stride_kh, stride_ks, stride_kd,
                     stride_vb, stride_vh, stride_vs, stride_vd,
                     H, N, eps, rows_per_split,
                     DK: tz.constexpr, DV: tz.constexpr, BLOCK_V: tz.constexpr, BLOCK_M: tz.constexpr,
                     POWER: tz.constexpr):
    # Program (v block, bh, split g) sums rows [g * rows_per_split, ...) into
    # the partials kv[g, bh] (DK x DV) and ks[g, bh] (DK), float32, unscaled;
    # focused_sum_splits adds the splits.
    pid_v = tz.program_id(0)
    bh = tz.program_id(1)
    g = tz.program_id(2)
    n_bh = tz.num_programs(1)
    b = bh // H
    h = bh % H
    offs_k = tz.arange(0, DK)
    offs_v = pid_v * BLOCK_V + tz.arange(0, BLOCK_V)
    k_base = _base(k_ptr, b, h, stride_kb, stride_kh)
    v_base = _base(v_ptr, b, h, stride_vb, stride_vh)
    kv = tz.zeros((DK, BLOCK_V), dtype=tz.float32)
    ks = tz.zeros((DK,), dtype=tz.float32)
    lo = g * rows_per_split
    hi = tz.minimum(lo + rows_per_split, N)
    for start in range(lo, hi, BLOCK_M):
        rows = start + tz.arange(0, BLOCK_M)
        k = _load_rows(k_base, rows, offs_k, hi, stride_ks, stride_kd)
        phi = _focus(k.to(tz.float32), rows, hi, eps, POWER)
        v = _load_rows(v_base, rows, offs_v, hi, stride_vs, stride_vd)
        kv = tz.dot(phi.to(v.dtype).T, v, kv)
        ks = ks + tz.sum(phi, axis=0)
    part = g.to(tz.int64) * n_bh + bh
    tz.store(kv_ptr + part * (DK * DV) + offs_k[:, None] * DV + offs_v[None, :], kv)
    # Every V block computes ks; the first stores it.
    tz.store(ks_ptr + part * DK + offs_k, ks, mask=(offs_k * 0 + pid_v) == 0)


@tz.jit
def focused_sum_splits(part_ptr, out_ptr, n_splits, count, scale, BLOCK: tz.constexpr):
    # out[i] = scale * sum_g part[g * count + i], float32.
    offs = tz.program_id(0).to(tz.int64) * BLOCK + tz.arange(0, BLOCK)
    mask = offs < count
    acc = tz.zeros((BLOCK,), dtype=tz.float32)
    for g in range(0, n_splits):
        acc = acc + tz.load(part_ptr + g.to(tz.int64) * count + offs, mask=mask, other=0.0)
    tz.store(out_ptr + offs, acc * scale, mask=mask)


@tz.jit
def _load_kv(kv_ptr, ks_ptr, bh, DK: tz.constexpr, DV: tz.constexpr):
    offs_k = tz.arange(0, DK)
    offs_v = tz.arange(0, DV)
    kv = tz.load(kv_ptr + bh.to(tz.int64) * (DK * DV) + offs_k[:, None] * DV + offs_v[None, :])
    ks = tz.load(ks_ptr + bh.to(tz.int64) * DK + offs_k)
    return kv, ks


@tz.jit
def _attend(q, rows, N, kv_in, ks, eps, POWER: tz.constexpr):
    # phi(q), U = phi(q) KV and z = phi(q) . ks + eps for a row block
    # (kv_in: KV rounded to q's dtype).
    phi = _focus(q.to(tz.float32), rows, N, eps, POWER)
    u = tz.dot(phi.to(q.dtype), kv_in)
    z = tz.sum(phi * ks[None, :], axis=1) + eps
    return phi, u, z


@tz.jit
def focused_output(q_ptr, kv_ptr, ks_ptr, out_ptr,
                   stride_qb, stride_qh, stride_qs, stride_qd,
                   stride_ob, stride_oh, stride_os, stride_od,
                   H, N, eps,
                   DK: tz.constexpr, DV: tz.constexpr, BLOCK_M: tz.constexpr, POWER: tz.constexpr):
    rows = tz.program_id(0) * BLOCK_M + tz.arange(0, BLOCK_M)
    bh = tz.program_id(1)
    b = bh // H
    h = bh % H
    offs_k = tz.arange(0, DK)
    offs_v = tz.arange(0, DV)
    q = _load_rows(_base(q_ptr, b, h, stride_qb, stride_qh), rows, offs_k, N, stride_qs, stride_qd)
    kv, ks = _load_kv(kv_ptr, ks_ptr, bh, DK, DV)
    phi, u, z = _attend(q, rows, N, kv.to(q.dtype), ks, eps, POWER)
    o = u / z[:, None]
    tz.store(_base(out_ptr, b, h, stride_ob, stride_oh) + rows[:, None] * stride_os + offs_v[None, :] * stride_od,
             o.to(out_ptr.dtype.element_ty), mask=rows[:, None] < N)


@tz.jit
def focused_bwd_query(q_ptr, do_ptr, kv_ptr, ks_ptr, dq_ptr, dkv_ptr, dks_ptr,
                      stride_qb, stride_qh, stride_qs, stride_qd,
                      stride_dob, stride_doh, stride_dos, stride_dod,
                      stride_dqb, stride_dqh, stride_dqs, stride_dqd,
                      H, N, eps, rows_per_split,
                      DK: tz.constexpr, DV: tz.constexpr, BLOCK_M: tz.constexpr, POWER: tz.constexpr):
    # Program (split g, bh): dq of its rows, and its partial dKV, dks into
    # dkv[g, bh], dks[g, bh] (focused_sum_splits adds them).
    g = tz.program_id(0)
    bh = tz.program_id(1)
    n_bh = tz.num_programs(1)
    b = bh // H
    h = bh % H
    offs_k = tz.arange(0, DK)
    offs_v = tz.arange(0, DV)
    q_base = _base(q_ptr, b, h, stride_qb, stride_qh)
    do_base = _base(do_ptr, b, h, stride_dob, stride_doh)
    dq_base = _base(dq_ptr, b, h, stride_dqb, stride_dqh)
    kv, ks = _load_kv(kv_ptr, ks_ptr, bh, DK, DV)
    kv_in = kv.to(q_ptr.dtype.element_ty)
    dkv = tz.zeros((DK, DV), dtype=tz.float32)
    dks = tz.zeros((DK,), dtype=tz.float32)
    lo = g * rows_per_split
    hi = tz.minimum(lo + rows_per_split, N)
    for start in range(lo, hi, BLOCK_M):
        rows = start + tz.arange(0, BLOCK_M)
        q = _load_rows(q_base, rows, offs_k, hi, stride_qs, stride_qd)
        do = _load_rows(do_base, rows, offs_v, hi, stride_dos, stride_dod).to(tz.float32)
        phi, u, z = _attend(q, rows, hi, kv_in, ks, eps, POWER)
        # dU = do / z can exceed float16 where z ~ eps (a row of q with no
        # positive entry), so 1 / z goes onto phi (phi / z stays bounded)
        # or onto float32 results, never into a rounded operand.
        dz = -tz.sum(do * u, axis=1) / (z * z)  # -(do . o) / z with o = u / z
        dkv = tz.dot((phi / z[:, None]).to(q.dtype).T, do.to(q.dtype), dkv)
        dks = dks + tz.sum(dz[:, None] * phi, axis=0)
        dphi = tz.dot(do.to(q.dtype), kv_in.T) / z[:, None] + dz[:, None] * ks[None, :]
        dq = _focus_backward(q.to(tz.float32), dphi, eps, POWER)
        tz.store(dq_base + rows[:, None] * stride_dqs + offs_k[None, :] * stride_dqd, dq.to(dq_ptr.dtype.element_ty),
                 mask=rows[:, None] < hi)
    part = g.to(tz.int64) * n_bh + bh
    tz.store(dkv_ptr + part * (DK * DV) + offs_k[:, None] * DV + offs_v[None, :], dkv)
    tz.store(dks_ptr + part * DK + offs_k, dks)


@tz.jit
def focused_bwd_kv(k_ptr, v_ptr, dkv_ptr, dks_ptr, dk_ptr, dv_ptr,
                   stride_kb, stride_kh, stride_ks, stride_kd,
                   stride_vb, stride_vh, stride_vs, stride_vd,
                   stride_dkb, stride_dkh, stride_dks, stride_dkd,
                   stride_dvb, stride_dvh, stride_dvs, stride_dvd,
                   H, N, eps,
                   DK: tz.constexpr, DV: tz.constexpr, BLOCK_M: tz.constexpr, POWER: tz.constexpr):
    rows = tz.program_id(0) * BLOCK_M + tz.arange(0, BLOCK_M)
    bh = tz.program_id(1)
    b = bh // H
    h = bh % H
    offs_k = tz.arange(0, DK)
    offs_v = tz.arange(0, DV)
    k = _load_rows(_base(k_ptr, b, h, stride_kb, stride_kh), rows, offs_k, N, stride_ks, stride_kd)
    v = _load_rows(_base(v_ptr, b, h, stride_vb, stride_vh), rows, offs_v, N, stride_vs, stride_vd)
    inv_n = 1.0 / tz.maximum(N, 1).to(tz.float32)
    dkv = tz.load(dkv_ptr + bh.to(tz.int64) * (DK * DV) + offs_k[:, None] * DV + offs_v[None, :]) * inv_n
    dks = tz.load(dks_ptr + bh.to(tz.int64) * DK + offs_k) * inv_n
    phi = _focus(k.to(tz.float32), rows, N, eps, POWER)
    dkv_in = dkv.to(v.dtype)
    dv = tz.dot(phi.to(v.dtype), dkv_in)
    dphi = tz.dot(v, dkv_in.T) + dks[None, :]
    dk = _focus_backward(k.to(tz.float32), dphi, eps, POWER)
    mask = rows[:, None] < N
    tz.store(_base(dk_ptr, b, h, stride_dkb, stride_dkh) + rows[:, None] * stride_dks + offs_k[None, :] * stride_dkd,
             dk.to(dk_ptr.dtype.element_ty), mask=mask)
    tz.store(_base(dv_ptr, b, h, stride_dvb, stride_dvh) + rows[:, None] * stride_dvs + offs_v[None, :] * stride_dvd,
             dv.to(dv_ptr.dtype.element_ty), mask=mask)
