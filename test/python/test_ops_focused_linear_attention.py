"""terrazzo.ops.focused_linear_attention (FLatten) on the CPU interpreter:
the output against a float64 numpy reference written from the definition,
and every gradient against float64 central finite differences of that
reference (so the backward's derivation is checked, not repeated), fp16
and bf16, ragged N, several powers; outputs poisoned with NaN first."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import BF16, poisoned

_ops = tz.ops._ops

F16 = np.dtype(np.float16)
DTYPES = [pytest.param(F16, id="f16"),
          pytest.param(BF16, id="bf16", marks=pytest.mark.skipif(BF16 is None, reason="no ml_dtypes"))]
# Normwise bounds: phi(q), phi(k), KV and the gradients' operands are
# rounded to the input dtype before each tensor-core product.
OUT_TOL = {F16: 5e-3, BF16: 4e-2}
GRAD_TOL = {F16: 1e-2, BF16: 6e-2}


def phi_ref(x, power, eps):
    r = np.maximum(x, 0.0) + eps
    u = r ** power
    return np.linalg.norm(r, axis=-1, keepdims=True) * u / np.linalg.norm(u, axis=-1, keepdims=True)


def ref_forward(q, k, v, power=3.0, eps=1e-6):
    """float64: o_i = phi(q_i) KV / (phi(q_i) . ks + eps), KV and ks the means
    over the keys of phi(k_j)^T v_j and phi(k_j)."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    pq, pk = phi_ref(q, power, eps), phi_ref(k, power, eps)
    N = q.shape[2]
    kv = np.einsum("bhnk,bhnv->bhkv", pk, v) / N
    ks = pk.mean(axis=2)
    z = np.einsum("bhnk,bhk->bhn", pq, ks) + eps
    return np.einsum("bhnk,bhkv->bhnv", pq, kv) / z[..., None]


def fd_grads(q, k, v, do, power, eps, h=1e-6):
    """Central finite differences of sum(do * ref_forward) in every entry."""
    args = [np.asarray(x, np.float64).copy() for x in (q, k, v)]
    do = np.asarray(do, np.float64)
    grads = []
    for a in args:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + h
            plus = np.sum(do * ref_forward(*args, power, eps))
            a[idx] = old - h
            minus = np.sum(do * ref_forward(*args, power, eps))
            a[idx] = old
            g[idx] = (plus - minus) / (2 * h)
        grads.append(g)
    return grads


def rel_err(got, ref):
    got = np.asarray(got).astype(np.float64)
    assert got.shape == ref.shape
    assert not np.isnan(got).any(), "NaN in the result (an element left unwritten?)"
    return np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30)


def randn(rng, shape, dtype):
    return rng.standard_normal(shape).astype(np.dtype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("power", [3.0, 2.0])
def test_forward_backward(rng, dtype, power):
    """B = 1, H = 2, N = 37 (three row blocks, the last ragged, in two splits of
    the reductions), Dk = 16, Dv = 32."""
    dtype = np.dtype(dtype)
    B, H, N, DK, DV = 1, 2, 37, 16, 32
    q, k, v, do = randn(rng, (B, H, N, DK), dtype), randn(rng, (B, H, N, DK), dtype), \
        randn(rng, (B, H, N, DV), dtype), randn(rng, (B, H, N, DV), dtype)
    out = poisoned((B, H, N, DV), dtype)
    _ops.focused_linear_attention_forward(q, k, v, power, 1e-6, False, out=out)
    assert rel_err(out, ref_forward(q, k, v, power)) <= OUT_TOL[dtype]
    dq, dk, dv = poisoned(q.shape, dtype), poisoned(k.shape, dtype), poisoned(v.shape, dtype)
    _ops.focused_linear_attention_backward(q, k, v, do, power, 1e-6, False, dq=dq, dk=dk, dv=dv)
    for name, got, ref in zip(("dq", "dk", "dv"), (dq, dk, dv), fd_grads(q, k, v, do, power, 1e-6)):
        err = rel_err(got, ref)
        assert err <= GRAD_TOL[dtype], f"{name}: normwise relative error {err:.3g}"


def test_strides_and_longer_sequence(rng):
    """(B, N, H, D) memory through strides, N = 50 over four row blocks;
    the forward only against the reference, and the public API's numpy path."""
    B, H, N, D = 2, 2, 50, 32
    q, k, v = (randn(rng, (B, N, H, D), F16).transpose(0, 2, 1, 3) for _ in range(3))
    out = tz.ops.focused_linear_attention(q, k, v)
    assert rel_err(out, ref_forward(q, k, v)) <= OUT_TOL[F16]


def test_argument_errors(rng):
    q = randn(rng, (1, 2, 8, 16), F16)
    fla = tz.ops.focused_linear_attention
    with pytest.raises(ValueError, match="argument 'causal': causal focused linear attention is not supported"):
        fla(q, q, q, causal=True)
    with pytest.raises(ValueError, match="argument 'power': must be finite and positive"):
        fla(q, q, q, power=0.0)
    with pytest.raises(ValueError, match="argument 'eps': must be finite and positive"):
        fla(q, q, q, eps=-1.0)
    with pytest.raises(ValueError, match="argument 'q': head dim 256 is not supported"):
        fla(*(randn(rng, (1, 1, 4, 256), F16) for _ in range(3)))
    with pytest.raises(ValueError, match="argument 'v': expected dtype|argument 'v': has dtype"):
        fla(q, q, q.astype(np.float32))
