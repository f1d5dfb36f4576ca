"""Triton kernels, written as Triton users write them (triton_ported_kernels.py,
only the imports changed), run on the interpreter against float64 references
written from the mathematical definitions."""

import numpy as np
import pytest

import terrazzo.triton_compat as triton
from conftest import assert_close, assert_equal, poisoned, random_nonzero
import triton_ported_kernels as k


def elem_strides(a):
    return [s // a.itemsize for s in a.strides]


def test_vector_add_ragged_tail(rng):
    n = 1000
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    out = poisoned(n)
    grid = lambda meta: (triton.cdiv(n, meta['BLOCK_SIZE']),)
    k.add_kernel[grid](x, y, out, n, BLOCK_SIZE=256)
    assert_close(out, x.astype(np.float64) + y, rtol=2.0**-24, scale=np.abs(x) + np.abs(y))


def test_fused_softmax_num_stages_binds_to_the_parameter(rng):
    # The tutorial's kernel declares `num_stages: tl.constexpr` and is launched
    # with num_stages=...: Triton binds that keyword to the parameter.
    n_rows, n_cols = 7, 100
    x = rng.uniform(-4, 4, size=(n_rows, n_cols)).astype(np.float32)
    y = poisoned((n_rows, n_cols))
    block = triton.next_power_of_2(n_cols)
    k.softmax_kernel[(3, 1, 1)](y, x, elem_strides(x)[0], elem_strides(y)[0], n_rows, n_cols, BLOCK_SIZE=block,
                                num_stages=2)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max(axis=1, keepdims=True))
    assert_close(y, e / e.sum(axis=1, keepdims=True), rtol=1e-5)


@pytest.mark.parametrize("activation", ["", "leaky_relu"])
def test_grouped_matmul_autotuned(rng, activation):
    M, N, K = 72, 40, 56
    a = random_nonzero(rng, (M, K), np.float16)
    b = random_nonzero(rng, (K, N), np.float16)
    c = poisoned((M, N), np.float16)
    grid = lambda META: (triton.cdiv(M, META['BLOCK_SIZE_M']) * triton.cdiv(N, META['BLOCK_SIZE_N']),)
    k.matmul_kernel[grid](a, b, c, M, N, K, *elem_strides(a), *elem_strides(b), *elem_strides(c),
                          ACTIVATION=activation)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    scale = np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64))
    if activation == "leaky_relu":
        ref = np.where(ref >= 0, ref, 0.01 * ref)
    assert_close(c, ref, rtol=2e-3, scale=scale)
    assert k.matmul_kernel.last_source == "interpreter"


def test_layer_norm_forward(rng):
    M, N = 5, 300
    x = rng.standard_normal((M, N)).astype(np.float32) * 3 + 1
    w = rng.standard_normal(N).astype(np.float32)
    b = rng.standard_normal(N).astype(np.float32)
    y, mean, rstd = poisoned((M, N)), poisoned(M), poisoned(M)
    eps = 1e-5
    k._layer_norm_fwd_fused[(M,)](x, y, w, b, mean, rstd, elem_strides(x)[0], N, eps, BLOCK_SIZE=128)
    x64 = x.astype(np.float64)
    mu = x64.mean(axis=1)
    var = ((x64 - mu[:, None]) ** 2).mean(axis=1)
    r = 1 / np.sqrt(var + eps)
    assert_close(mean, mu, rtol=1e-5, scale=np.abs(x64).mean(axis=1))
    assert_close(rstd, r, rtol=1e-5)
    ref = (x64 - mu[:, None]) * r[:, None] * w + b
    assert_close(y, ref, rtol=1e-4, scale=np.abs((x64 - mu[:, None]) * r[:, None] * w) + np.abs(b) + 1e-3)


def test_welford_reduce_with_tuple_combine(rng):
    rows, n_cols, block = 6, 50, 64
    x = (rng.standard_normal((rows, n_cols)) * 2 + 5).astype(np.float32)
    mean, var = poisoned(rows), poisoned(rows)
    k.welford_kernel[(rows,)](x, mean, var, n_cols, elem_strides(x)[0], BLOCK=block)
    x64 = x.astype(np.float64)
    assert_close(mean, x64.mean(axis=1), rtol=1e-5)
    assert_close(var, x64.var(axis=1), rtol=1e-4)


def test_argmax_reduce_first_index_on_ties(rng):
    rows, block = 5, 32
    x = rng.integers(-3, 4, size=(rows, block)).astype(np.float32)   # many ties
    x[0, :] = -0.0
    values, indices = poisoned(rows), poisoned(rows, np.int32)
    k.row_argmax_kernel[(rows,)](x, values, indices, block, BLOCK=block)
    assert_equal(values, x.max(axis=1))
    assert_equal(indices, np.argmax(x, axis=1).astype(np.int32))


@pytest.mark.parametrize("axis,keep", [(0, False), (1, False), (0, True), (1, True)])
def test_reduce_2d_axes_and_keep_dims(rng, axis, keep):
    BM, BN = 8, 16
    x = rng.standard_normal((BM, BN)).astype(np.float32)
    x[2, 3] = np.nan if axis == 0 else x[2, 3]
    out = poisoned((BM, BN))
    k.reduce_2d_kernel[(1,)](x, out, BM=BM, BN=BN, AXIS=axis, KEEP=keep)
    ref = np.broadcast_to(np.max(x.astype(np.float64), axis=axis, keepdims=True), (BM, BN))
    assert_equal(out, ref)


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("reverse", [False, True])
def test_cumsum_by_associative_scan(rng, axis, reverse):
    BM, BN = 4, 16
    x = rng.integers(-1000, 1000, size=(BM, BN)).astype(np.int32)
    out = poisoned((BM, BN), np.int32)
    k.cumsum_kernel[(1,)](x, out, BM=BM, BN=BN, AXIS=axis, REVERSE=reverse)
    x64 = x.astype(np.int64)
    ref = np.flip(np.cumsum(np.flip(x64, axis), axis), axis) if reverse else np.cumsum(x64, axis)
    assert_equal(out, ref.astype(np.int32))


@pytest.mark.parametrize("reverse", [False, True])
def test_linear_recurrence_by_tuple_scan(rng, reverse):
    # h[t] = a[t] * h[t-1] + b[t] (h[-1] = 0): its combine is associative but
    # not commutative, so a scan that pairs elements in the wrong order fails.
    n = 64
    a = rng.uniform(0.5, 1.0, n).astype(np.float32)
    b = rng.uniform(-1.0, 1.0, n).astype(np.float32)
    h = poisoned(n)
    k.recurrence_kernel[(1,)](a, b, h, BLOCK=n, REVERSE=reverse)
    ref = np.zeros(n)
    scale = np.zeros(n)
    order = range(n - 1, -1, -1) if reverse else range(n)
    acc = acc_abs = 0.0
    for t in order:
        acc = float(a[t]) * acc + float(b[t])
        acc_abs = float(a[t]) * acc_abs + abs(float(b[t]))
        ref[t], scale[t] = acc, acc_abs
    assert_close(h, ref, rtol=1e-5 * 8, scale=scale)


def test_join_split_interleave(rng):
    n = 16
    a = rng.standard_normal(n).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    a[0], b[1] = -0.0, np.inf
    joined, inter, lo, hi = poisoned((n, 2)), poisoned(2 * n), poisoned(n), poisoned(n)
    k.join_split_kernel[(1,)](a, b, joined, inter, lo, hi, BLOCK=n)
    assert_equal(joined, np.stack([a, b], axis=-1))
    assert np.signbit(joined[0, 0]), "join must keep the sign of -0.0"
    assert_equal(inter, np.stack([a, b], axis=-1).reshape(-1))
    assert_equal(lo, a.astype(np.float64) * 2)
    assert_equal(hi, b.astype(np.float64) * 2)


def test_flip_and_cat(rng):
    n = 32
    x = rng.integers(-100, 100, n).astype(np.int16)
    y = rng.integers(-100, 100, n).astype(np.int16)
    flipped, cat = poisoned(n, np.int16), poisoned(2 * n, np.int16)
    k.flip_cat_kernel[(1,)](x, y, flipped, cat, BLOCK=n)
    assert_equal(flipped, x[::-1])
    assert_equal(cat, np.concatenate([x, y]))


def test_histogram_with_mask(rng):
    n, block, bins = 50, 64, 8
    x = rng.integers(0, bins, n).astype(np.int32)
    hist = np.zeros(bins, np.int32)
    k.histogram_kernel[(1,)](x, hist, n, BLOCK=block, BINS=bins)
    assert_equal(hist, np.bincount(x, minlength=bins).astype(np.int32))


def test_static_range_step_range_hints_noinline_and_python_max(rng):
    block, n = 16, 7
    x = random_nonzero(rng, (8, block), low=0.5, high=2.0, signed=False)
    out = poisoned(block)
    k.loops_kernel[(1,)](x, out, n, BLOCK=block)
    x64 = x.astype(np.float64)
    acc = (x64[[0, 2, 4, 6]].sum(axis=0) + x64[[1, 3, 5]].sum(axis=0)) * 2
    assert_close(out, acc / max(acc.max(), 0.0), rtol=1e-6)


@pytest.mark.parametrize("n", [64, 50])
def test_heuristics_compute_constexprs(rng, n):
    x = rng.standard_normal(n).astype(np.float32)
    out = poisoned(64)
    k.scale_kernel[(triton.cdiv(n, 32),)](x, out, n, 3.0, BLOCK=32)
    assert_equal(out[:n], (x.astype(np.float64) * 3).astype(np.float32))  # one f32 rounding of an exact product
    assert np.isnan(out[n:]).all()


def test_math_libdevice_and_softmax_names(rng):
    n = 32
    x = rng.uniform(-2, 2, n).astype(np.float32)
    out = poisoned(n)
    k.math_kernel[(1,)](x, out, BLOCK=n)
    x64 = x.astype(np.float64)
    e = np.exp(x64 - x64.max())
    ref = np.tanh(x64) + np.exp(x64) + np.sqrt(np.abs(x64)) + e / e.sum()
    assert_close(out, ref, rtol=1e-5, scale=np.abs(np.tanh(x64)) + np.exp(x64) + np.sqrt(np.abs(x64)) + 1)


def test_swizzle2d_matches_grouped_ordering():
    si, sj, sg = 8, 4, 2
    oi, oj = poisoned((si, sj), np.int32), poisoned((si, sj), np.int32)
    k.swizzle_kernel[(1,)](oi, oj, SIZE_I=si, SIZE_J=sj, SIZE_G=sg)
    # Definition: number the grid row-major, walk groups of sg rows column by column.
    ref_i, ref_j = np.zeros((si, sj), np.int32), np.zeros((si, sj), np.int32)
    for i in range(si):
        for j in range(sj):
            ij = i * sj + j
            first = (ij // (sg * sj)) * sg
            rows = min(si - first, sg)
            within = ij % (sg * sj)
            ref_i[i, j], ref_j[i, j] = first + within % rows, within // rows
    assert_equal(oi, ref_i)
    assert_equal(oj, ref_j)
    # Every (i, j) appears once: it is a permutation of the grid.
    assert len(set(zip(oi.ravel().tolist(), oj.ravel().tolist()))) == si * sj


def test_umulhi_and_reduce_or(rng):
    n = 16
    x = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
    y = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
    hi, orred = poisoned(n, np.int32), poisoned(1, np.int32)
    k.int_ops_kernel[(1,)](x, y, hi, orred, BLOCK=n)
    ux, uy = x.astype(np.uint32).astype(object), y.astype(np.uint32).astype(object)
    ref = np.array([int((p * q) >> 32) for p, q in zip(ux, uy)], dtype=np.uint64).astype(np.uint32).view(np.int32)
    assert_equal(hi, ref)
    acc = 0
    for v in x.tolist():
        acc |= v
    assert_equal(orred, np.array([acc], np.int32))


# Philox4x32 from its definition (Salmon et al., SC'11): each round multiplies
# counter words 0 and 2 by fixed constants, swaps in the high halves xor-ed
# with the other words and the key, and bumps the key by the Weyl constants.
MASK32 = 0xFFFFFFFF


def philox4x32(counters, key, rounds=10):
    c = [np.asarray(v, dtype=np.uint64) & MASK32 for v in counters]
    k0, k1 = np.uint64(key[0] & MASK32), np.uint64(key[1] & MASK32)
    for _ in range(rounds):
        p0 = np.uint64(0xD2511F53) * c[0]
        p1 = np.uint64(0xCD9E8D57) * c[2]
        c = [((p1 >> np.uint64(32)) ^ c[1] ^ k0) & MASK32, p1 & MASK32,
             ((p0 >> np.uint64(32)) ^ c[3] ^ k1) & MASK32, p0 & MASK32]
        k0 = (k0 + np.uint64(0x9E3779B9)) & MASK32
        k1 = (k1 + np.uint64(0xBB67AE85)) & MASK32
    return c


def test_philox_reference_known_answers():
    # Random123's known-answer vectors for Philox4x32-10.
    assert [int(v) for v in philox4x32([0, 0, 0, 0], (0, 0))] == [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    m = MASK32
    assert [int(v) for v in philox4x32([m, m, m, m], (m, m))] == [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]


def uniform_of(bits):
    """Triton's map of 32 random bits to [0, 1): the signed value folded to
    non-negative, times the largest scale that stays below 1."""
    x = bits.astype(np.uint32).view(np.int32).astype(np.float64)
    return np.where(x < 0, -x - 1, x) * 4.6566127342e-10


@pytest.mark.parametrize("seed", [0, 123456789, 2**40 + 77, -5])
def test_randint4x_rand_randn_match_philox(seed):
    block = 64
    bits = poisoned(4 * block, np.int32)
    uniform, normal = poisoned(block), poisoned(block)
    k.random_streams_kernel[(1,)](seed, bits, uniform, normal, BLOCK=block)
    s = seed & (2**64 - 1)
    ref = philox4x32([np.arange(block), 0, 0, 0], (s & MASK32, s >> 32))
    assert_equal(bits, np.concatenate(ref).astype(np.uint32).view(np.int32))
    u = uniform_of(ref[0])
    assert_close(uniform, u, rtol=2.0**-22)
    assert ((uniform >= 0) & (uniform < 1)).all()
    u1, u2 = np.maximum(1e-7, u), uniform_of(ref[1])
    r = np.sqrt(-2 * np.log(u1))
    assert_close(normal, r * np.cos(2 * np.pi * u2), rtol=1e-5, scale=r + 1e-3)


def test_seeded_dropout(rng):
    n, p, seed = 1000, 0.4, 1234
    x = rng.standard_normal(n).astype(np.float32)
    out = poisoned(n)
    k._seeded_dropout[(triton.cdiv(n, 256),)](x, out, n, p, seed, BLOCK_SIZE=256)
    u = uniform_of(philox4x32([np.arange(n), 0, 0, 0], (seed, 0))[0])
    clear = np.abs(u - p) > 1e-6  # the f32 uniform could fall either side of p
    ref = np.where(u > p, x.astype(np.float64) / (1 - p), 0.0)
    assert_close(out[clear], ref[clear], rtol=1e-6, scale=np.abs(ref[clear]) + 1e-30)
    kept = (out != 0).mean()
    assert abs(kept - (1 - p)) < 0.08


@pytest.mark.parametrize("axis", [0, 1])
def test_gather(rng, axis):
    N, K, M = 8, 16, 4
    src = rng.standard_normal((N, M) if axis == 0 else (M, N)).astype(np.float16)
    src.flat[3] = -0.0
    index = rng.integers(0, N, size=(K, M) if axis == 0 else (M, K)).astype(np.int32)
    out = poisoned(index.shape, np.float16)
    k.gather_kernel[(1,)](src, index, out, N=N, K=K, M=M, AXIS=axis)
    assert_equal(out, np.take_along_axis(src, index, axis=axis))


@pytest.mark.parametrize("dtype", [np.float32, np.int16])
def test_sort_and_topk(rng, dtype):
    R, N, K = 4, 32, 8
    if dtype == np.float32:
        x = rng.standard_normal((R, N)).astype(dtype)
        x[0, :4] = x[0, 4]          # ties
    else:
        x = rng.integers(-50, 50, size=(R, N)).astype(dtype)
    asc, desc, top = poisoned((R, N), dtype), poisoned((R, N), dtype), poisoned((R, K), dtype)
    k.sort_kernel[(1,)](x, asc, desc, top, R=R, N=N, K=K)
    assert_equal(asc, np.sort(x, axis=1))
    assert_equal(desc, np.sort(x, axis=1)[:, ::-1])
    assert_equal(top, np.sort(x, axis=1)[:, ::-1][:, :K])


@pytest.mark.parametrize("descending", [False, True])
def test_bitonic_merge_orders_a_bitonic_sequence(rng, descending):
    n = 64
    v = rng.standard_normal(n).astype(np.float32)
    x = np.concatenate([np.sort(v[:23]), np.sort(v[23:])[::-1]])   # rising, then falling
    out = poisoned(n)
    k.bitonic_merge_kernel[(1,)](x, out, N=n, DESCENDING=descending)
    assert_equal(out, np.sort(x)[::-1] if descending else np.sort(x))
