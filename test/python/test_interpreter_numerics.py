"""Kernels run on the CPU interpreter, checked against numpy float64
references. Inputs are fresh random values (never zero), outputs are poisoned
before the launch so an element the kernel fails to write cannot pass, and
error bounds fit the dtype of the computation."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import (BF16, FLOAT_DTYPES, FLOAT_IDS, UNIT_ROUNDOFF, assert_close, assert_equal, assert_untouched,
                      locate, ml_dtypes, poisoned, random_ints, random_nonzero, rtol)

# A module-level constexpr global, used by `global_block_copy` below.
GBLOCK = tz.constexpr(64)
SCALE = tz.constexpr(3)


# ---------------------------------------------------------------------------
# vector add with a ragged tail
# ---------------------------------------------------------------------------

@tz.jit
def vadd(x_ptr, y_ptr, out_ptr, n, BLOCK: tz.constexpr):
    pid = tz.program_id(0)
    offs = pid * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    x = tz.load(x_ptr + offs, mask=mask)
    y = tz.load(y_ptr + offs, mask=mask)
    tz.store(out_ptr + offs, x + y, mask=mask)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_IDS)
@pytest.mark.parametrize("n,block", [(1000, 256), (1, 16), (129, 64), (4096, 1024)])
def test_vadd_ragged_tail(rng, dtype, n, block):
    cap = tz.cdiv(n, block) * block + 37  # buffers extend past the last block
    x = random_nonzero(rng, cap, dtype, signed=False)
    y = random_nonzero(rng, cap, dtype, signed=False)
    out = poisoned(cap, dtype)
    vadd[(tz.cdiv(n, block),)](x, y, out, n, BLOCK=block)
    assert_close(out[:n], x[:n].astype(np.float64) + y[:n].astype(np.float64), rtol(dtype))
    assert_untouched(out[n:], "out past n")


def test_vadd_grid_callable(rng):
    n = 777
    x, y = random_nonzero(rng, n), random_nonzero(rng, n)
    out = poisoned(n)
    vadd[lambda meta: (tz.cdiv(meta["n"], meta["BLOCK"]),)](x, y, out, n, BLOCK=128)
    assert_close(out, x.astype(np.float64) + y, rtol(np.float32))


# ---------------------------------------------------------------------------
# fused row softmax
# ---------------------------------------------------------------------------

@tz.jit
def softmax(out_ptr, x_ptr, in_stride, out_stride, n_cols, BLOCK: tz.constexpr):
    row = tz.program_id(0)
    cols = tz.arange(0, BLOCK)
    m = cols < n_cols
    v = tz.load(x_ptr + row * in_stride + cols, mask=m, other=-float("inf"))
    v = v - tz.max(v, axis=0)
    e = tz.exp(v)
    s = tz.sum(e, axis=0)
    tz.store(out_ptr + row * out_stride + cols, e / s, mask=m)


@pytest.mark.parametrize("rows,n_cols,block", [(7, 100, 128), (3, 1, 16), (5, 64, 64)])
def test_softmax(rng, rows, n_cols, block):
    x = random_nonzero(rng, (rows, n_cols + 3), np.float32, 0.1, 4.0)
    out = poisoned((rows, n_cols + 5))
    softmax[(rows,)](out, x, x.shape[1], out.shape[1], n_cols, BLOCK=block)
    ref = np.exp(x[:, :n_cols].astype(np.float64) - x[:, :n_cols].max(axis=1, keepdims=True))
    ref /= ref.sum(axis=1, keepdims=True)
    assert_close(out[:, :n_cols], ref, rtol(np.float32))
    assert_untouched(out[:, n_cols:], "columns past n_cols")


# ---------------------------------------------------------------------------
# tiled matmul
# ---------------------------------------------------------------------------

@tz.jit
def matmul(a, b, c, M, N, K, stride_am, stride_bk, stride_cm,
           BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr):
    pm = tz.program_id(0)
    pn = tz.program_id(1)
    rm = pm * BM + tz.arange(0, BM)
    rn = pn * BN + tz.arange(0, BN)
    rk = tz.arange(0, BK)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, K, BK):
        ka = k + rk
        x = tz.load(a + rm[:, None] * stride_am + ka[None, :],
                    mask=(rm[:, None] < M) & (ka[None, :] < K), other=0.0)
        y = tz.load(b + ka[:, None] * stride_bk + rn[None, :],
                    mask=(ka[:, None] < K) & (rn[None, :] < N), other=0.0)
        acc += tz.dot(x, y)
    tz.store(c + rm[:, None] * stride_cm + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_IDS)
@pytest.mark.parametrize("M,N,K,BM,BN,BK", [(37, 45, 70, 16, 32, 16), (16, 16, 16, 16, 16, 16),
                                            (5, 3, 33, 8, 4, 8)])
def test_matmul(rng, dtype, M, N, K, BM, BN, BK):
    a = random_nonzero(rng, (M, K), dtype)
    b = random_nonzero(rng, (K, N), dtype)
    c = poisoned((M, N + 2), dtype)  # a wider row: the extra columns must stay untouched
    grid = (tz.cdiv(M, BM), tz.cdiv(N, BN))
    matmul[grid](a, b, c, M, N, K, a.shape[1], b.shape[1], c.shape[1], BM=BM, BN=BN, BK=BK)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    # The accumulation is f32 (error ~ K * u32 * |A||B|), then the store rounds
    # to the output dtype (relative to |C| <= |A||B|).
    bound = K * 2.0**-24 + (rtol(dtype) if np.dtype(dtype) != np.float32 else 1e-6)
    assert_close(c[:, :N], a64 @ b64, bound, scale=np.abs(a64) @ np.abs(b64))
    assert_untouched(c[:, N:], "columns past N")


@tz.jit
def dot_variants(a, b, c_acc, c_t, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr):
    rm = tz.arange(0, BM)
    rn = tz.arange(0, BN)
    rk = tz.arange(0, BK)
    x = tz.load(a + rm[:, None] * BK + rk[None, :])
    y = tz.load(b + rk[:, None] * BN + rn[None, :])
    base = tz.full((BM, BN), 1.5, tz.float32)
    tz.store(c_acc + rm[:, None] * BN + rn[None, :], tz.dot(x, y, acc=base))
    # (y.T @ x.T).T == x @ y
    yt = y.T
    xt = tz.trans(x)
    tz.store(c_t + rm[:, None] * BN + rn[None, :], tz.dot(yt, xt).T)


def test_dot_acc_and_transpose(rng):
    BM, BN, BK = 16, 32, 8
    a = random_nonzero(rng, (BM, BK))
    b = random_nonzero(rng, (BK, BN))
    c1, c2 = poisoned((BM, BN)), poisoned((BM, BN))
    dot_variants[(1,)](a, b, c1, c2, BM=BM, BN=BN, BK=BK)
    ref = a.astype(np.float64) @ b
    scale = np.abs(a.astype(np.float64)) @ np.abs(b) + 1.5
    assert_close(c1, ref + 1.5, 1e-5, scale=scale)
    assert_close(c2, ref, 1e-5, scale=scale)


# ---------------------------------------------------------------------------
# layer norm forward
# ---------------------------------------------------------------------------

@tz.jit
def layernorm_fwd(x_ptr, y_ptr, w_ptr, b_ptr, mean_ptr, rstd_ptr, stride, N, eps, BLOCK: tz.constexpr):
    row = tz.program_id(0)
    cols = tz.arange(0, BLOCK)
    m = cols < N
    x = tz.load(x_ptr + row * stride + cols, mask=m, other=0.0).to(tz.float32)
    mean = tz.sum(x, axis=0) / N
    d = tz.where(m, x - mean, 0.0)
    var = tz.sum(d * d, axis=0) / N
    rstd = 1 / tz.sqrt(var + eps)
    w = tz.load(w_ptr + cols, mask=m)
    b = tz.load(b_ptr + cols, mask=m)
    tz.store(y_ptr + row * stride + cols, d * rstd * w + b, mask=m)
    tz.store(mean_ptr + row, mean)
    tz.store(rstd_ptr + row, rstd)


@pytest.mark.parametrize("rows,N,block", [(6, 100, 128), (3, 256, 256), (2, 7, 8)])
def test_layernorm_forward(rng, rows, N, block):
    eps = 1e-5
    x = random_nonzero(rng, (rows, N), np.float32, 0.5, 3.0)
    x += rng.uniform(-2, 2, size=(rows, 1)).astype(np.float32)  # a non-zero mean per row
    w = random_nonzero(rng, N)
    b = random_nonzero(rng, N)
    y = poisoned((rows, N))
    mean, rstd = poisoned(rows + 1), poisoned(rows + 1)
    layernorm_fwd[(rows,)](x, y, w, b, mean, rstd, N, N, eps, BLOCK=block)
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=1)
    var = ((x64 - mu[:, None]) ** 2).mean(axis=1)
    rs = 1 / np.sqrt(var + eps)
    norm = (x64 - mu[:, None]) * rs[:, None]
    assert_close(mean[:rows], mu, 1e-5, scale=np.abs(x64).mean(axis=1), what="mean")
    assert_close(rstd[:rows], rs, 1e-5, what="rstd")
    # x - mean carries an absolute error of a few ulps of |x|, which rstd scales
    assert_close(y, norm * w + b, 1e-5, scale=(np.abs(x64) * rs[:, None] + np.abs(norm)) * np.abs(w) + np.abs(b),
                 what="y")
    assert_untouched(mean[rows:])
    assert_untouched(rstd[rows:])


# ---------------------------------------------------------------------------
# reductions
# ---------------------------------------------------------------------------

@tz.jit
def reduce_2d(x_ptr, s0, s1, mx0, mx1, mn0, mn1, alls, R: tz.constexpr, C: tz.constexpr):
    r = tz.arange(0, R)
    c = tz.arange(0, C)
    x = tz.load(x_ptr + r[:, None] * C + c[None, :])
    tz.store(s0 + c, tz.sum(x, axis=0))
    tz.store(s1 + r, tz.sum(x, axis=1))
    tz.store(mx0 + c, tz.max(x, axis=0))
    tz.store(mx1 + r, x.max(axis=1))
    tz.store(mn0 + c, tz.min(x, axis=0))
    tz.store(mn1 + r, tz.min(x, axis=-1))
    tz.store(alls + 0, tz.sum(x))
    tz.store(alls + 1, tz.max(x, axis=None))
    tz.store(alls + 2, tz.min(x))
    # keep_dims keeps the reduced axis with size 1
    k = tz.sum(x, axis=1, keep_dims=True)
    tz.store(alls + 3 + r[:, None], k)


@tz.jit
def reduce_of_reduce(x_ptr, out, R: tz.constexpr, C: tz.constexpr):
    # On the GPU the row sums of x.T keep the transposed layout with the
    # reduced axis dropped, where several registers hold copies of one
    # element; the second sum must count each element once (and xor must
    # not cancel copies).
    r = tz.arange(0, R)
    c = tz.arange(0, C)
    xt = tz.load(x_ptr + r[:, None] * C + c[None, :]).T
    rows = tz.sum(xt, axis=1)
    tz.store(out + 0, tz.sum(rows))
    tz.store(out + 1, tz.max(rows))
    tz.store(out + 2, tz.sum(rows * rows))


def test_reduce_of_reduced_tile(rng):
    R, C = 32, 64
    x = random_nonzero(rng, (R, C), np.float32)
    out = poisoned(4, np.float32)
    reduce_of_reduce[(1,)](x, out, R=R, C=C)
    x64 = x.astype(np.float64)
    rows = x64.sum(axis=0)
    u = UNIT_ROUNDOFF[np.dtype(np.float32)]
    scale = np.abs(x64).sum()
    assert_close(out[0], rows.sum(), R * C * u, scale=scale, what="sum of row sums")
    assert_close(out[1], rows.max(), R * u, scale=np.abs(x64).sum(axis=0).max(), what="max of row sums")
    assert_close(out[2], (rows * rows).sum(), 4 * R * C * u, scale=(np.abs(x64).sum(axis=0) ** 2).sum(),
                 what="sum of squared row sums")
    assert_untouched(out[3:])


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.float16], ids=["f32", "i32", "f16"])
def test_reductions_2d(rng, dtype):
    R, C = 8, 16
    if np.dtype(dtype).kind == "i":
        x = random_ints(rng, (R, C), -1000, 1000, dtype)
    else:
        x = random_nonzero(rng, (R, C), dtype)
    outs = [poisoned(n, dtype) for n in (C, R, C, R, C, R, 3 + R + 1)]
    reduce_2d[(1,)](x, *outs, R=R, C=C)
    s0, s1, mx0, mx1, mn0, mn1, alls = outs
    x64 = x.astype(np.float64)
    if np.dtype(dtype).kind == "i":
        check = assert_equal
        check(s0, x.sum(axis=0, dtype=np.int64).astype(dtype))
        check(s1, x.sum(axis=1, dtype=np.int64).astype(dtype))
        check(alls[0], np.array(x.sum(), dtype))
        check(alls[3:3 + R], x.sum(axis=1).astype(dtype))
    else:
        # summing n values in `dtype`: at most n roundings, each relative to
        # sum |x| (the classic bound for recursive summation)
        u = UNIT_ROUNDOFF[np.dtype(dtype)]
        ax = np.abs(x64)
        assert_close(s0, x64.sum(axis=0), R * u, scale=ax.sum(axis=0), what="sum axis 0")
        assert_close(s1, x64.sum(axis=1), C * u, scale=ax.sum(axis=1), what="sum axis 1")
        assert_close(alls[0], x64.sum(), R * C * u, scale=ax.sum(), what="sum all")
        assert_close(alls[3:3 + R], x64.sum(axis=1), C * u, scale=ax.sum(axis=1), what="keep_dims")
    assert_equal(mx0, x.max(axis=0), "max axis 0")
    assert_equal(mx1, x.max(axis=1), "max axis 1")
    assert_equal(mn0, x.min(axis=0), "min axis 0")
    assert_equal(mn1, x.min(axis=1), "min axis -1")
    assert_equal(alls[1], x.max(), "max all")
    assert_equal(alls[2], x.min(), "min all")
    assert_untouched(alls[3 + R:])


@tz.jit
def masked_reductions(x_ptr, out, R, C, stride, BR: tz.constexpr, BC: tz.constexpr):
    r = tz.arange(0, BR)
    c = tz.arange(0, BC)
    m = (r[:, None] < R) & (c[None, :] < C)
    p = x_ptr + r[:, None] * stride + c[None, :]
    tz.store(out + 0, tz.sum(tz.load(p, mask=m, other=0.0)))
    tz.store(out + 1, tz.max(tz.load(p, mask=m, other=-float("inf"))))
    tz.store(out + 2, tz.min(tz.load(p, mask=m, other=float("inf"))))


def test_masked_reductions(rng):
    R, C = 5, 11
    x = random_nonzero(rng, (R, C + 2))
    out = poisoned(4)
    masked_reductions[(1,)](x, out, R, C, x.shape[1], BR=8, BC=16)
    v = x[:, :C].astype(np.float64)
    assert_close(out[0], v.sum(), 1e-5, scale=np.abs(v).sum())
    assert_equal(out[1], np.float32(v.max()))
    assert_equal(out[2], np.float32(v.min()))
    assert_untouched(out[3:])


@tz.jit
def arg_reductions(x_ptr, amax0, amax1, amin0, amin1, vmax1, imax1, R: tz.constexpr, C: tz.constexpr):
    r = tz.arange(0, R)
    c = tz.arange(0, C)
    x = tz.load(x_ptr + r[:, None] * C + c[None, :])
    tz.store(amax0 + c, tz.argmax(x, axis=0))
    tz.store(amax1 + r, tz.argmax(x, 1))
    tz.store(amin0 + c, tz.argmin(x, axis=0))
    tz.store(amin1 + r, x.argmin(axis=1))
    v, i = tz.max(x, axis=1, return_indices=True)
    tz.store(vmax1 + r, v)
    tz.store(imax1 + r, i)


@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("dtype", [np.float32, np.int32], ids=["f32", "i32"])
def test_argmax_argmin(rng, dtype, ties):
    R, C = 8, 16
    if ties:  # few distinct values: the first index of the extreme must win
        x = random_ints(rng, (R, C), -3, 4).astype(dtype)
    else:
        x = (rng.permutation(R * C).reshape(R, C) - 60).astype(dtype)
        x[x == 0] = 1000
    outs = [poisoned(n, np.int32) for n in (C, R, C, R)] + [poisoned(R, dtype), poisoned(R, np.int32)]
    arg_reductions[(1,)](x, *outs, R=R, C=C)
    amax0, amax1, amin0, amin1, vmax1, imax1 = outs
    assert_equal(amax0, np.argmax(x, axis=0).astype(np.int32), "argmax axis 0")
    assert_equal(amax1, np.argmax(x, axis=1).astype(np.int32), "argmax axis 1")
    assert_equal(amin0, np.argmin(x, axis=0).astype(np.int32), "argmin axis 0")
    assert_equal(amin1, np.argmin(x, axis=1).astype(np.int32), "argmin axis 1")
    assert_equal(vmax1, x.max(axis=1), "max values")
    assert_equal(imax1, np.argmax(x, axis=1).astype(np.int32), "max indices")


@tz.jit
def cumsums(x_ptr, i_ptr, c1, c0, crev, ci, R: tz.constexpr, C: tz.constexpr):
    r = tz.arange(0, R)
    c = tz.arange(0, C)
    offs = r[:, None] * C + c[None, :]
    x = tz.load(x_ptr + offs)
    tz.store(c1 + offs, tz.cumsum(x, axis=1))
    tz.store(c0 + offs, x.cumsum(axis=0))
    tz.store(crev + offs, tz.cumsum(x, axis=1, reverse=True))
    tz.store(ci + c, tz.cumsum(tz.load(i_ptr + c)))


def test_cumsum(rng):
    R, C = 4, 32
    x = random_nonzero(rng, (R, C))
    xi = random_ints(rng, C, -50, 50)
    c1, c0, crev = poisoned((R, C)), poisoned((R, C)), poisoned((R, C))
    ci = poisoned(C, np.int32)
    cumsums[(1,)](x, xi, c1, c0, crev, ci, R=R, C=C)
    x64 = np.abs(x.astype(np.float64))
    assert_close(c1, np.cumsum(x.astype(np.float64), axis=1), 1e-5, scale=np.cumsum(x64, axis=1), what="axis 1")
    assert_close(c0, np.cumsum(x.astype(np.float64), axis=0), 1e-5, scale=np.cumsum(x64, axis=0), what="axis 0")
    rev = np.cumsum(x.astype(np.float64)[:, ::-1], axis=1)[:, ::-1]
    assert_close(crev, rev, 1e-5, scale=np.cumsum(x64[:, ::-1], axis=1)[:, ::-1], what="reverse")
    assert_equal(ci, np.cumsum(xi).astype(np.int32), "int cumsum")


# ---------------------------------------------------------------------------
# control flow with run-time conditions
# ---------------------------------------------------------------------------

@tz.jit
def collatz_and_classify(x_ptr, steps_ptr, cls_ptr, half_ptr):
    pid = tz.program_id(0)
    n = tz.load(x_ptr + pid)
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    tz.store(steps_ptr + pid, steps)
    v = tz.load(x_ptr + pid)
    if v < 10:
        c = 0
        k = v * 2
    elif v < 100:
        c = 1
        k = v + 1000
    else:
        c = 2
        k = -v
    tz.store(cls_ptr + pid, c * 100000 + k)
    # a float while loop: halve until below 1
    f = v.to(tz.float32)
    halvings = 0
    while f >= 1.0:
        f = f * 0.5
        halvings = halvings + 1
    tz.store(half_ptr + pid, halvings)


def _collatz_steps(n):
    s = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        s += 1
    return s


def test_while_and_if_elif_else(rng):
    x = np.concatenate([[1, 2, 9, 10, 99, 100, 27], random_ints(rng, 25, 1, 500)]).astype(np.int32)
    g = x.size
    steps, cls, halves = poisoned(g, np.int32), poisoned(g, np.int32), poisoned(g, np.int32)
    collatz_and_classify[(g,)](x, steps, cls, halves)
    assert_equal(steps, np.array([_collatz_steps(int(v)) for v in x], np.int32), "collatz steps")
    ref = np.where(x < 10, 2 * x, np.where(x < 100, 100000 + x + 1000, 200000 - x)).astype(np.int32)
    assert_equal(cls, ref, "if/elif/else")
    assert_equal(halves, np.floor(np.log2(x)).astype(np.int32) + 1, "float while")


@tz.jit
def dynamic_if_tiles(x_ptr, out_ptr, flag, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    acc = tz.zeros((BLOCK,), dtype=tz.float32)
    for i in range(0, flag):
        if i % 3 == 0:
            acc = acc + x
        elif i % 3 == 1:
            acc = acc - 2 * x
        else:
            acc = tz.maximum(acc, x)
    tz.store(out_ptr + offs, acc)


@pytest.mark.parametrize("trips", [0, 1, 5, 7])
def test_loop_with_dynamic_if(rng, trips):
    x = random_nonzero(rng, 32)
    out = poisoned(32)
    dynamic_if_tiles[(1,)](x, out, trips, BLOCK=32)
    acc = np.zeros(32, np.float32)
    for i in range(trips):
        acc = acc + x if i % 3 == 0 else (acc - 2 * x if i % 3 == 1 else np.maximum(acc, x))
    assert_close(out, acc, 1e-6, scale=np.abs(x) * 4)


# ---------------------------------------------------------------------------
# casts
# ---------------------------------------------------------------------------

@tz.jit
def round_trip(x_ptr, out_ptr, n, DT: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    m = offs < n
    x = tz.load(x_ptr + offs, mask=m)
    tz.store(out_ptr + offs, x.to(DT).to(tz.float32), mask=m)


def _cast_inputs(rng):
    v = random_nonzero(rng, 500, np.float64, 1e-3, 1e3).astype(np.float32)
    special = np.array([1.0, -1.0, 65504.0, 65520.0, 70000.0, -70000.0, 6e-8, 1e-5, -3e-6, 2.0**-24,
                        1 + 2.0**-11, 1 + 3 * 2.0**-11, 1 + 2.0**-8, 1 + 3 * 2.0**-8, 3.4e38, -1e-40,
                        np.inf, -np.inf, np.nan], np.float32)
    return np.concatenate([special, v])


def test_cast_f32_f16_f32(rng):
    x = _cast_inputs(rng)
    out = poisoned(x.size + 3)
    round_trip[(tz.cdiv(x.size, 128),)](x, out, x.size, DT=tz.float16, BLOCK=128)
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16).astype(np.float32)
    assert_equal(out[:x.size], ref, "f32 -> f16 -> f32")
    assert_untouched(out[x.size:])


@pytest.mark.skipif(ml_dtypes is None, reason="needs ml_dtypes")
def test_cast_f32_bf16_f32(rng):
    x = _cast_inputs(rng)
    out = poisoned(x.size)
    round_trip[(tz.cdiv(x.size, 128),)](x, out, x.size, DT=tz.bfloat16, BLOCK=128)
    assert_equal(out, x.astype(ml_dtypes.bfloat16).astype(np.float32), "f32 -> bf16 -> f32")


@tz.jit
def store_converts(x_ptr, h_ptr, b_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    tz.store(h_ptr + offs, x)  # the store rounds to the pointee type
    tz.store(b_ptr + offs, x)


@pytest.mark.skipif(ml_dtypes is None, reason="needs ml_dtypes")
def test_store_rounds_to_pointee(rng):
    x = _cast_inputs(rng)[:256]
    h, b = poisoned(256, np.float16), poisoned(256, BF16)
    store_converts[(1,)](x, h, b, BLOCK=256)
    with np.errstate(over="ignore"):
        assert_equal(h, x.astype(np.float16), "store into f16")
    assert_equal(b, x.astype(BF16), "store into bf16")


@tz.jit
def int_float_casts(i_ptr, f_ptr, i2f_ptr, f2i_ptr, f2i8_ptr, div_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    i = tz.load(i_ptr + offs)
    f = tz.load(f_ptr + offs)
    tz.store(i2f_ptr + offs, i.to(tz.float32))
    tz.store(f2i_ptr + offs, f.to(tz.int32))
    tz.store(f2i8_ptr + offs, tz.cast(f, tz.int16))
    tz.store(div_ptr + offs, i / 7)  # int / int is true division in f32


def test_int_float_casts(rng):
    B = 64
    i = random_ints(rng, B, -(2**30), 2**30)
    i[:4] = [2**24 + 1, -(2**24 + 3), 16777217 * 3, 7]
    f = random_nonzero(rng, B, np.float64, 0.1, 30000.0).astype(np.float32)
    f[:6] = [-2.7, 2.7, -0.5, 0.999, -32000.9, 1.0]
    i2f, f2i, f2i16, div = poisoned(B), poisoned(B, np.int32), poisoned(B, np.int16), poisoned(B)
    int_float_casts[(1,)](i, f, i2f, f2i, f2i16, div, BLOCK=B)
    assert_equal(i2f, i.astype(np.float32), "int -> float")
    assert_equal(f2i, np.trunc(f).astype(np.int32), "float -> int truncates")
    assert_equal(f2i16, np.trunc(f).astype(np.int16), "float -> int16 truncates")
    assert_close(div, i.astype(np.float64) / 7, 2e-7 * 2)


# ---------------------------------------------------------------------------
# atomics
# ---------------------------------------------------------------------------

@tz.jit
def histogram(x_ptr, hist_ptr, n, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    m = offs < n
    v = tz.load(x_ptr + offs, mask=m)
    tz.atomic_add(hist_ptr + v, 1, mask=m)


def test_atomic_histogram(rng):
    n, bins = 3001, 37
    x = random_ints(rng, n, 0, bins, nonzero=False)
    hist = np.zeros(bins + 1, np.int32)
    hist[bins] = -5  # a neighbour that no program may touch
    histogram[(tz.cdiv(n, 128),)](x, hist, n, BLOCK=128)
    assert_equal(hist[:bins], np.bincount(x, minlength=bins).astype(np.int32))
    assert hist[bins] == -5


@tz.jit
def global_sum(x_ptr, acc_ptr, ticket_ptr, n, BLOCK: tz.constexpr):
    pid = tz.program_id(0)
    offs = pid * BLOCK + tz.arange(0, BLOCK)
    v = tz.load(x_ptr + offs, mask=offs < n, other=0.0)
    tz.atomic_add(acc_ptr, tz.sum(v, axis=0))
    old = tz.atomic_add(ticket_ptr, 1)
    tz.store(ticket_ptr + 1 + pid, old)


def test_atomic_global_sum(rng):
    n, block = 5000, 256
    g = tz.cdiv(n, block)
    x = random_nonzero(rng, n, signed=False)
    acc = np.array([0.0, np.nan], np.float32)
    tickets = np.concatenate([[0], poisoned(g, np.int32)]).astype(np.int32)
    global_sum[(g,)](x, acc, tickets, n, BLOCK=block)
    assert_close(acc[0], x.astype(np.float64).sum(), 1e-5)
    assert np.isnan(acc[1])
    assert tickets[0] == g
    # atomic_add returns the previous value: every program got a distinct ticket
    assert_equal(np.sort(tickets[1:]), np.arange(g, dtype=np.int32))


@tz.jit
def atomic_minmax(x_ptr, out_ptr, n, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    m = offs < n
    v = tz.load(x_ptr + offs, mask=m)
    tz.atomic_max(out_ptr + tz.zeros((BLOCK,), dtype=tz.int32), v, mask=m)
    tz.atomic_min(out_ptr + 1 + tz.zeros((BLOCK,), dtype=tz.int32), v, mask=m)


def test_atomic_max_min(rng):
    n = 1000
    x = random_ints(rng, n, -10**6, 10**6)
    out = np.array([np.iinfo(np.int32).min, np.iinfo(np.int32).max], np.int32)
    atomic_minmax[(tz.cdiv(n, 64),)](x, out, n, BLOCK=64)
    assert out[0] == x.max() and out[1] == x.min()


# ---------------------------------------------------------------------------
# calling jit functions
# ---------------------------------------------------------------------------

@tz.jit
def _affine(x, scale, shift=1.0, SQUARE: tz.constexpr = False):
    y = x * scale + shift
    if SQUARE:
        y = y * y
    return y


@tz.jit
def _sum_and_prod(a, b):
    return a + b, a * b


@tz.jit
def call_helpers(x_ptr, y_ptr, out_ptr, n, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    m = offs < n
    x = tz.load(x_ptr + offs, mask=m)
    y = tz.load(y_ptr + offs, mask=m)
    tz.store(out_ptr + offs, _affine(x, 2.0), mask=m)  # default shift
    tz.store(out_ptr + n + offs, _affine(x, shift=-1.0, scale=3.0), mask=m)  # keywords
    tz.store(out_ptr + 2 * n + offs, _affine(x, 0.5, SQUARE=True), mask=m)  # constexpr keyword
    s, p = _sum_and_prod(x, y)  # a tuple return, unpacked
    tz.store(out_ptr + 3 * n + offs, s, mask=m)
    pair = _sum_and_prod(y, 2.0)
    tz.store(out_ptr + 4 * n + offs, pair[1] - pair[0], mask=m)


def test_call_jit_functions(rng):
    n = 300
    x, y = random_nonzero(rng, n), random_nonzero(rng, n)
    out = poisoned(5 * n + 1)
    call_helpers[(tz.cdiv(n, 128),)](x, y, out, n, BLOCK=128)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    r = out[:5 * n].reshape(5, n)
    assert_close(r[0], 2 * x64 + 1, rtol(np.float32, 2), scale=2 * np.abs(x64) + 1)
    assert_close(r[1], 3 * x64 - 1, rtol(np.float32, 2), scale=3 * np.abs(x64) + 1)
    assert_close(r[2], (0.5 * x64 + 1) ** 2, rtol(np.float32, 3), scale=(0.5 * np.abs(x64) + 1) ** 2)
    assert_close(r[3], x64 + y64, rtol(np.float32), scale=np.abs(x64) + np.abs(y64))
    assert_close(r[4], 2 * y64 - (y64 + 2), rtol(np.float32, 2), scale=3 * np.abs(y64) + 2)
    assert_untouched(out[5 * n:])


@tz.jit
def _relu(x):
    return tz.maximum(x, 0.0)


@tz.jit
def _square(x):
    return x * x


@tz.jit
def apply_act(x_ptr, out_ptr, n, ACT: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    m = offs < n
    tz.store(out_ptr + offs, ACT(tz.load(x_ptr + offs, mask=m)), mask=m)


def test_jit_function_as_constexpr(rng):
    n = 200
    x = random_nonzero(rng, n)
    before = apply_act._kernel.num_specializations
    out1, out2 = poisoned(n), poisoned(n)
    apply_act[(2,)](x, out1, n, ACT=_relu, BLOCK=128)
    apply_act[(2,)](x, out2, n, _square, 128)
    assert_equal(out1, np.maximum(x, 0), "relu")
    assert_close(out2, x.astype(np.float64) ** 2, rtol(np.float32))
    assert apply_act._kernel.num_specializations == before + 2
    out3 = poisoned(n)
    apply_act[(2,)](x, out3, n, ACT=_relu, BLOCK=128)  # cached
    assert apply_act._kernel.num_specializations == before + 2
    assert_equal(out3, out1)


# ---------------------------------------------------------------------------
# broadcasting, transposes, elementwise math
# ---------------------------------------------------------------------------

@tz.jit
def outer(x_ptr, y_ptr, out_ptr, outT_ptr, M: tz.constexpr, N: tz.constexpr):
    i = tz.arange(0, M)
    j = tz.arange(0, N)
    x = tz.load(x_ptr + i)
    y = tz.load(y_ptr + j)
    z = x[:, None] * 2.0 + y[None, :]
    tz.store(out_ptr + i[:, None] * N + j[None, :], z)
    tz.store(outT_ptr + j[:, None] * M + i[None, :], z.T)


def test_broadcast_and_transpose(rng):
    M, N = 8, 32
    x, y = random_nonzero(rng, M), random_nonzero(rng, N)
    out, outT = poisoned((M, N)), poisoned((N, M))
    outer[(1,)](x, y, out, outT, M=M, N=N)
    ref = x.astype(np.float64)[:, None] * 2 + y[None, :]
    scale = 2 * np.abs(x.astype(np.float64))[:, None] + np.abs(y)[None, :]
    assert_close(out, ref, rtol(np.float32), scale=scale)
    assert_equal(outT, out.T)


@tz.jit
def elementwise_math(x_ptr, y_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    y = tz.load(y_ptr + offs)
    ax = tz.abs(x)
    outs = (tz.where(x > y, x, y), tz.maximum(x, y), tz.minimum(x, y), tz.exp(x), tz.log(ax),
            tz.sqrt(ax), tz.sigmoid(x), tz.where(x > 0, 1.0, y), ax.to(tz.float32), -x)
    for k in tz.static_range(len(outs)):
        tz.store(out_ptr + k * BLOCK + offs, outs[k])


@pytest.mark.parametrize("dtype", FLOAT_DTYPES, ids=FLOAT_IDS)
def test_elementwise_math(rng, dtype):
    B = 128
    x = random_nonzero(rng, B, dtype, 0.05, 4.0)
    y = random_nonzero(rng, B, dtype, 0.05, 4.0)
    out = poisoned((10, B), dtype)
    elementwise_math[(1,)](x, y, out, BLOCK=B)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    assert_equal(out[0], np.where(x64 > y64, x, y).astype(dtype), "where")
    assert_equal(out[1], np.maximum(x, y), "maximum")
    assert_equal(out[2], np.minimum(x, y), "minimum")
    assert_close(out[3], np.exp(x64), rtol(dtype), what="exp")
    # log near 1 loses relative accuracy: bound relative to the input scale
    assert_close(out[4], np.log(np.abs(x64)), rtol(dtype), scale=np.maximum(np.abs(np.log(np.abs(x64))), 1),
                 what="log")
    assert_close(out[5], np.sqrt(np.abs(x64)), rtol(dtype), what="sqrt")
    assert_close(out[6], 1 / (1 + np.exp(-x64)), rtol(dtype, 3), what="sigmoid")
    assert_equal(out[7], np.where(x64 > 0, 1.0, y64).astype(dtype), "where with a number")
    assert_equal(out[8], np.abs(x), "abs")
    assert_equal(out[9], -x, "neg")


@tz.jit
def int_div_mod(a_ptr, b_ptr, q_ptr, r_ptr, q2_ptr, r2_ptr, cq_ptr, BLOCK: tz.constexpr, A: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    a = tz.load(a_ptr + offs)
    b = tz.load(b_ptr + offs)
    tz.store(q_ptr + offs, a // b)
    tz.store(r_ptr + offs, a % b)
    tz.store(q2_ptr + offs, a // 2)
    tz.store(r2_ptr + offs, a % 2)
    # compile-time integers keep Python's floor semantics
    tz.store(cq_ptr + offs, tz.zeros((BLOCK,), dtype=tz.int32) + (A // 2) * 10 + A % 2)


def test_int_floordiv_mod_truncate(rng):
    B = 128
    a = random_ints(rng, B, -10**6, 10**6)
    b = random_ints(rng, B, -50, 50)
    a[:6] = [-7, 7, -7, 7, -1, 6]
    b[:6] = [2, -2, -2, 2, 3, -4]
    q, r, q2, r2 = (poisoned(B, np.int32) for _ in range(4))
    cq = poisoned(B, np.int32)
    int_div_mod[(1,)](a, b, q, r, q2, r2, cq, BLOCK=B, A=-7)
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    tq = np.sign(a64) * np.sign(b64) * (np.abs(a64) // np.abs(b64))  # C: truncate toward zero
    assert q[0] == -3 and r[0] == -1  # -7 // 2 == -3, -7 % 2 == -1 as in C
    assert_equal(q, tq.astype(np.int32), "a // b")
    assert_equal(r, np.fmod(a64, b64).astype(np.int32), "a % b")
    assert_equal(r, (a64 - tq * b64).astype(np.int32), "a == (a // b) * b + a % b")
    assert_equal(q2, np.trunc(a64 / 2).astype(np.int32), "a // 2")
    assert_equal(r2, np.fmod(a64, 2).astype(np.int32), "a % 2")
    assert_equal(cq, np.full(B, (-7 // 2) * 10 + (-7 % 2), np.int32), "constexpr -7 // 2, -7 % 2")


# ---------------------------------------------------------------------------
# compile-time features
# ---------------------------------------------------------------------------

@tz.jit
def unrolled_rows(x_ptr, out_ptr, ROWS: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    acc = tz.zeros((BLOCK,), dtype=tz.float32)
    for i in tz.static_range(ROWS):
        acc += tz.load(x_ptr + i * BLOCK + offs) * (i + 1)
    tz.store(out_ptr + offs, acc)


def test_static_range_unrolls(rng):
    x = random_nonzero(rng, (4, 32), signed=False)
    out = poisoned(32)
    unrolled_rows[(1,)](x, out, ROWS=4, BLOCK=32)
    w = np.arange(1, 5, dtype=np.float64)[:, None]
    assert_close(out, (x.astype(np.float64) * w).sum(axis=0), rtol(np.float32, 4))
    ir = unrolled_rows.ir(x, out, ROWS=4, BLOCK=32)
    assert "scf.for" not in ir
    assert ir.count("tz.load") == 4


@tz.jit
def constexpr_branches(x_ptr, out_ptr, MODE: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    if MODE == 0:
        y = x + 1
    elif MODE == 1:
        y = x * x
    else:
        y = -x
    if MODE > 5 and undefined_name_never_compiled:  # noqa: F821 - short-circuits at compile time
        y = x
    tz.store(out_ptr + offs, y)


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_constexpr_if(rng, mode):
    x = random_nonzero(rng, 16)
    out = poisoned(16)
    constexpr_branches[(1,)](x, out, MODE=mode, BLOCK=16)
    x64 = x.astype(np.float64)
    ref = [x64 + 1, x64 * x64, -x64][mode]
    assert_close(out, ref, rtol(np.float32), scale=np.abs(x64) + np.abs(ref) + 1)
    assert "scf.if" not in constexpr_branches.ir(x, out, MODE=mode, BLOCK=16)


@tz.jit
def global_block_copy(x_ptr, out_ptr):
    offs = tz.program_id(0) * GBLOCK + tz.arange(0, GBLOCK)
    tz.store(out_ptr + offs, tz.load(x_ptr + offs) * SCALE)


def test_module_constexpr_globals(rng):
    x = random_nonzero(rng, 3 * 64)
    out = poisoned(3 * 64)
    global_block_copy[(3,)](x, out)
    assert_close(out, x.astype(np.float64) * 3, rtol(np.float32))


@tz.jit
def grid_2d(out_ptr, stride):
    i = tz.program_id(0)
    j = tz.program_id(1)
    gi = tz.num_programs(0)
    gj = tz.num_programs(1)
    tz.store(out_ptr + j * stride + i, i * 1000 + j * 10 + (gi * gj == 12))


@tz.jit
def grid_3d(out_ptr):
    i = tz.program_id(0)
    j = tz.program_id(1)
    k = tz.program_id(2)
    lin = (k * tz.num_programs(1) + j) * tz.num_programs(0) + i
    tz.store(out_ptr + lin, lin * 10 + tz.num_programs(2))


def test_2d_grid_program_id_and_num_programs():
    gi, gj = 4, 3
    out = poisoned((gj, gi + 1), np.int32)
    grid_2d[(gi, gj)](out, out.shape[1])
    ii, jj = np.meshgrid(np.arange(gi), np.arange(gj))
    assert_equal(out[:, :gi], (ii * 1000 + jj * 10 + 1).astype(np.int32))
    assert_untouched(out[:, gi:])
    out3 = poisoned(2 * 3 * 5 + 1, np.int32)
    grid_3d[(2, 3, 5)](out3)
    assert_equal(out3[:30], np.arange(30, dtype=np.int32) * 10 + 5)
    assert_untouched(out3[30:])


def test_empty_grid_runs_nothing():
    out = poisoned((2, 2), np.int32)
    grid_2d[(0, 2)](out, 2)
    assert_untouched(out)


# ---------------------------------------------------------------------------
# device_print and out-of-bounds accesses
# ---------------------------------------------------------------------------

@tz.jit
def printer(x_ptr, BLOCK: tz.constexpr):
    pid = tz.program_id(0)
    x = tz.load(x_ptr + pid * BLOCK + tz.arange(0, BLOCK))
    tz.device_print("vals", x)
    tz.device_print("pid", pid)


@pytest.mark.interpreter_only("the GPU prints one line per element: test_gpu_runtime checks it")
def test_device_print(capfd):
    x = np.arange(8, dtype=np.int32)
    printer[(2,)](x, BLOCK=4)
    out = capfd.readouterr().out
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines == ["pid (0, 0, 0) vals [0, 1, 2, 3]", "pid (0, 0, 0) pid 0",
                     "pid (1, 0, 0) vals [4, 5, 6, 7]", "pid (1, 0, 0) pid 1"], out


@tz.jit
def unmasked_load(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(x_ptr + offs)
    tz.store(out_ptr + offs, v)


@tz.jit
def masked_load(x_ptr, out_ptr, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(x_ptr + offs, mask=offs < n, other=-1.0)
    tz.store(out_ptr + offs, v)


@tz.jit
def unmasked_store(x_ptr, out_ptr, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(x_ptr + offs, mask=offs < n, other=0.0)
    tz.store(out_ptr + offs, v)


@pytest.mark.interpreter_only("bounds checks are the interpreter's")
def test_out_of_bounds_load_names_source_line(rng):
    x = random_nonzero(rng, 10)
    out = poisoned(16)
    with pytest.raises(tz.CompilationError) as info:
        unmasked_load[(1,)](x, out, BLOCK=16)
    filename, line, col, text = locate(unmasked_load, "tz.load(")
    msg = str(info.value)
    assert msg.startswith(f"{filename}:{line}:{col}: error: "), msg
    assert "out-of-bounds load" in msg.splitlines()[0], msg
    assert msg.splitlines()[1] == text
    assert msg.splitlines()[2] == " " * (col - 1) + "^"


@pytest.mark.interpreter_only("bounds checks are the interpreter's")
def test_out_of_bounds_store_names_source_line(rng):
    x = random_nonzero(rng, 16)
    out = poisoned(10)
    with pytest.raises(tz.CompilationError) as info:
        unmasked_store[(1,)](x, out, 10, BLOCK=16)
    filename, line, col, text = locate(unmasked_store, "tz.store(")
    msg = str(info.value)
    assert msg.startswith(f"{filename}:{line}:{col}: error: "), msg
    assert "out-of-bounds store" in msg.splitlines()[0], msg
    assert msg.splitlines()[1] == text


def test_masked_off_out_of_bounds_lanes_do_not_raise(rng):
    n = 10
    x = random_nonzero(rng, n)
    out = poisoned(16)
    masked_load[(1,)](x, out, n, BLOCK=16)
    assert_equal(out[:n], x)
    assert_equal(out[n:], np.full(16 - n, -1.0, np.float32), "other= for masked-off lanes")


# ---------------------------------------------------------------------------
# more builtins: math, integer and bitwise arithmetic, shapes, atomics
# ---------------------------------------------------------------------------

@tz.jit
def more_math(x_ptr, y_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    y = tz.load(y_ptr + offs)
    ax = tz.abs(x)
    outs = (tz.exp2(x), tz.log2(ax), tz.rsqrt(ax), tz.tanh(x), tz.erf(x), tz.floor(x), tz.ceil(x),
            tz.sin(x), tz.cos(x), tz.fma(x, y, 0.25), tz.clamp(x, -0.5, 0.75), x % y, x / y,
            x ** 2, tz.fdiv(x, y), -x if BLOCK > 1 else x)
    for k in tz.static_range(len(outs)):
        tz.store(out_ptr + k * BLOCK + offs, outs[k])


def test_more_math(rng):
    B = 64
    x = random_nonzero(rng, B, np.float32, 0.05, 3.0)
    y = random_nonzero(rng, B, np.float32, 0.3, 2.0)
    out = poisoned((16, B))
    more_math[(1,)](x, y, out, BLOCK=B)
    import math
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    ax = np.abs(x64)
    tol = rtol(np.float32)
    assert_close(out[0], np.exp2(x64), tol, what="exp2")
    assert_close(out[1], np.log2(ax), tol, scale=np.maximum(np.abs(np.log2(ax)), 1), what="log2")
    assert_close(out[2], 1 / np.sqrt(ax), tol, what="rsqrt")
    assert_close(out[3], np.tanh(x64), tol, what="tanh")
    assert_close(out[4], np.array([math.erf(v) for v in x64]), tol, what="erf")
    assert_equal(out[5], np.floor(x), "floor")
    assert_equal(out[6], np.ceil(x), "ceil")
    assert_close(out[7], np.sin(x64), tol, scale=np.maximum(np.abs(np.sin(x64)), 1e-2), what="sin")
    assert_close(out[8], np.cos(x64), tol, scale=np.maximum(np.abs(np.cos(x64)), 1e-2), what="cos")
    assert_close(out[9], x64 * y64 + 0.25, tol, scale=np.abs(x64 * y64) + 0.25, what="fma")
    assert_equal(out[10], np.clip(x, -0.5, 0.75), "clamp")
    assert_equal(out[11], np.fmod(x, y), "float % is fmod (sign of the dividend)")
    assert_close(out[12], x64 / y64, tol, what="/")
    assert_close(out[13], x64 ** 2, tol, what="**")
    assert_close(out[14], x64 / y64, tol, what="fdiv")
    assert_equal(out[15], -x, "conditional expression on a constexpr")


@tz.jit
def int_ops(a_ptr, b_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    a = tz.load(a_ptr + offs)
    b = tz.load(b_ptr + offs)
    outs = (a * b, a + b, a - b, a & b, a | b, a ^ b, a >> 3, a << 2, ~a, -a,
            tz.maximum(a, b), tz.minimum(a, b), tz.where(a < b, a, b), (a == b) | (a > 0))
    for k in tz.static_range(len(outs)):
        tz.store(out_ptr + k * BLOCK + offs, outs[k])


@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.int16, np.int64], ids=["i32", "i8", "i16", "i64"])
def test_integer_wraparound_and_bitwise(rng, dtype):
    B = 64
    info = np.iinfo(dtype)
    a = rng.integers(info.min, info.max, size=B, dtype=np.int64, endpoint=True).astype(dtype)
    b = rng.integers(info.min, info.max, size=B, dtype=np.int64, endpoint=True).astype(dtype)
    a[a == 0] = 1
    b[b == 0] = -1
    b[:2] = a[:2]
    out = poisoned((14, B), dtype)
    int_ops[(1,)](a, b, out, BLOCK=B)
    with np.errstate(over="ignore"):
        refs = [a * b, a + b, a - b, a & b, a | b, a ^ b, a >> 3, (a.astype(np.int64) << 2).astype(dtype),
                ~a, -a, np.maximum(a, b), np.minimum(a, b), np.where(a < b, a, b),
                ((a == b) | (a > 0)).astype(dtype)]
    names = ["*", "+", "-", "&", "|", "^", ">>", "<<", "~", "neg", "maximum", "minimum", "where", "cmp"]
    for k, (ref, name) in enumerate(zip(refs, names)):
        assert_equal(out[k], np.asarray(ref, dtype), f"{np.dtype(dtype).name} {name}")


@tz.jit
def shapes(x_ptr, out_ptr, R: tz.constexpr, C: tz.constexpr):
    r = tz.arange(0, R)
    c = tz.arange(0, C)
    x = tz.load(x_ptr + r[:, None] * C + c[None, :])            # (R, C)
    flat = tz.reshape(x, (R * C,))                             # row-major
    tz.store(out_ptr + tz.arange(0, R * C), flat * 2)
    x3 = tz.expand_dims(x, 0)                                  # (1, R, C)
    p = tz.permute(tz.broadcast_to(x3, (2, R, C)), (2, 1, 0))  # (C, R, 2)
    i = tz.arange(0, 2)
    off3 = c[:, None, None] * (R * 2) + r[None, :, None] * 2 + i[None, None, :]
    tz.store(out_ptr + R * C + off3, p + i[None, None, :].to(tz.float32))
    z = tz.zeros_like(x) + tz.full((R, 1), 3.0, tz.float32)
    tz.store(out_ptr + 3 * R * C + r[:, None] * C + c[None, :], z + x.reshape(R, C))


def test_shape_builtins(rng):
    R, C = 4, 8
    x = random_nonzero(rng, (R, C))
    out = poisoned(4 * R * C + 1)
    shapes[(1,)](x, out, R=R, C=C)
    assert_equal(out[:R * C], (x * 2).reshape(-1), "reshape")
    p = np.stack([x, x]).transpose(2, 1, 0) + np.arange(2, dtype=np.float32)
    assert_equal(out[R * C:3 * R * C], p.reshape(-1), "expand_dims/broadcast_to/permute")
    assert_equal(out[3 * R * C:4 * R * C], (x + np.float32(3)).reshape(-1), "zeros_like/full")
    assert_untouched(out[4 * R * C:])


@tz.jit
def scans_and_xor(x_ptr, i_ptr, prod_ptr, xs_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(prod_ptr + offs, tz.cumprod(tz.load(x_ptr + offs), axis=0))
    v = tz.load(i_ptr + offs)
    tz.store(xs_ptr, tz.xor_sum(v, axis=0))


def test_cumprod_xor_sum(rng):
    B = 16
    x = random_nonzero(rng, B, np.float32, 0.8, 1.25)
    i = random_ints(rng, B, -10**6, 10**6)
    prod, xs = poisoned(B), poisoned(2, np.int32)
    scans_and_xor[(1,)](x, i, prod, xs, BLOCK=B)
    assert_close(prod, np.cumprod(x.astype(np.float64)), B * 2.0**-24)
    assert xs[0] == np.bitwise_xor.reduce(i)
    assert_untouched(xs[1:])


@tz.jit
def claim_slots(slots_ptr, winner_ptr, NSLOTS: tz.constexpr):
    pid = tz.program_id(0)
    # each program claims the slot pid % NSLOTS if it is still free (-1)
    old = tz.atomic_cas(slots_ptr + pid % NSLOTS, -1, pid)
    tz.store(winner_ptr + pid, old)
    prev = tz.atomic_xchg(slots_ptr + NSLOTS, pid)
    tz.store(winner_ptr + tz.num_programs(0) + pid, prev)


def test_atomic_cas_and_xchg():
    g, ns = 10, 4
    slots = np.full(ns + 1, -1, np.int32)
    winner = poisoned(2 * g, np.int32)
    claim_slots[(g,)](slots, winner, NSLOTS=ns)
    # programs run in order on the interpreter, but only "first claimant wins"
    # is guaranteed: each slot holds the pid of exactly one claimant, who saw -1
    for s in range(ns):
        claimants = [p for p in range(g) if p % ns == s]
        assert slots[s] in claimants
        assert winner[slots[s]] == -1
        assert all(winner[p] == slots[s] for p in claimants if p != slots[s])
    prev = winner[g:]
    assert sorted(prev.tolist() + [int(slots[ns])]) == [-1] + list(range(g))


@tz.jit
def bool_and_int64(mask_ptr, x_ptr, out_ptr, flags_ptr, big, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    m = tz.load(mask_ptr + offs, mask=offs < n, other=False)
    x = tz.load(x_ptr + offs, mask=m, other=7)
    tz.store(out_ptr + offs, x + big, mask=offs < n)
    tz.store(flags_ptr + offs, x > 0, mask=offs < n)


def test_bool_buffers_and_int64_scalars(rng):
    n = 50
    m = rng.random(n) < 0.5
    x = random_ints(rng, n, -100, 100, np.int64)
    big = 3 * 2**33 + 5  # does not fit in 32 bits: an int64 argument
    out = poisoned(n + 1, np.int64)
    flags = np.zeros(n + 1, np.bool_)
    flags[n] = True
    bool_and_int64[(1,)](m, x, out, flags, big, n, BLOCK=64)
    xv = np.where(m, x, 7)
    assert_equal(out[:n], xv + big)
    assert_untouched(out[n:])
    assert_equal(flags[:n], xv > 0)
    assert flags[n]


@tz.jit
def carried_tuple(x_ptr, out_ptr, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    state = (tz.zeros((BLOCK,), dtype=tz.float32), 0)
    i = 0
    while i < n:
        s, c = state
        state = (s + x * i, c + 1)
        i += 1
    s, c = state
    tz.store(out_ptr + offs, s + c * 1000)
    y = x if n > 3 else -x  # a run-time conditional expression
    tz.store(out_ptr + BLOCK + offs, y)


@pytest.mark.parametrize("n", [0, 2, 6])
def test_loop_carried_tuple_and_ifexp(rng, n):
    x = random_nonzero(rng, 16)
    out = poisoned(33)
    carried_tuple[(1,)](x, out, n, BLOCK=16)
    ref = x.astype(np.float64) * sum(range(n)) + n * 1000
    assert_close(out[:16], ref, 1e-6, scale=np.abs(x) * sum(range(n)) + n * 1000)
    assert_equal(out[16:32], x if n > 3 else -x)
    assert_untouched(out[32:])


@tz.jit
def negative_offsets(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    end = x_ptr + BLOCK - 1
    tz.store(out_ptr + offs, tz.load(end - offs))  # reversed through pointer subtraction


def test_pointer_subtraction(rng):
    x = random_nonzero(rng, 32)
    out = poisoned(32)
    negative_offsets[(1,)](x, out, BLOCK=32)
    assert_equal(out, x[::-1])


# ---------------------------------------------------------------------------
# type rules (Triton's): checked at compile time with static_assert, and by value
# ---------------------------------------------------------------------------

@tz.jit
def type_rules(i32_ptr, i8_ptr, i64_ptr, f16_ptr, bf16_ptr, f32_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    i = tz.load(i32_ptr + offs)
    b = tz.load(i8_ptr + offs)
    l = tz.load(i64_ptr + offs)
    h = tz.load(f16_ptr + offs)
    bh = tz.load(bf16_ptr + offs)
    f = tz.load(f32_ptr + offs)
    tz.static_assert(offs.dtype == tz.int32)
    tz.static_assert(tz.program_id(0).dtype == tz.int32)
    tz.static_assert((i + 2.5).dtype == tz.float32)     # int tile meets a float: float32
    tz.static_assert((h + 2.5).dtype == tz.float16)     # a Python float adopts the tile's type
    tz.static_assert((bh * 3).dtype == tz.bfloat16)
    tz.static_assert((b + 1000).dtype == tz.int8)       # a Python int adopts the int tile's type
    tz.static_assert((i + 2**40).dtype == tz.int64)     # unless it does not fit in 32 bits
    tz.static_assert((h + f).dtype == tz.float32)
    tz.static_assert((h + bh).dtype == tz.float32)      # f16 with bf16: float32
    tz.static_assert((i + l).dtype == tz.int64)
    tz.static_assert((b + i).dtype == tz.int32)
    tz.static_assert((i + h).dtype == tz.float16)       # int with float: the float type
    tz.static_assert((i / i).dtype == tz.float32)       # int / is true division
    tz.static_assert((i // 3).dtype == tz.int32)
    tz.static_assert((i % 3).dtype == tz.int32)
    tz.static_assert((i < 3).dtype == tz.int1)
    tz.static_assert(((i < 3) + 1).dtype == tz.int32)
    tz.static_assert(tz.sum(b, axis=0).dtype == tz.int32)  # narrow int sums accumulate in int32
    tz.static_assert(tz.cumsum(b, axis=0).dtype == tz.int32)
    tz.static_assert(tz.dot(h[:, None], h[None, :]).dtype == tz.float32)
    tz.static_assert(tz.exp(i).dtype == tz.float32)
    tz.static_assert(h.to(tz.bfloat16).dtype == tz.bfloat16)
    tz.static_assert(tz.argmax(f, axis=0).dtype == tz.int32)
    tz.static_assert(i.shape == (BLOCK,))
    tz.static_assert(h[:, None].shape == (BLOCK, 1))
    tz.store(out_ptr + offs, i + 2.5)
    tz.store(out_ptr + BLOCK + offs, tz.sum(b, axis=0) + tz.zeros((BLOCK,), dtype=tz.int32))
    tz.store(out_ptr + 2 * BLOCK + offs, tz.cumsum(b, axis=0))
    tz.store(out_ptr + 3 * BLOCK + offs, b + 100)


@pytest.mark.skipif(BF16 is None, reason="needs ml_dtypes")
def test_type_rules(rng):
    B = 16
    i = random_ints(rng, B, -10**6, 10**6)
    b = random_ints(rng, B, 90, 127, np.int8)
    l = random_ints(rng, B, -10**12, 10**12, np.int64)
    h = random_nonzero(rng, B, np.float16)
    bh = random_nonzero(rng, B, BF16)
    f = random_nonzero(rng, B)
    out = poisoned(4 * B + 1)
    type_rules[(1,)](i, b, l, h, bh, f, out, BLOCK=B)
    assert_equal(out[:B], (i + np.float32(2.5)).astype(np.float32), "i32 + 2.5")
    assert_equal(out[B:2 * B], np.full(B, b.astype(np.int64).sum(), np.float32), "int8 sum in int32")
    assert_equal(out[2 * B:3 * B], np.cumsum(b.astype(np.int64)).astype(np.float32), "int8 cumsum in int32")
    with np.errstate(over="ignore"):
        assert_equal(out[3 * B:4 * B], (b + np.int8(100)).astype(np.float32), "int8 + 100 wraps in int8")
    assert_untouched(out[4 * B:])


@tz.jit
def number_merges(out_ptr, n):
    x = 0
    if n > 2:
        x = 2.5          # 0 and 2.5 merge to a float
    acc = 0
    for i in range(0, n):
        acc += 0.5       # a loop-carried number becomes a float
    k = 0
    while k < n:
        k += 1
    tz.store(out_ptr, x)
    tz.store(out_ptr + 1, acc)
    tz.store(out_ptr + 2, k)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_numbers_merged_by_if_and_loops_take_common_type(n):
    out = poisoned(4)
    number_merges[(1,)](out, n)
    assert_equal(out[:3], np.array([2.5 if n > 2 else 0.0, 0.5 * n, n], np.float32))
    assert_untouched(out[3:])


@tz.jit
def scalar_logic(x_ptr, out_ptr, lo, hi):
    pid = tz.program_id(0)
    v = tz.load(x_ptr + pid)
    r = 0
    if lo < v < hi:
        r = 1
    if not (v > 0) or v == hi:
        r += 10
    if (v > 5 and v < 50) or v == -1:
        r += 100
    tz.store(out_ptr + pid, r)


def test_scalar_boolean_logic_and_chained_comparisons(rng):
    x = np.concatenate([[-1, 0, 5, 6, 49, 50, 20, 7], random_ints(rng, 24, -100, 100)]).astype(np.int32)
    out = poisoned(x.size, np.int32)
    scalar_logic[(x.size,)](x, out, 5, 20)
    ref = ((5 < x) & (x < 20)).astype(np.int32) + 10 * ((~(x > 0)) | (x == 20)) \
        + 100 * (((x > 5) & (x < 50)) | (x == -1))
    assert_equal(out, ref.astype(np.int32))


@tz.jit
def loops_variety(x_ptr, out_ptr, n, s, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    acc = tz.zeros((BLOCK,), dtype=tz.float32)
    for i in range(n):                 # one-argument range
        for j in range(i, n, s):       # run-time start and step
            acc += x * (j - i + 1)
    cnt = 0
    for i in range(5, 2):              # empty
        cnt += 1
    for i in range(3, n + 3, 2):
        cnt += i
    tz.store(out_ptr + offs, acc)
    tz.store(out_ptr + BLOCK, cnt)


@pytest.mark.parametrize("n,s", [(0, 1), (4, 1), (5, 2), (7, 3)])
def test_nested_loops_runtime_bounds(rng, n, s):
    x = random_nonzero(rng, 16)
    out = poisoned(17 + 1)
    loops_variety[(1,)](x, out, n, s, BLOCK=16)
    w = sum(j - i + 1 for i in range(n) for j in range(i, n, s))
    assert_close(out[:16], x.astype(np.float64) * w, rtol(np.float32, 4))
    assert out[16] == sum(range(3, n + 3, 2))
    assert_untouched(out[17:])


@tz.jit
def nan_handling(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    nan = float("nan")
    tz.store(out_ptr + offs, tz.maximum(x, nan))
    tz.store(out_ptr + BLOCK + offs, tz.minimum(nan, x))
    tz.store(out_ptr + 2 * BLOCK + offs, (x != x).to(tz.float32))
    tz.store(out_ptr + 3 * BLOCK + offs, tz.where(x == x, 1.0, 2.0))


def test_nan_propagation_and_comparisons(rng):
    x = random_nonzero(rng, 16)
    x[3] = np.nan
    out = np.zeros(64, np.float32)
    nan_handling[(1,)](x, out, BLOCK=16)
    assert np.isnan(out[:32]).all(), "maximum/minimum propagate NaN"
    assert_equal(out[32:48], np.isnan(x).astype(np.float32), "x != x is True only for NaN")
    assert_equal(out[48:64], np.where(np.isnan(x), 2.0, 1.0).astype(np.float32))


@tz.jit
def low_precision_math(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    y = x * 1.5 + 0.25          # computed in the tile's type
    tz.store(out_ptr + offs, y)
    tz.store(out_ptr + BLOCK + offs, tz.sum(x, axis=0).to(tz.float32) + tz.zeros((BLOCK,), dtype=tz.float32))


@pytest.mark.parametrize("dtype", FLOAT_DTYPES[1:], ids=FLOAT_IDS[1:])
def test_low_precision_arithmetic_rounds_each_step(rng, dtype):
    B = 32
    x = random_nonzero(rng, B, dtype, 0.5, 2.0, signed=False)
    out = poisoned(2 * B, dtype)
    low_precision_math[(1,)](x, out, BLOCK=B)
    # each operation rounds to the tile type: compare with numpy doing the same
    t = np.dtype(dtype)
    ref = ((x.astype(np.float32) * np.float32(1.5)).astype(t).astype(np.float32) + np.float32(0.25)).astype(t)
    assert_equal(out[:B], ref, "x * 1.5 + 0.25 rounded per step")
    u = UNIT_ROUNDOFF[t]
    assert_close(out[B:], np.full(B, x.astype(np.float64).sum()), (B + 1) * u, what="low-precision sum")


@tz.jit
def asserts(x_ptr, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(x_ptr + offs, mask=offs < n, other=1.0)
    tz.device_assert(v > 0, "v must be positive")
    assert n < 100, "n too big"


@pytest.mark.interpreter_only("a GPU assert ends the process: test_gpu_runtime checks it")
def test_device_assert_and_assert_statement(rng):
    x = random_nonzero(rng, 16, signed=False)
    asserts[(1,)](x, 16, BLOCK=16)  # holds
    bad = x.copy()
    bad[5] = -1
    with pytest.raises(tz.CompilationError) as info:
        asserts[(2,)](bad, 16, BLOCK=16)
    filename, line, col, text = locate(asserts, "tz.device_assert")
    msg = str(info.value)
    assert msg.startswith(f"{filename}:{line}:{col}: error: v must be positive"), msg
    assert "program (0, 0, 0)" in msg and msg.splitlines()[1] == text
    # masked-off lanes read `other` and pass
    asserts[(1,)](bad, 5, BLOCK=16)
    with pytest.raises(tz.CompilationError) as info:
        asserts[(1,)](x, 200, BLOCK=16)
    filename, line, col, text = locate(asserts, "assert n < 100")
    assert str(info.value).startswith(f"{filename}:{line}:{col}: error: n too big"), str(info.value)


_HUGE_TILE_SCRIPT = '''
import numpy as np, terrazzo as tz

@tz.jit
def huge(x_ptr, D0: tz.constexpr, D1: tz.constexpr):
    tz.store(x_ptr + tz.zeros((D0, D1), dtype=tz.int32), 1.0)

try:
    huge[(1,)](np.zeros(4, np.float32), D0={d0}, D1={d1})
    print("RAN")
except tz.CompilationError as e:
    print("DIAGNOSED", str(e).splitlines()[0])
'''


def _limit_memory():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))


@pytest.mark.parametrize("d0,d1", [(1 << 20, 1 << 12), (1 << 62, 4)], ids=["2**32", "2**64"])
def test_tile_too_large_is_diagnosed(tmp_path, d0, d1):
    import os
    import subprocess
    import sys
    script = tmp_path / "huge_tile.py"
    script.write_text(_HUGE_TILE_SCRIPT.format(d0=d0, d1=d1))
    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(tz.__file__)))
    env = dict(os.environ, PYTHONPATH=pkg_root)
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120,
                          preexec_fn=_limit_memory)
    assert proc.returncode == 0, f"exit status {proc.returncode}: {proc.stderr[-500:]}"
    assert "DIAGNOSED" in proc.stdout, proc.stdout
