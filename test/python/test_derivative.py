"""tz.derivative and tz.add_load_gradients on the interpreter: each
derivative rule of the compiler's forward-mode differentiation, checked
against float64 central differences of a numpy twin, and the diagnostics for
what cannot be differentiated."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import assert_diagnostic, locate


@tz.jit
def probe(x_ptr, y_ptr, dx_ptr, dy_ptr, FN: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    y = tz.load(y_ptr + offs)
    tz.store(dx_ptr + offs, tz.derivative(FN, 0)(x, y))
    tz.store(dy_ptr + offs, tz.derivative(FN, argnum=1)(x, y))


# Each function of (x, y) with its numpy twin; together they cover every rule.
@tz.jit
def arith_mix(x, y):
    return (x * y - x / y + 3.0) % 5.0 - (-y)


@tz.jit
def exps_logs(x, y):
    return tz.exp(x) * tz.log(y) + tz.exp2(y) - tz.log2(x) + tz.expm1(x) + tz.log1p(y) + tz.log10(x * y)


@tz.jit
def roots_and_trig(x, y):
    return tz.sqrt(x) * tz.rsqrt(y) + tz.sin(x) * tz.cos(y) + tz.tan(x) - tz.atan(y) + tz.erf(x - y)


@tz.jit
def squash(x, y):
    return tz.tanh(x * y) + tz.sigmoid(x - y) + tz.atan2(x, y)


@tz.jit
def choices(x, y):
    m = tz.maximum(x, y) * tz.minimum(x, 2.0 * y)
    return tz.where(x > 1.0, m, tz.abs(x - y)) + tz.floor(x) * y


@tz.jit
def powers_and_casts(x, y):
    h = x.to(tz.float16).to(tz.float32)
    return tz.fma(x, y, h) + tz.exp(y * tz.log(x)) + x.to(tz.float64).to(tz.float32) * y


@tz.jit
def shapes(x, y):
    t = tz.reshape(x, (4, 8))
    s = tz.sum(t, axis=1)[:, None] + tz.trans(tz.reshape(y, (8, 4)))
    return tz.reshape(tz.broadcast_to(s, (4, 8)), (32,)) * x + tz.cumsum(y, axis=0)


TWINS = {
    "arith_mix": (arith_mix, lambda x, y: np.fmod(x * y - x / y + 3.0, 5.0) + y),
    "exps_logs": (exps_logs, lambda x, y: np.exp(x) * np.log(y) + np.exp2(y) - np.log2(x) + np.expm1(x)
                  + np.log1p(y) + np.log10(x * y)),
    "roots_and_trig": (roots_and_trig, lambda x, y: np.sqrt(x) / np.sqrt(y) + np.sin(x) * np.cos(y) + np.tan(x)
                       - np.arctan(y) + np.vectorize(__import__("math").erf)(x - y)),
    "squash": (squash, lambda x, y: np.tanh(x * y) + 1 / (1 + np.exp(-(x - y))) + np.arctan2(x, y)),
    "choices": (choices, lambda x, y: np.where(x > 1.0, np.maximum(x, y) * np.minimum(x, 2 * y), np.abs(x - y))
                + np.floor(x) * y),
    "powers_and_casts": (powers_and_casts, lambda x, y: x * y + x + np.exp(y * np.log(x)) + x * y),
    "shapes": (shapes, lambda x, y: (np.broadcast_to(x.reshape(4, 8).sum(1)[:, None] + y.reshape(8, 4).T, (4, 8))
                                     .reshape(32) * x + np.cumsum(y))),
}


def central_difference(f, x, y, wrt):
    # Elementwise functions: one difference per element at once; `shapes`
    # mixes elements, so it is differentiated along the all-ones direction
    # too (the forward-mode tangent with seed one everywhere).
    h = 1e-6
    if wrt == 0:
        return (f(x + h, y) - f(x - h, y)) / (2 * h)
    return (f(x, y + h) - f(x, y - h)) / (2 * h)


@pytest.mark.parametrize("name", list(TWINS))
def test_derivative_rules_match_finite_differences(rng, name):
    fn, twin = TWINS[name]
    n = 32
    x = rng.uniform(0.3, 1.7, n).astype(np.float32)
    y = rng.uniform(0.3, 1.7, n).astype(np.float32)
    if name == "choices":
        # away from the kinks, where the derivative is not defined
        x = np.where(np.abs(x - 1.0) < 0.05, x + 0.1, x).astype(np.float32)
        x = np.where(np.abs(x - y) < 0.05, x + 0.1, x).astype(np.float32)
        x = np.where(np.abs(x - 2 * y) < 0.05, x + 0.1, x).astype(np.float32)
        x = np.where(np.abs(x - np.round(x)) < 0.05, x + 0.1, x).astype(np.float32)
    if name == "arith_mix":
        q = x * y - x / y + 3.0
        y = np.where(np.abs(q / 5.0 - np.round(q / 5.0)) < 0.02, y + 0.05, y).astype(np.float32)
    dx = np.full(n, np.nan, np.float32)
    dy = np.full(n, np.nan, np.float32)
    probe[(1,)](x, y, dx, dy, FN=fn, BLOCK=n)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    for got, wrt in ((dx, 0), (dy, 1)):
        want = central_difference(twin, x64, y64, wrt)
        np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-4, err_msg=f"d {name} / d arg {wrt}")


@tz.jit
def gather_scale(x, y, table_ptr, idx):
    # loads a tile and a scalar from the table
    return x * tz.load(table_ptr + idx) + y * y * tz.load(table_ptr + 7)


@tz.jit
def load_grads(x_ptr, y_ptr, idx_ptr, table_ptr, dtable_ptr, ct_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    y = tz.load(y_ptr + offs)
    idx = tz.load(idx_ptr + offs)
    tz.add_load_gradients(gather_scale, (x, y, table_ptr, idx), 2, dtable_ptr, tz.load(ct_ptr + offs))


def test_add_load_gradients_scatters_to_the_loaded_addresses(rng):
    n = 16
    x, y, ct = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    idx = rng.integers(0, 7, n).astype(np.int32)  # repeats: atomics must add up
    table = rng.standard_normal(8).astype(np.float32)
    dtable = np.full(8, 0.25, np.float32)  # added into, not overwritten
    load_grads[(1,)](x, y, idx, table, dtable, ct, BLOCK=n)
    want = np.full(8, 0.25)
    np.add.at(want, idx, ct.astype(np.float64) * x)
    want[7] += np.sum(ct.astype(np.float64) * y * y)
    np.testing.assert_allclose(dtable, want, rtol=1e-5, atol=1e-5)


@tz.jit
def branchy(x, y):
    if tz.sum(x) > 0.0:
        x = x * 2.0
    return x * y


@tz.jit
def bit_trick(x, y):
    bits = x.to(tz.int32, bitcast=True)
    return (bits & 0x7FFFFFFF).to(tz.float32, bitcast=True) * y


@pytest.mark.parametrize("fn, needle, words", [
    (branchy, "if tz.sum(x)", "cannot differentiate 'scf.if': run-time control flow"),
    (bit_trick, "x.to(tz.int32, bitcast=True)", "cannot differentiate 'arith.bitcast'"),
])
def test_non_differentiable_ops_are_diagnostics(fn, needle, words):
    x = np.ones(8, np.float32)
    with pytest.raises(tz.CompilationError) as info:
        probe[(1,)](x, x, x.copy(), x.copy(), FN=fn, BLOCK=8)
    filename, line, col, text = locate(fn, needle)
    assert_diagnostic(info.value, filename, line, col, text,
                      [words, f"in the derivative of '{fn.__name__}' with respect to its argument 0 ('x')"])


@tz.jit
def wrong_derivative_use(x_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, tz.derivative(branchy, 0)(offs, offs))


def test_derivative_needs_a_float_argument():
    with pytest.raises(tz.CompilationError) as info:
        wrong_derivative_use[(1,)](np.ones(8, np.float32), BLOCK=8)
    filename, line, col, text = locate(wrong_derivative_use, "tz.derivative(branchy")
    assert_diagnostic(info.value, filename, line, col, text,
                      "tz.derivative differentiates with respect to a floating-point value, but argument 0 "
                      "('x') of 'branchy' is tile<8xint32>")


@tz.jit
def row_bias(x, bias_ptr, rows):
    # a (M, 1) load broadcast over the (M, N) result
    return tz.exp(x + tz.load(bias_ptr + rows))


@tz.jit
def row_bias_grads(x_ptr, bias_ptr, dbias_ptr, ct_ptr, M: tz.constexpr, N: tz.constexpr):
    offs = tz.arange(0, M)[:, None] * N + tz.arange(0, N)[None, :]
    rows = tz.arange(0, M)[:, None]
    x = tz.load(x_ptr + offs)
    tz.add_load_gradients(row_bias, (x, bias_ptr, rows), 1, dbias_ptr, tz.load(ct_ptr + offs))


def test_add_load_gradients_sums_over_broadcast_dimensions(rng):
    M, N = 8, 16
    x = rng.standard_normal((M, N)).astype(np.float32)
    ct = rng.standard_normal((M, N)).astype(np.float32)
    bias = rng.standard_normal(M).astype(np.float32)
    dbias = np.zeros(M, np.float32)
    row_bias_grads[(1,)](x, bias, dbias, ct, M=M, N=N)
    want = np.sum(ct.astype(np.float64) * np.exp(x.astype(np.float64) + bias[:, None]), axis=1)
    np.testing.assert_allclose(dbias, want, rtol=1e-5, atol=1e-5)
