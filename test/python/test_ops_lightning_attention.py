"""terrazzo.ops.lightning_attention (+ _backward, _decode): the chunked DSL
kernels of kernels/lightning_attention.py behind their C++ host wrappers, on
the CPU interpreter (16-row chunks, 16-wide state tiles, so small shapes
cross chunk and tile boundaries), against the float64 recurrence of
lightning_reference.py. Outputs are written into NaN-poisoned buffers."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import BF16, poisoned
from lightning_reference import ref_backward, ref_forward

_ops = tz.ops._ops

F16 = np.dtype(np.float16)
DTYPES = [pytest.param(F16, id="f16"),
          pytest.param(BF16, id="bf16", marks=pytest.mark.skipif(BF16 is None, reason="no ml_dtypes"))]

# Normwise relative error bounds (max |got - ref| / max |ref|). The inputs
# are exact in both; the kernels round the decayed keys, the carried state
# and the intra-chunk scores to the input dtype before each tensor-core
# product (accumulating in float32), and the result once.
OUT_TOL = {F16: 4e-3, BF16: 3e-2}
GRAD_TOL = {F16: 6e-3, BF16: 4e-2}
STATE_TOL = {F16: 3e-3, BF16: 2e-2}


def rel_err(got, ref):
    got = np.asarray(got).astype(np.float64)
    ref = np.asarray(ref, np.float64)
    assert got.shape == ref.shape, f"shape {got.shape} != {ref.shape}"
    assert not np.isnan(got).any(), "NaN in the result (an element left unwritten?)"
    denom = max(np.max(np.abs(ref), initial=0.0), 1e-30)
    return np.max(np.abs(got - ref), initial=0.0) / denom


def check(what, got, ref, tol):
    err = rel_err(got, ref)
    assert err <= tol, f"{what}: normwise relative error {err:.3g} > {tol:g}"


def randn(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.dtype(dtype))


def slopes(rng, H):
    """Per-head decay slopes: one head without decay (as in the Lightning
    slope schedule), the others from mild to strong."""
    s = rng.uniform(0.02, 0.8, size=H).astype(np.float32)
    s[0] = 0.0
    return s


def inputs(rng, dtype, B, H, N, DK, DV, layout="bhsd"):
    if layout == "bshd":  # (B, N, H, D) memory viewed as (B, H, N, D): strides, no copies
        mk = lambda D: randn(rng, (B, N, H, D), dtype).transpose(0, 2, 1, 3)
    else:
        mk = lambda D: randn(rng, (B, H, N, D), dtype)
    return mk(DK), mk(DK), mk(DV), mk(DV)


def run(rng, dtype, B=2, H=3, N=37, DK=16, DV=32, decay=False, initial=False, dfinal=False, scale=None,
        layout="bhsd"):
    """Forward and backward into poisoned buffers, checked against the
    float64 recurrence; returns the results."""
    dtype = np.dtype(dtype)
    q, k, v, do = inputs(rng, dtype, B, H, N, DK, DV, layout)
    dec = slopes(rng, H) if decay else None
    init = randn(rng, (B, H, DK, DV), np.float32) if initial else None
    dfin = randn(rng, (B, H, DK, DV), np.float32, 0.3) if dfinal else None

    out, fin = poisoned((B, H, N, DV), dtype), poisoned((B, H, DK, DV))
    _ops.lightning_attention_forward(q, k, v, dec, scale, init, True, out=out, final_state_out=fin)
    r_out, r_fin, _ = ref_forward(q, k, v, dec, scale, init)
    check("out", out, r_out, OUT_TOL[dtype])
    check("final_state", fin, r_fin, STATE_TOL[dtype])

    dq, dk = poisoned(q.shape, dtype), poisoned(k.shape, dtype)
    dv, dinit = poisoned(v.shape, dtype), poisoned((B, H, DK, DV))
    _ops.lightning_attention_backward(q, k, v, do, dec, scale, init, dfin, True, dq=dq, dk=dk, dv=dv,
                                      dinitial_state=dinit)
    refs = ref_backward(q, k, v, do, dec, scale, init, dfin)
    for name, got, ref in zip(("dq", "dk", "dv", "dinitial_state"), (dq, dk, dv, dinit), refs):
        check(name, got, ref, GRAD_TOL[dtype])
    return dict(q=q, k=k, v=v, decay=dec, init=init, out=out, final=fin)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decay", [False, True], ids=["nodecay", "decay"])
@pytest.mark.parametrize("initial", [False, True], ids=["zero", "init"])
@pytest.mark.parametrize("N", [1, 37], ids=["S1", "S37"])
def test_forward_backward(rng, dtype, decay, initial, N):
    """Output, final state, dq, dk, dv and the initial state's gradient
    (with a final-state gradient when an initial state is given); N = 37
    is three chunks, the last ragged; N = 1 a single row."""
    run(rng, dtype, N=N, decay=decay, initial=initial, dfinal=initial)


@pytest.mark.parametrize("dtype", DTYPES)
def test_whole_chunks_wide_keys_and_strides(rng, dtype):
    """N a multiple of the chunk, Dk > Dv (the output loops over key
    blocks), (B, N, H, D) memory through strides, an explicit scale."""
    run(rng, dtype, B=1, H=2, N=32, DK=32, DV=16, decay=True, initial=True, dfinal=True, scale=0.3, layout="bshd")


@pytest.mark.parametrize("DK,DV", [(64, 128), (256, 16), (16, 256)])
def test_library_head_dims(rng, DK, DV):
    """The issue's head dims (64, 128, 256) on the interpreter, bf16, with
    decay, an initial state and a final-state gradient."""
    run(rng, BF16 or F16, B=1, H=2, N=40, DK=DK, DV=DV, decay=True, initial=True, dfinal=True)


@pytest.mark.parametrize("tiles", ["32,16,32,32,16,1", "64,32,16,16,32,3", "16,16,16,16,16,1000", "128,32,32,32,32"])
def test_other_tiles(rng, monkeypatch, tiles):
    """TZ_LIGHTNING_TILES (chunk, state tiles, output tiles, chunks per
    segment): the GPU's 64- and 128-row chunks, one chunk per segment, a
    single segment, on the interpreter."""
    monkeypatch.setenv("TZ_LIGHTNING_TILES", tiles)
    run(rng, F16, B=1, H=2, N=300, DK=32, DV=32, decay=True, initial=True, dfinal=True)


def test_tiles_override_is_checked(rng, monkeypatch):
    q, k, v, _ = inputs(rng, F16, 1, 1, 8, 16, 16)
    for bad in ("64,24,64,128,64", "64,32,64,128", "64,32,64,128,64,-1", "a,b"):
        monkeypatch.setenv("TZ_LIGHTNING_TILES", bad)
        with pytest.raises(ValueError, match="argument 'TZ_LIGHTNING_TILES': expected chunk,stateA"):
            tz.ops.lightning_attention(q, k, v)


def test_strong_decay_and_long_sequence(rng):
    """Slopes up to 8 (lambda ~ 3e-4: the decay underflows across a chunk)
    over six chunks; without decay the state grows with N."""
    B, H, N, DK, DV = 1, 2, 90, 16, 16
    q, k, v, do = inputs(rng, F16, B, H, N, DK, DV)
    for dec in (np.array([8.0, 0.5], np.float32), None):
        out, fin = tz.ops.lightning_attention(q, k, v, decay=dec, return_final_state=True)
        r_out, r_fin, _ = ref_forward(q, k, v, dec)
        check("out", out, r_out, OUT_TOL[F16])
        check("final_state", fin, r_fin, STATE_TOL[F16])
        grads = tz.ops.lightning_attention_backward(q, k, v, do, decay=dec)
        for name, got, ref in zip(("dq", "dk", "dv", "dinit"), grads, ref_backward(q, k, v, do, dec)):
            check(name, got, ref, GRAD_TOL[F16])


def test_empty_sequence(rng):
    """N = 0: no output rows; the final state is the initial state and its
    gradient the final state's gradient."""
    q, k, v, do = inputs(rng, F16, 1, 2, 0, 16, 16)
    init = randn(rng, (1, 2, 16, 16), np.float32)
    dfin = randn(rng, (1, 2, 16, 16), np.float32)
    out, fin = tz.ops.lightning_attention(q, k, v, decay=np.ones(2, np.float32), initial_state=init,
                                          return_final_state=True)
    assert out.shape == (1, 2, 0, 16)
    np.testing.assert_array_equal(fin, init)
    _, _, _, dinit = tz.ops.lightning_attention_backward(q, k, v, do, initial_state=init, dfinal_state=dfin)
    np.testing.assert_array_equal(dinit, dfin)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("decay", [False, True], ids=["nodecay", "decay"])
def test_decode_matches_forward_at_every_position(rng, dtype, decay):
    """Decoding token by token from an initial state gives the chunked
    forward's output at every position and its final state; the in-place
    step updates the caller's state."""
    dtype = np.dtype(dtype)
    B, H, N, DK, DV = 2, 2, 21, 16, 32
    q, k, v, _ = inputs(rng, dtype, B, H, N, DK, DV)
    dec = slopes(rng, H) if decay else None
    init = randn(rng, (B, H, DK, DV), np.float32)
    fwd, fwd_fin = tz.ops.lightning_attention(q, k, v, decay=dec, initial_state=init, return_final_state=True)
    r_out, r_fin, r_states = ref_forward(q, k, v, dec, None, init)
    state = init.copy()
    for t in range(N):
        sl = slice(t, t + 1)
        out, new_state = tz.ops.lightning_attention_decode(q[:, :, sl], k[:, :, sl], v[:, :, sl], state, decay=dec,
                                                           inplace=(t % 2 == 1))
        if t % 2 == 1:
            assert new_state is state
        else:
            assert new_state is not state
            state = new_state
        check(f"decode state {t}", state, r_states[t], 1e-5)
        check(f"decode out {t}", out, r_out[:, :, sl], OUT_TOL[dtype])
        # chunked forward vs decode, each within its error of the reference
        check(f"forward vs decode at {t}", fwd[:, :, sl], out.astype(np.float64), 2 * OUT_TOL[dtype])
    check("final state: forward vs decode", fwd_fin, state, 2 * STATE_TOL[dtype])


def test_decode_poisoned_outputs_and_strides(rng):
    """Decode into poisoned buffers, q/k/v as (B, 1, H, D) memory."""
    B, H, DK, DV = 3, 2, 32, 16
    q, k, v = (randn(rng, (B, 1, H, D), BF16 or F16).transpose(0, 2, 1, 3) for D in (DK, DK, DV))
    state = randn(rng, (B, H, DK, DV), np.float32)
    dec = slopes(rng, H)
    out, new_state = poisoned((B, H, 1, DV), q.dtype), poisoned((B, H, DK, DV))
    _ops.lightning_attention_decode(q, k, v, state, dec, 0.7, False, out=out, new_state_out=new_state)
    r_out, r_fin, _ = ref_forward(q, k, v, dec, 0.7, state)
    check("out", out, r_out, OUT_TOL[np.dtype(q.dtype)])
    check("new_state", new_state, r_fin, 1e-6)


# ---------------------------------------------------------------------------
# a feature map (linear attention with phi(x) = elu(x) + 1)
# ---------------------------------------------------------------------------

@tz.jit
def elu_plus_one(x):
    return tz.where(x > 0.0, x + 1.0, tz.exp(x))


@tz.jit
def elu_plus_one_grad(x, g):
    return tz.where(x > 0.0, g, g * tz.exp(x))


def elu_plus_one_np(x):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))


def elu_plus_one_grad_np(x):
    x = np.asarray(x, np.float64)
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_feature_map(rng, dtype):
    """phi(q_t) S_t with S_t from phi(k_t): the output, final state, every
    gradient (through phi's derivative) and decoding, against the recurrence
    on phi(q), phi(k) in float64; N = 37 so the padding rows (phi(0) = 1)
    must stay out of the states."""
    dtype = np.dtype(dtype)
    B, H, N, DK, DV = 1, 2, 37, 16, 32
    q, k, v, do = inputs(rng, dtype, B, H, N, DK, DV)
    dec = slopes(rng, H)
    init = randn(rng, (B, H, DK, DV), np.float32)
    dfin = randn(rng, (B, H, DK, DV), np.float32, 0.3)
    maps = dict(feature_map=elu_plus_one)
    out, fin = tz.ops.lightning_attention(q, k, v, decay=dec, initial_state=init, return_final_state=True, **maps)
    pq, pk = elu_plus_one_np(q), elu_plus_one_np(k)
    r_out, r_fin, _ = ref_forward(pq, pk, v, dec, None, init)
    check("out", out, r_out, OUT_TOL[dtype])
    check("final_state", fin, r_fin, STATE_TOL[dtype])
    grads = tz.ops.lightning_attention_backward(q, k, v, do, decay=dec, initial_state=init, dfinal_state=dfin,
                                                feature_map=elu_plus_one, feature_map_grad=elu_plus_one_grad)
    rdq, rdk, rdv, rdinit = ref_backward(pq, pk, v, do, dec, None, init, dfin)
    refs = (rdq * elu_plus_one_grad_np(q), rdk * elu_plus_one_grad_np(k), rdv, rdinit)
    for name, got, ref in zip(("dq", "dk", "dv", "dinitial_state"), grads, refs):
        check(name, got, ref, GRAD_TOL[dtype])
    # decode the last three tokens from the state the forward reached before them
    _, state = tz.ops.lightning_attention(q[:, :, :N - 3], k[:, :, :N - 3], v[:, :, :N - 3], decay=dec,
                                          initial_state=init, return_final_state=True, **maps)
    for t in range(N - 3, N):
        o, state = tz.ops.lightning_attention_decode(q[:, :, t:t + 1], k[:, :, t:t + 1], v[:, :, t:t + 1], state,
                                                     decay=dec, inplace=True, **maps)
        check(f"decode out {t}", o, r_out[:, :, t:t + 1], OUT_TOL[dtype])
    check("decode final state", state, r_fin, STATE_TOL[dtype])


def test_feature_map_needs_its_gradient_for_the_backward(rng):
    q, k, v, do = inputs(rng, F16, 1, 1, 8, 16, 16)
    with pytest.raises(ValueError, match="argument 'feature_map_grad': is needed for the backward"):
        tz.ops.lightning_attention_backward(q, k, v, do, feature_map=elu_plus_one)
    with pytest.raises(ValueError, match="argument 'feature_map': must be a @tz.jit function"):
        tz.ops.lightning_attention(q, k, v, feature_map=3)


# ---------------------------------------------------------------------------
# the reference itself, and argument errors
# ---------------------------------------------------------------------------

def test_lightning_reference(rng):
    """The analytic float64 gradients of lightning_reference against central
    finite differences of its forward, along random directions."""
    B, H, N, DK, DV = 1, 2, 5, 3, 4
    q, k, v, do = (rng.standard_normal((B, H, N, D)) for D in (DK, DK, DV, DV))
    init, dfin = rng.standard_normal((2, B, H, DK, DV))
    dec = np.array([0.3, 0.0])

    def loss(q, k, v, init):
        out, fin, _ = ref_forward(q, k, v, dec, 0.5, init)
        return np.sum(out * do) + np.sum(fin * dfin)

    grads = ref_backward(q, k, v, do, dec, 0.5, init, dfin)
    args = [q, k, v, init]
    for i, g in enumerate(grads):
        d = rng.standard_normal(args[i].shape)
        plus = [a + 1e-6 * d if j == i else a for j, a in enumerate(args)]
        minus = [a - 1e-6 * d if j == i else a for j, a in enumerate(args)]
        fd = (loss(*plus) - loss(*minus)) / 2e-6
        assert abs(fd - np.sum(g * d)) <= 1e-6 * max(1.0, abs(fd)), (i, fd, np.sum(g * d))


def test_argument_errors(rng):
    q, k, v, do = inputs(rng, F16, 1, 2, 8, 16, 16)
    la = tz.ops.lightning_attention
    with pytest.raises(ValueError, match="argument 'q': expected dtype float16 or bfloat16"):
        la(q.astype(np.float32), k, v)
    with pytest.raises(ValueError, match="argument 'k'"):
        la(q, k.astype(BF16 or np.float32), v)
    with pytest.raises(ValueError, match="argument 'q': head dim 24"):
        la(*inputs(rng, F16, 1, 2, 8, 24, 16)[:3])
    with pytest.raises(ValueError, match="argument 'v': head dim 8"):
        la(q, k, randn(rng, (1, 2, 8, 8), F16))
    with pytest.raises(ValueError, match="argument 'v': expected shape"):
        la(q, k, randn(rng, (1, 2, 9, 16), F16))
    with pytest.raises(ValueError, match="argument 'decay': expected shape"):
        la(q, k, v, decay=np.ones(3, np.float32))
    with pytest.raises(ValueError, match="argument 'decay': expected dtype float32"):
        la(q, k, v, decay=np.ones(2, np.float64))
    with pytest.raises(ValueError, match="argument 'initial_state': expected dtype float32"):
        la(q, k, v, initial_state=np.zeros((1, 2, 16, 16), np.float16))
    with pytest.raises(ValueError, match="argument 'initial_state': expected shape"):
        la(q, k, v, initial_state=np.zeros((1, 2, 16, 8), np.float32))
    with pytest.raises(ValueError, match="argument 'scale': must be finite"):
        la(q, k, v, scale=float("inf"))
    with pytest.raises(ValueError, match="argument 'dfinal_state'"):
        tz.ops.lightning_attention_backward(q, k, v, do, dfinal_state=np.zeros((1, 2, 16), np.float32))
    with pytest.raises(ValueError, match="argument 'dout'"):
        tz.ops.lightning_attention_backward(q, k, v, do[:, :, :4])
    with pytest.raises(ValueError, match="argument 'q': decoding takes one token"):
        tz.ops.lightning_attention_decode(q, k, v, np.zeros((1, 2, 16, 16), np.float32))
    with pytest.raises(ValueError, match="argument 'state': expected dtype float32"):
        tz.ops.lightning_attention_decode(q[:, :, :1], k[:, :, :1], v[:, :, :1], np.zeros((1, 2, 16, 16), np.float16))
    with pytest.raises(TypeError, match="argument 'q'"):
        la([1, 2], k, v)


def test_torch_autograd(rng):
    """With torch CPU tensors: autograd through q, k, v, the initial state
    and the final state gives the reference gradients."""
    torch = pytest.importorskip("torch")
    B, H, N, DK, DV = 1, 2, 20, 16, 16
    q, k, v, do = inputs(rng, F16, B, H, N, DK, DV)
    dec = slopes(rng, H)
    init = randn(rng, (B, H, DK, DV), np.float32)
    dfin = randn(rng, (B, H, DK, DV), np.float32, 0.3)
    tq, tk, tv, tinit = (torch.from_numpy(x.copy()).requires_grad_() for x in (q, k, v, init))
    out, fin = tz.ops.lightning_attention(tq, tk, tv, decay=torch.from_numpy(dec), initial_state=tinit,
                                          return_final_state=True)
    (out.float() * torch.from_numpy(do).float()).sum().add_((fin * torch.from_numpy(dfin)).sum()).backward()
    refs = ref_backward(q, k, v, do, dec, None, init, dfin)
    for name, t, ref in zip(("dq", "dk", "dv", "dinit"), (tq, tk, tv, tinit), refs):
        check(name, t.grad.numpy(), ref, GRAD_TOL[F16])
