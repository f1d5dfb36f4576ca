"""Terrazzo demo: compile kernels written in the DSL, and the kernel library's
attention kernels, and run them, each checked against a float64 numpy
reference: on the GPU when torch sees a CUDA device (inputs are moved there
and results back), else on the CPU interpreter (or always with TZ_INTERPRET=1)."""

import os
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


def attention_reference(q, k, v, do, causal):
    """float64 softmax attention (bottom-right causal, GQA) and its gradients."""
    q, k, v, do = (x.astype(np.float64) for x in (q, k, v, do))
    group = q.shape[1] // k.shape[1]
    kr, vr = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    nq, nk = q.shape[2], k.shape[2]
    scale = 1.0 / np.sqrt(q.shape[3])
    s = q @ kr.transpose(0, 1, 3, 2) * scale
    if causal:
        s = np.where(np.arange(nk)[None, :] <= np.arange(nq)[:, None] + (nk - nq), s, -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    l = e.sum(-1, keepdims=True)
    p = e / np.where(l > 0, l, 1.0)
    o = p @ vr
    ds = p * (do @ vr.transpose(0, 1, 3, 2) - (do * o).sum(-1, keepdims=True))
    b, hkv = k.shape[0], k.shape[1]
    dk = (ds.transpose(0, 1, 3, 2) @ q * scale).reshape(b, hkv, group, nk, -1).sum(2)
    dv = (p.transpose(0, 1, 3, 2) @ do).reshape(b, hkv, group, nk, -1).sum(2)
    return dict(o=o, dq=ds @ kr * scale, dk=dk, dv=dv)


def gpu_available():
    if os.environ.get("TZ_INTERPRET", "0") not in ("", "0") or not tz._terrazzo.gpu_available():
        return False
    try:
        import torch
        return torch.cuda.is_available()
    except ImportError:
        return False


ON_GPU = gpu_available()


def to_device(a):
    """numpy -> torch CUDA tensor (GPU mode), else unchanged."""
    if not ON_GPU or not isinstance(a, np.ndarray):
        return a
    import torch
    if bfloat16 is not None and a.dtype == bfloat16:
        return torch.from_numpy(a.view(np.uint16).copy()).view(torch.bfloat16).cuda()
    return torch.from_numpy(np.ascontiguousarray(a)).cuda()


def to_host(t, like_dtype):
    if isinstance(t, np.ndarray):
        return t
    import torch
    t = t.detach()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).cpu().numpy().view(bfloat16)
    return t.cpu().numpy().astype(like_dtype, copy=False)


def launch(kernel, grid, *args, **kwargs):
    """kernel[grid](*args) on the GPU (numpy arguments copied there and back)
    or on the interpreter."""
    dev = [to_device(a) for a in args]
    kernel[grid](*dev, **kwargs)
    for a, d in zip(args, dev):
        if isinstance(a, np.ndarray) and d is not a:
            a[...] = to_host(d, a.dtype)


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
    where = "the GPU (" + __import__("torch").cuda.get_device_name() + ")" if ON_GPU else "the CPU interpreter"
    print(f"terrazzo {tz.__version__}: DSL kernels and the attention library on {where} vs float64 numpy")
    ok = True

    t = time.perf_counter()
    n = 3000
    x, y = rng.standard_normal(n).astype(np.float32), rng.standard_normal(n).astype(np.float32)
    out = np.full(n, np.nan, np.float32)
    launch(vector_add, (tz.cdiv(n, 1024),), x, y, out, n, BLOCK=1024)
    ok &= check(f"vector_add n={n} (ragged tail)", out, x.astype(np.float64) + y, 1e-6, t)

    t = time.perf_counter()
    rows, cols = 16, 100
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    out = np.full_like(x, np.nan)
    launch(row_softmax, (rows,), out, x, cols, cols, BLOCK=128)
    e = np.exp(x.astype(np.float64) - x.max(axis=1, keepdims=True))
    ok &= check(f"row_softmax {rows}x{cols}", out, e / e.sum(axis=1, keepdims=True), 1e-5, t)

    t = time.perf_counter()
    M, N, K = 70, 50, 90
    a = rng.standard_normal((M, K)).astype(np.float16)
    b = rng.standard_normal((K, N)).astype(np.float16)
    c = np.full((M, N), np.nan, np.float32)
    launch(matmul, (tz.cdiv(M, 32), tz.cdiv(N, 32)), a, b, c, M, N, K, BM=32, BN=32, BK=32)
    ok &= check(f"matmul f16 {M}x{K} @ {K}x{N} -> f32", c, a.astype(np.float64) @ b.astype(np.float64), 1e-5, t)

    t = time.perf_counter()
    rows, cols = 8, 200
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    w, bias = rng.standard_normal(cols).astype(np.float32), rng.standard_normal(cols).astype(np.float32)
    out = np.full_like(x, np.nan)
    launch(layer_norm, (rows,), x, w, bias, out, cols, 1e-5, BLOCK=256)
    xd = x.astype(np.float64)
    ref = (xd - xd.mean(1, keepdims=True)) / np.sqrt(xd.var(1, keepdims=True) + 1e-5) * w + bias
    ok &= check(f"layer_norm {rows}x{cols}", out, ref, 1e-5, t)

    # The kernel library: flash attention forward and backward (DSL kernels
    # in kernels/flash_attention.py behind the C++ wrappers of tz.ops).
    for dtype, bound in ((np.float16, 2e-3), (bfloat16, 2e-2)):
        if dtype is None:
            continue
        for causal in (False, True):
            t = time.perf_counter()
            B, H, H_KV, NQ, NK, D = 2, 4, 2, 70, 90, 64
            q = rng.standard_normal((B, H, NQ, D)).astype(dtype)
            k, v = (rng.standard_normal((B, H_KV, NK, D)).astype(dtype) for _ in range(2))
            do = rng.standard_normal((B, H, NQ, D)).astype(dtype)
            qd, kd, vd, dod = (to_device(x) for x in (q, k, v, do))
            o, lse = tz.ops.flash_attention(qd, kd, vd, causal=causal, return_lse=True)
            dq, dk, dv = tz.ops.flash_attention_backward(qd, kd, vd, o, lse, dod, causal=causal)
            o, dq, dk, dv = (to_host(x, dtype) for x in (o, dq, dk, dv))
            ref = attention_reference(q, k, v, do, causal)
            what = f"flash_attention {np.dtype(dtype).name} {'causal ' if causal else ''}GQA {H}/{H_KV}"
            ok &= check(f"{what} fwd", o, ref["o"], bound, t)
            for name, got in (("dq", dq), ("dk", dk), ("dv", dv)):
                ok &= check(f"{what} {name}", got, ref[name], 2 * bound, t)

    # Cosine-similarity attention (kernels/cosine_sim_attention.py): q and k
    # L2-normalised inside the kernel, fixed scale 10, no running max.
    for dtype, bound in ((np.float16, 3e-3), (bfloat16, 3e-2)):
        if dtype is None:
            continue
        t = time.perf_counter()
        B, H, NQ, NK, D = 2, 4, 70, 90, 64
        q = rng.standard_normal((B, H, NQ, D)).astype(dtype)
        k, v = (rng.standard_normal((B, H, NK, D)).astype(dtype) for _ in range(2))
        o = to_host(tz.ops.cosine_sim_attention(*(to_device(x) for x in (q, k, v)), scale=10.0, causal=True), dtype)
        qn, kn = (x.astype(np.float64) / np.linalg.norm(x.astype(np.float64), axis=-1, keepdims=True) for x in (q, k))
        s = 10.0 * qn @ kn.transpose(0, 1, 3, 2)
        s = np.where(np.arange(NK)[None, :] <= np.arange(NQ)[:, None] + (NK - NQ), s, -np.inf)
        p = np.exp(s - s.max(-1, keepdims=True))
        ok &= check(f"cosine_sim_attention {np.dtype(dtype).name} causal fwd", o,
                    (p / p.sum(-1, keepdims=True)) @ v.astype(np.float64), bound, t)

    # Lightning attention (kernels/lightning_attention.py): causal linear
    # attention with a per-head decay, chunked with a carried float32 state;
    # the reference is the recurrence S_t = lambda S_{t-1} + k_t^T v_t,
    # o_t = q_t S_t / sqrt(D), step by step.
    for dtype, bound in ((np.float16, 4e-3), (bfloat16, 3e-2)):
        if dtype is None:
            continue
        t = time.perf_counter()
        B, H, N, D = 2, 4, 150, 64
        q, k, v = (rng.standard_normal((B, H, N, D)).astype(dtype) for _ in range(3))
        slopes = np.array([0.0, 0.02, 0.1, 0.5], np.float32)
        o = to_host(tz.ops.lightning_attention(*(to_device(x) for x in (q, k, v)), decay=to_device(slopes)), dtype)
        state = np.zeros((B, H, D, D))
        ref = np.zeros((B, H, N, D))
        lam = np.exp(-slopes.astype(np.float64))[None, :, None, None]
        for i in range(N):
            state = lam * state + k[:, :, i, :, None].astype(np.float64) * v[:, :, i, None, :].astype(np.float64)
            ref[:, :, i] = np.einsum("bhk,bhkv->bhv", q[:, :, i].astype(np.float64) / np.sqrt(D), state)
        ok &= check(f"lightning_attention {np.dtype(dtype).name} decay fwd", o, ref, bound, t)

    print("all checks passed" if ok else "SOME CHECKS FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
