"""terrazzo.ops.agent_attention on the CPU interpreter: the output against a
float64 numpy reference written from the definition (two softmax
attentions: agents over the keys, queries over the agents), every gradient
(q, k, v, agents) against float64 central finite differences of it, fp16
and bf16, ragged N and agent counts; outputs poisoned with NaN first."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import BF16, poisoned

_ops = tz.ops._ops

F16 = np.dtype(np.float16)
DTYPES = [pytest.param(F16, id="f16"),
          pytest.param(BF16, id="bf16", marks=pytest.mark.skipif(BF16 is None, reason="no ml_dtypes"))]
# Normwise bounds: the agents' values are rounded to the input dtype between
# the passes, and P before each product, as in flash attention.
OUT_TOL = {F16: 4e-3, BF16: 3e-2}
GRAD_TOL = {F16: 1e-2, BF16: 6e-2}


def softmax(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def ref_forward(q, k, v, agents, scale=None):
    q, k, v, a = (np.asarray(x, np.float64) for x in (q, k, v, agents))
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    agent_values = softmax(scale * a @ np.swapaxes(k, -1, -2)) @ v
    return softmax(scale * q @ np.swapaxes(a, -1, -2)) @ agent_values


def fd_grads(args, do, scale, h=1e-6):
    args = [np.asarray(x, np.float64).copy() for x in args]
    do = np.asarray(do, np.float64)
    grads = []
    for a in args:
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            old = a[idx]
            a[idx] = old + h
            plus = np.sum(do * ref_forward(*args, scale))
            a[idx] = old - h
            minus = np.sum(do * ref_forward(*args, scale))
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
@pytest.mark.parametrize("N,n", [(21, 7), (40, 17)])
def test_forward_backward(rng, dtype, N, n):
    dtype = np.dtype(dtype)
    B, H, D = 1, 2, 16
    q, k, v, do = (randn(rng, (B, H, N, D), dtype) for _ in range(4))
    agents = randn(rng, (B, H, n, D), dtype)
    scale = 0.4
    out, agent_values = poisoned(q.shape, dtype), poisoned(agents.shape, dtype)
    agent_lse, lse = poisoned((B, H, n)), poisoned((B, H, N))
    _ops.agent_attention_forward(q, k, v, agents, scale, out=out, agent_values=agent_values, agent_lse=agent_lse,
                                 lse=lse)
    assert rel_err(out, ref_forward(q, k, v, agents, scale)) <= OUT_TOL[dtype]
    dq, dk, dv, da = (poisoned(x.shape, dtype) for x in (q, k, v, agents))
    _ops.agent_attention_backward(q, k, v, agents, out, agent_values, agent_lse, lse, do, scale, dq=dq, dk=dk, dv=dv,
                                  dagents=da)
    for name, got, ref in zip(("dq", "dk", "dv", "dagents"), (dq, dk, dv, da), fd_grads((q, k, v, agents), do, scale)):
        err = rel_err(got, ref)
        assert err <= GRAD_TOL[dtype], f"{name}: normwise relative error {err:.3g}"


def test_public_api_default_scale(rng):
    B, H, N, n, D = 2, 1, 30, 9, 32
    q, k, v, do = (randn(rng, (B, H, N, D), F16) for _ in range(4))
    agents = randn(rng, (B, H, n, D), F16)
    out, saved = tz.ops.agent_attention(q, k, v, agents, return_saved=True)
    assert rel_err(out, ref_forward(q, k, v, agents)) <= OUT_TOL[F16]
    grads = tz.ops.agent_attention_backward(q, k, v, agents, saved, do)
    assert [g.shape for g in grads] == [q.shape, k.shape, v.shape, agents.shape]
    assert all(np.isfinite(g.astype(np.float32)).all() for g in grads)


def test_argument_errors(rng):
    q = randn(rng, (1, 2, 8, 16), F16)
    agents = randn(rng, (1, 2, 3, 16), F16)
    with pytest.raises(ValueError, match="argument 'agents': expected shape"):
        tz.ops.agent_attention(q, q, q, randn(rng, (1, 2, 3, 32), F16))
    with pytest.raises(ValueError, match="argument 'agents': has dtype float32"):
        tz.ops.agent_attention(q, q, q, agents.astype(np.float32))
    with pytest.raises(ValueError, match="argument 'v': expected shape"):
        tz.ops.agent_attention(q, q, q[:, :, :4], agents)
    with pytest.raises(ValueError, match="argument 'agents': agent attention needs at least one agent"):
        tz.ops.agent_attention(q, q, q, agents[:, :, :0])
    with pytest.raises(ValueError, match="argument 'q': agent attention needs at least one token"):
        tz.ops.agent_attention(q[:, :, :0], q[:, :, :0], q[:, :, :0], agents)
