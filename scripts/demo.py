"""Terrazzo demo: compile kernels written in the DSL and run them on the CPU
interpreter, each checked against a float64 numpy reference."""

import sys
import time

import numpy as np
import terrazzo as tz

try:
    from ml_dtypes import bfloat16
except ImportError:  # pragma: no cover
    bfloat16 = None


@tz.jit
def vector_add(x_ptr, y_ptr, out_ptr, n, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    tz.store(out_ptr + offs, tz.load(x_ptr + offs, mask=mask) + tz.load(y_ptr + offs, mask=mask), mask=mask)


@tz.jit
def row_softmax(out_ptr, x_ptr, stride, n_cols, BLOCK: tz.constexpr):
    row = tz.program_id(0)
    cols = tz.arange(0, BLOCK)
    mask = cols < n_cols
    x = tz.load(x_ptr + row * stride + cols, mask=mask, other=-float("inf"))
    e = tz.exp(x - tz.max(x, axis=0))
    tz.store(out_ptr + row * stride + cols, e / tz.sum(e, axis=0), mask=mask)


@tz.jit
def matmul(a_ptr, b_ptr, c_ptr, M, N, K, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr):
    rm = tz.program_id(0) * BM + tz.arange(0, BM)
    rn = tz.program_id(1) * BN + tz.arange(0, BN)
    rk = tz.arange(0, BK)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, K, BK):
        a = tz.load(a_ptr + rm[:, None] * K + (k + rk)[None, :],
                    mask=(rm[:, None] < M) & ((k + rk)[None, :] < K), other=0.0)
        b = tz.load(b_ptr + (k + rk)[:, None] * N + rn[None, :],
                    mask=((k + rk)[:, None] < K) & (rn[None, :] < N), other=0.0)
        acc = tz.dot(a, b, acc)
    tz.store(c_ptr + rm[:, None] * N + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))


@tz.jit
def layer_norm(x_ptr, w_ptr, b_ptr, y_ptr, n_cols, eps, BLOCK: tz.constexpr):
    row = tz.program_id(0)
    cols = tz.arange(0, BLOCK)
    mask = cols < n_cols
    x = tz.load(x_ptr + row * n_cols + cols, mask=mask, other=0.0)
    mean = tz.sum(x, axis=0) / n_cols
    d = tz.where(mask, x - mean, 0.0)
    rstd = tz.rsqrt(tz.sum(d * d, axis=0) / n_cols + eps)
    w = tz.load(w_ptr + cols, mask=mask)
    b = tz.load(b_ptr + cols, mask=mask)
    tz.store(y_ptr + row * n_cols + cols, d * rstd * w + b, mask=mask)


@tz.jit
def attention_fwd(q_ptr, k_ptr, v_ptr, o_ptr, seq_len, scale,
                  BLOCK_M: tz.constexpr, BLOCK_N: tz.constexpr, HEAD_DIM: tz.constexpr):
    """One (batch*head) slice per program along axis 1; online softmax over key blocks."""
    start_m = tz.program_id(0) * BLOCK_M
    base = tz.program_id(1) * seq_len * HEAD_DIM
    rm = start_m + tz.arange(0, BLOCK_M)
    rd = tz.arange(0, HEAD_DIM)
    q = tz.load(q_ptr + base + rm[:, None] * HEAD_DIM + rd[None, :], mask=rm[:, None] < seq_len, other=0.0)
    m_i = tz.full((BLOCK_M,), -float("inf"), tz.float32)
    l_i = tz.zeros((BLOCK_M,), dtype=tz.float32)
    acc = tz.zeros((BLOCK_M, HEAD_DIM), dtype=tz.float32)
    for start_n in range(0, seq_len, BLOCK_N):
        rn = start_n + tz.arange(0, BLOCK_N)
        k = tz.load(k_ptr + base + rn[:, None] * HEAD_DIM + rd[None, :], mask=rn[:, None] < seq_len, other=0.0)
        s = tz.dot(q, k.T) * scale
        s = tz.where(rn[None, :] < seq_len, s, -float("inf"))
        m_new = tz.maximum(m_i, tz.max(s, axis=1))
        p = tz.exp(s - m_new[:, None])
        alpha = tz.exp(m_i - m_new)
        l_i = l_i * alpha + tz.sum(p, axis=1)
        v = tz.load(v_ptr + base + rn[:, None] * HEAD_DIM + rd[None, :], mask=rn[:, None] < seq_len, other=0.0)
        acc = acc * alpha[:, None] + tz.dot(p.to(v.dtype), v)
        m_i = m_new
    out = acc / l_i[:, None]
    tz.store(o_ptr + base + rm[:, None] * HEAD_DIM + rd[None, :], out.to(o_ptr.dtype.element_ty),
             mask=rm[:, None] < seq_len)


def rel_error(got, ref):
    got = got.astype(np.float64)
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))


def check(name, got, ref, bound, started):
    err = rel_error(got, ref)
    ok = np.all(np.isfinite(got)) and err <= bound
    print(f"  {'ok  ' if ok else 'FAIL'} {name:<44} max rel err {err:.2e} (bound {bound:.0e})"
          f"  {time.perf_counter() - started:.2f}s")
    return ok


def main():
    rng = np.random.default_rng()
    print(f"terrazzo {tz.__version__}: DSL kernels on the CPU interpreter vs float64 numpy")
    ok = True

    t = time.perf_counter()
    n = 3000
    x, y = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    out = np.full(n, np.nan, np.float32)
    vector_add[(tz.cdiv(n, 1024),)](x, y, out, n, BLOCK=1024)
    ok &= check(f"vector_add n={n} (ragged tail)", out, x.astype(np.float64) + y, 1e-6, t)

    t = time.perf_counter()
    rows, cols = 16, 100
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    out = np.full_like(x, np.nan)
    row_softmax[(rows,)](out, x, cols, cols, BLOCK=128)
    e = np.exp(x.astype(np.float64) - x.max(axis=1, keepdims=True))
    ok &= check(f"row_softmax {rows}x{cols}", out, e / e.sum(axis=1, keepdims=True), 1e-5, t)

    t = time.perf_counter()
    M, N, K = 70, 50, 90
    a = rng.standard_normal((M, K)).astype(np.float16)
    b = rng.standard_normal((K, N)).astype(np.float16)
    c = np.full((M, N), np.nan, np.float32)
    matmul[(tz.cdiv(M, 32), tz.cdiv(N, 32))](a, b, c, M, N, K, BM=32, BN=32, BK=32)
    ok &= check(f"matmul f16 {M}x{K} @ {K}x{N} -> f32", c, a.astype(np.float64) @ b.astype(np.float64), 1e-5, t)

    t = time.perf_counter()
    rows, cols = 8, 200
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    w, bias = rng.standard_normal(cols).astype(np.float32), rng.standard_normal(cols).astype(np.float32)
    out = np.full_like(x, np.nan)
    layer_norm[(rows,)](x, w, bias, out, cols, 1e-5, BLOCK=256)
    xd = x.astype(np.float64)
    ref = (xd - xd.mean(1, keepdims=True)) / np.sqrt(xd.var(1, keepdims=True) + 1e-5) * w + bias
    ok &= check(f"layer_norm {rows}x{cols}", out, ref, 1e-5, t)

    for dtype, bound in ((np.float16, 2e-3), (bfloat16, 2e-2)):
        if dtype is None:
            continue
        t = time.perf_counter()
        bh, seq, d = 2, 100, 64
        q, k, v = (rng.standard_normal((bh, seq, d)).astype(dtype) for _ in range(3))
        o = np.full((bh, seq, d), np.nan, dtype)
        scale = 1.0 / np.sqrt(d)
        attention_fwd[(tz.cdiv(seq, 32), bh)](q, k, v, o, seq, scale, BLOCK_M=32, BLOCK_N=32, HEAD_DIM=d)
        qd, kd, vd = (z.astype(np.float64) for z in (q, k, v))
        s = qd @ kd.transpose(0, 2, 1) * scale
        p = np.exp(s - s.max(-1, keepdims=True))
        ref = (p / p.sum(-1, keepdims=True)) @ vd
        ok &= check(f"attention_fwd {np.dtype(dtype).name} bh={bh} seq={seq} d={d}", o, ref, bound, t)

    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
