"""terrazzo.ops.cosine_sim_attention: the C++ host wrappers over the library's
cosine-similarity attention kernels (argument checks, tile sizes, grids,
the Delta scratch, the dBias reduction) on the interpreter, against the
float64 reference of test_kernels_cosine_sim_attention.py."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import BF16
from test_kernels_cosine_sim_attention import BWD_TOL, FWD_TOL, check, ref_backward, ref_forward, ref_keep

DTYPES = [pytest.param(np.float16, id="f16"),
          pytest.param(BF16, id="bf16", marks=pytest.mark.skipif(BF16 is None, reason="no ml_dtypes"))]


def randn(rng, shape, dtype, scale=1.0):
    return (rng.standard_normal(shape) * scale).astype(np.dtype(dtype))


def run(rng, dtype=np.float16, B=1, H=2, H_KV=None, NQ=37, NK=53, D=32, causal=False, groups=1, scale=10.0,
        eps=1e-6, bias=None, key_mask=None, key_lens=None, layout="bhsd", fwd_tol=None, bwd_tol=None):
    """Forward and backward through tz.ops against the reference. Returns a
    dict of the results and the reference."""
    dtype = np.dtype(dtype)
    H_KV = H if H_KV is None else H_KV
    if layout == "bshd":  # (B, S, H, D) memory viewed as (B, H, S, D): strides, no copies
        q = randn(rng, (B, NQ, H, D), dtype).transpose(0, 2, 1, 3)
        k = randn(rng, (B, NK, H_KV, D), dtype).transpose(0, 2, 1, 3)
        v = randn(rng, (B, NK, H_KV, D), dtype).transpose(0, 2, 1, 3)
    else:
        q, k, v = randn(rng, (B, H, NQ, D), dtype), randn(rng, (B, H_KV, NK, D), dtype), randn(rng, (B, H_KV, NK, D), dtype)
    do = randn(rng, (B, H, NQ, D), dtype)
    opts = dict(causal=causal, groups=groups, scale=scale, eps=eps, bias=bias, key_mask=key_mask, key_lens=key_lens)
    out, lse = tz.ops.cosine_sim_attention(q, k, v, return_lse=True, **opts)
    assert out.dtype == dtype and out.shape == q.shape
    assert lse.dtype == np.float32 and lse.shape == (B, H, NQ)
    bias4 = None if bias is None else np.asarray(bias).reshape((1,) * (4 - np.ndim(bias)) + np.shape(bias))
    keep = ref_keep(B, NQ, NK, causal, key_mask, key_lens)
    f = ref_forward(q, k, v, bias4, keep, groups, scale, eps)
    check("out", out, f["o"], FWD_TOL[dtype] if fwd_tol is None else fwd_tol)
    assert np.array_equal(np.isneginf(lse), np.isneginf(f["lse"])), "lse: -inf rows differ"
    fin = np.isfinite(f["lse"])
    assert np.max(np.abs(lse[fin] - f["lse"][fin]), initial=0.0) < 20 * FWD_TOL[dtype], "lse"
    dq, dk, dv, dbias = tz.ops.cosine_sim_attention_backward(q, k, v, out, lse, do, **opts)
    rdq, rdk, rdv, rdbias = ref_backward(f, do, None if bias4 is None else bias4.shape, groups, scale, eps)
    assert dq.dtype == dtype and dk.dtype == dtype and dv.dtype == dtype
    assert dq.shape == q.shape and dk.shape == k.shape and dv.shape == v.shape
    tol = BWD_TOL[dtype] if bwd_tol is None else bwd_tol
    for name, got, ref in (("dq", dq, rdq), ("dk", dk, rdk), ("dv", dv, rdv)):
        check(name, got, ref, tol)
    if bias is None:
        assert dbias is None
    else:
        assert dbias.dtype == np.float32 and dbias.shape == bias4.shape
        check("dbias", dbias, rdbias, tol)
    return dict(out=out, lse=lse, dq=dq, dk=dk, dv=dv, dbias=dbias, keep=keep, ref=f)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("NQ,NK", [(37, 53), (53, 37), (140, 70)], ids=["37x53", "53x37", "140x70"])
def test_forward_and_backward_gqa(rng, dtype, causal, NQ, NK):
    """GQA, ragged lengths, self-sized and cross attention; 140 queries take
    the interpreter's 64-row tiles. Causal with N_Q > N_K: the first rows
    attend nothing and are zeros."""
    r = run(rng, dtype, B=2, H=4, H_KV=2, NQ=NQ, NK=NK, causal=causal)
    if causal and NQ > NK:
        dead = NQ - NK
        assert np.all(r["out"][:, :, :dead].astype(np.float32) == 0)
        assert np.all(np.isneginf(r["lse"][:, :, :dead]))
        assert np.all(r["dq"][:, :, :dead].astype(np.float32) == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("D,groups,scale", [(16, 1, 10.0), (64, 2, 5.0), (64, 4, 3.0), (128, 1, 20.0)])
def test_head_dims_groups_and_scale(rng, dtype, D, groups, scale):
    run(rng, dtype, B=1, H=2, H_KV=1, NQ=20, NK=29, D=D, groups=groups, scale=scale, causal=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", ["head", "batch", "full", "shared", "2d", "float64"])
def test_bias_and_dbias(rng, dtype, kind):
    """An additive bias broadcast over the batch, the heads, both, or none;
    a 2-D (N_Q, N_K) bias; a float64 bias. dbias is summed over the broadcast
    dimensions (and written as zeros where causal masking hides the bias)."""
    B, H, NQ, NK = 2, 2, 45, 38
    shape = {"head": (1, H, NQ, NK), "batch": (B, 1, NQ, NK), "full": (B, H, NQ, NK), "shared": (1, 1, NQ, NK),
             "2d": (NQ, NK), "float64": (1, H, NQ, NK)}[kind]
    bias = randn(rng, shape, np.float64 if kind == "float64" else dtype, scale=2.0)
    r = run(rng, dtype, B=B, H=H, NQ=NQ, NK=NK, causal=True, bias=bias)
    # causal cross attention with N_Q > N_K: the first rows see nothing, dbias 0
    assert np.all(r["dbias"][..., : NQ - NK, :] == 0)


def test_bias_strided_and_no_dbias(rng):
    """A bias stored transposed (N_K-major) and broadcast over the batch
    through a stride-0 view; need_dbias=False skips dbias."""
    B, H, NQ, NK, D = 2, 2, 33, 41, 32
    q, k, v, do = (randn(rng, (B, H, n, D), np.float16) for n in (NQ, NK, NK, NQ))
    bias_t = randn(rng, (H, NK, NQ), np.float32)
    bias = np.broadcast_to(bias_t.transpose(0, 2, 1)[None], (B, H, NQ, NK))
    out, lse = tz.ops.cosine_sim_attention(q, k, v, bias=bias, return_lse=True)
    f = ref_forward(q, k, v, bias, ref_keep(B, NQ, NK, False), 1, 10.0, 1e-6)
    check("out", out, f["o"], FWD_TOL[np.dtype(np.float16)])
    dq, dk, dv, dbias = tz.ops.cosine_sim_attention_backward(q, k, v, out, lse, do, bias=bias, need_dbias=False)
    assert dbias is None
    for name, got, ref in zip(("dq", "dk", "dv"), (dq, dk, dv), ref_backward(f, do, None, 1, 10.0, 1e-6)):
        check(name, got, ref, BWD_TOL[np.dtype(np.float16)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_dtype", [np.bool_, np.int8], ids=["bool", "int8"])
def test_key_mask(rng, dtype, mask_dtype):
    """A key padding mask; batch 1 attends nothing (zeros, zero gradients)."""
    B, NK = 3, 50
    key_mask = rng.random((B, NK)) < 0.7
    key_mask[1] = False
    key_mask[2, 30:] = False
    key_mask = key_mask.astype(mask_dtype)
    if mask_dtype == np.int8:
        key_mask = key_mask * np.int8(3)  # any nonzero value keeps the key
    r = run(rng, dtype, B=B, H=2, NQ=29, NK=NK, key_mask=key_mask, causal=mask_dtype == np.int8)
    for name in ("out", "dq", "dk", "dv"):
        assert np.all(r[name][1].astype(np.float32) == 0), name
    dead = ~key_mask.astype(bool)
    assert np.all(r["dv"].astype(np.float32)[np.broadcast_to(dead[:, None, :], r["dv"].shape[:3])] == 0)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_key_lens_and_mask_with_bias(rng, causal):
    B, NK = 4, 47
    key_lens = np.array([47, 20, 0, 90], np.int32)  # 0: nothing to attend; > N_K: clamped
    key_mask = rng.random((B, NK)) < 0.9
    bias = randn(rng, (1, 2, 31, NK), np.float16)
    r = run(rng, np.float16, B=B, H=2, NQ=31, NK=NK, causal=causal, key_lens=key_lens, key_mask=key_mask, bias=bias)
    assert np.all(r["out"][2].astype(np.float32) == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bshd_layout_through_strides(rng, dtype):
    run(rng, dtype, B=2, H=2, H_KV=1, NQ=39, NK=44, D=64, groups=2, causal=True, layout="bshd")


def test_float32_gradient_buffers(rng):
    """The raw binding takes caller buffers; dq / dk / dv may be float32."""
    B, H, NQ, NK, D = 1, 2, 21, 26, 32
    q, k, v, do = (randn(rng, (B, H, n, D), np.float16) for n in (NQ, NK, NK, NQ))
    out, lse = tz.ops.cosine_sim_attention(q, k, v, causal=True, return_lse=True)
    bufs = [np.full(x.shape, np.nan, np.float32) for x in (q, k, v)]
    res = tz._terrazzo.ops.cosine_sim_attention_backward(q, k, v, out, lse, do, causal=True, dq=bufs[0], dk=bufs[1],
                                                         dv=bufs[2])
    assert all(a is b for a, b in zip(res[:3], bufs)) and res[3] is None
    f = ref_forward(q, k, v, None, ref_keep(B, NQ, NK, True), 1, 10.0, 1e-6)
    for name, got, ref in zip(("dq", "dk", "dv"), bufs, ref_backward(f, do, None, 1, 10.0, 1e-6)):
        check(name, got, ref, BWD_TOL[np.dtype(np.float16)])


def test_empty_dimensions(rng):
    """No keys: zeros, lse = -inf, zero dq. No queries: zero dk / dv."""
    q, do = randn(rng, (1, 2, 5, 16), np.float16), randn(rng, (1, 2, 5, 16), np.float16)
    k = v = np.zeros((1, 2, 0, 16), np.float16)
    out, lse = tz.ops.cosine_sim_attention(q, k, v, return_lse=True)
    assert np.all(out == 0) and np.all(np.isneginf(lse))
    dq, dk, dv, _ = tz.ops.cosine_sim_attention_backward(q, k, v, out, lse, do)
    assert np.all(dq == 0) and dk.shape == k.shape
    q = do = np.zeros((1, 2, 0, 16), np.float16)
    k, v = randn(rng, (1, 2, 5, 16), np.float16), randn(rng, (1, 2, 5, 16), np.float16)
    out, lse = tz.ops.cosine_sim_attention(q, k, v, return_lse=True)
    dq, dk, dv, _ = tz.ops.cosine_sim_attention_backward(q, k, v, out, lse, do)
    assert np.all(dk == 0) and np.all(dv == 0)


# --- argument checks -------------------------------------------------------------------


def _qkv(shape_q=(1, 2, 8, 32), shape_kv=(1, 2, 8, 32), dtype=np.float16):
    return np.ones(shape_q, dtype), np.ones(shape_kv, dtype), np.ones(shape_kv, dtype)


def _forward(q=None, k=None, v=None, **kw):
    dq, dk, dv = _qkv()
    return tz.ops.cosine_sim_attention(dq if q is None else q, dk if k is None else k, dv if v is None else v, **kw)


BAD_FORWARD = [
    (dict(q=np.ones((1, 2, 8, 32), np.float32)), "q", "dtype"),
    (dict(k=np.ones((1, 2, 8, 32), np.float32)), "k", "dtype"),
    (dict(q=np.ones((2, 8, 32), np.float16)), "q", "4 dimensions"),
    (dict(v=np.ones((1, 2, 4, 32), np.float16)), "v", "shape"),
    (dict(k=np.ones((1, 3, 8, 32), np.float16), v=np.ones((1, 3, 8, 32), np.float16)), "k", "divide"),
    (dict(k=np.ones((2, 2, 8, 32), np.float16), v=np.ones((2, 2, 8, 32), np.float16)), "k", "batch"),
    (dict(k=np.ones((1, 2, 8, 16), np.float16), v=np.ones((1, 2, 8, 16), np.float16)), "k", "head dim"),
    (dict(zip("qkv", _qkv((1, 2, 8, 24), (1, 2, 8, 24)))), "q", "power of two"),
    (dict(zip("qkv", _qkv((1, 2, 8, 8), (1, 2, 8, 8)))), "q", "power of two"),
    (dict(zip("qkv", _qkv((1, 2, 8, 512), (1, 2, 8, 512)))), "q", "power of two"),
    (dict(q=np.ones((1, 2, 8, 32), np.float16)[:, :, ::-1]), "q", "negative stride"),
    (dict(groups=3), "groups", "divisor"),
    (dict(groups=0), "groups", "divisor"),
    (dict(scale=0.0), "scale", "positive"),
    (dict(scale=-1.0), "scale", "positive"),
    (dict(scale=float("inf")), "scale", "finite"),
    (dict(scale=float("nan")), "scale", "finite"),
    (dict(eps=0.0), "eps", "positive"),
    (dict(bias=np.zeros((2, 2, 8, 8), np.float32)), "bias", "shape"),
    (dict(bias=np.zeros((1, 3, 8, 8), np.float32)), "bias", "shape"),
    (dict(bias=np.zeros((1, 1, 7, 8), np.float32)), "bias", "shape"),
    (dict(bias=np.zeros((1, 1, 1, 8, 8), np.float32)), "bias", "4 dimensions"),
    (dict(bias=np.zeros((8, 8), np.int32)), "bias", "dtype"),
    (dict(key_mask=np.ones((1, 7), bool)), "key_mask", "shape"),
    (dict(key_mask=np.ones((1, 8), np.float32)), "key_mask", "bool or int8"),
    (dict(key_mask=np.ones(8, bool)), "key_mask", "2 dimensions"),
    (dict(key_lens=np.ones(1, np.int64)), "key_lens", "int32"),
    (dict(key_lens=np.ones(2, np.int32)), "key_lens", "shape"),
]


@pytest.mark.parametrize("kwargs,arg,words", BAD_FORWARD, ids=[f"{a}-{w}-{i}" for i, (_, a, w) in enumerate(BAD_FORWARD)])
def test_bad_arguments_name_the_argument(kwargs, arg, words):
    with pytest.raises(ValueError) as info:
        _forward(**kwargs)
    msg = str(info.value)
    assert f"argument '{arg}'" in msg and words in msg, msg


def test_bad_types_name_the_argument():
    q, k, v = _qkv()
    with pytest.raises(TypeError, match="argument 'q'"):
        tz.ops.cosine_sim_attention([1.0], k, v)
    with pytest.raises(TypeError, match="argument 'bias'"):
        tz.ops.cosine_sim_attention(q, k, v, bias="nope")
    with pytest.raises(TypeError, match="argument 'key_lens'"):
        tz.ops.cosine_sim_attention(q, k, v, key_lens=[8])


def test_bad_backward_arguments():
    q, k, v = _qkv()
    out, lse = tz.ops.cosine_sim_attention(q, k, v, return_lse=True)
    bwd = tz.ops.cosine_sim_attention_backward
    with pytest.raises(ValueError, match="argument 'lse'.*shape"):
        bwd(q, k, v, out, np.zeros((1, 2, 4), np.float32), q)
    with pytest.raises(ValueError, match="argument 'lse'.*dtype"):
        bwd(q, k, v, out, lse.astype(np.float64), q)
    with pytest.raises(ValueError, match="argument 'lse'.*contiguous"):
        bwd(q, k, v, out, np.zeros((1, 8, 2), np.float32).transpose(0, 2, 1), q)
    with pytest.raises(ValueError, match="argument 'dout'.*dtype"):
        bwd(q, k, v, out, lse, q.astype(np.float32))
    with pytest.raises(ValueError, match="argument 'out'.*shape"):
        bwd(q, k, v, out[:, :, :4], lse, q)
    raw = tz._terrazzo.ops.cosine_sim_attention_backward
    with pytest.raises(ValueError, match="argument 'dq'.*shape"):
        raw(q, k, v, out, lse, q, dq=np.zeros((1, 2, 8, 16), np.float16))
    with pytest.raises(ValueError, match="argument 'dk'.*dtype"):
        raw(q, k, v, out, lse, q, dk=np.zeros(k.shape, np.float64))
    with pytest.raises(ValueError, match="argument 'dbias'.*needs a bias"):
        raw(q, k, v, out, lse, q, dbias=np.zeros((1, 1, 8, 8), np.float32))
    bias = np.zeros((1, 2, 8, 8), np.float32)
    with pytest.raises(ValueError, match="argument 'dbias'.*dtype"):
        raw(q, k, v, out, lse, q, bias=bias, dbias=np.zeros((1, 2, 8, 8), np.float16))
    with pytest.raises(ValueError, match="argument 'dbias'.*shape"):
        raw(q, k, v, out, lse, q, bias=bias, dbias=np.zeros((1, 1, 8, 8), np.float32))
