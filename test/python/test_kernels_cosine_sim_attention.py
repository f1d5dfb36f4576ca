"""kernels/cosine_sim_attention.py on the CPU interpreter, against a float64
numpy reference written here (forward and analytic gradients; the gradients
of the reference are themselves checked once against finite differences).

Every test draws fresh inputs (the `rng` fixture), poisons every output with
NaN before the launch (so an element a kernel forgets to write fails), and
bounds the normwise relative error max|got - ref| / max|ref| by a tolerance
fitting the dtype.
"""

import os

import numpy as np
import pytest

import terrazzo as tz
from conftest import BF16, poisoned

KERNEL_FILE = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "kernels",
                                            "cosine_sim_attention.py"))

# Normwise relative-error bounds: forward / gradients.
FWD_TOL = {np.dtype(np.float16): 2e-3, BF16: 2e-2, np.dtype(np.float32): 1e-5}
BWD_TOL = {np.dtype(np.float16): 4e-3, BF16: 3e-2, np.dtype(np.float32): 1e-5}

DTYPES = [pytest.param(np.float16, id="f16"), pytest.param(BF16, id="bf16",
                                                           marks=pytest.mark.skipif(BF16 is None,
                                                                                    reason="no ml_dtypes"))]

_kernels = {}


class StridedLauncher:
    """A library kernel whose array arguments are indexed with their strides
    (passed alongside), so every array goes in as tz.strided."""

    def __init__(self, kernel):
        self.kernel = kernel

    def interpret(self, grid, args, constexprs):
        args = tuple(tz.strided(a) if isinstance(a, np.ndarray) else a for a in args)
        self.kernel.interpret(grid, args, constexprs)


def kernel(name):
    """One Kernel per name for the whole module, so specializations compiled
    by one test are reused by the next."""
    if name not in _kernels:
        _kernels[name] = StridedLauncher(tz._terrazzo.Kernel.from_file(KERNEL_FILE, name))
    return _kernels[name]


def cdiv(a, b):
    return -(-a // b)


def elem_strides(a):
    """Strides in elements, 0 along size-1 dimensions (a size-1 bias
    dimension is broadcast: every index reads element 0)."""
    return tuple(0 if n == 1 else s // a.itemsize for n, s in zip(a.shape, a.strides))


# --- host-side launchers -------------------------------------------------------


class Options:
    def __init__(self, causal=False, bias=None, key_mask=None, key_lens=None, groups=1, scale=10.0,
                 eps=1e-6, block_m=32, block_n=32, need_dbias=True):
        self.causal = causal
        self.bias = bias  # 4-D (B or 1, H or 1, N_Q, N_K), any dtype / strides
        self.key_mask = key_mask  # (B, N_K) bool or int8
        self.key_lens = key_lens  # (B,) int32
        self.groups = groups
        self.scale = scale
        self.eps = eps
        self.block_m = block_m
        self.block_n = block_n
        self.need_dbias = need_dbias and bias is not None

    def constexprs(self, head_dim):
        return dict(CAUSAL=self.causal, HAS_BIAS=self.bias is not None,
                    HAS_KEY_MASK=self.key_mask is not None, HAS_KEY_LENS=self.key_lens is not None,
                    GROUPS=self.groups, BLOCK_M=self.block_m, BLOCK_N=self.block_n, HEAD_DIM=head_dim,
                    SCALE=float(self.scale))

    def bias_args(self):
        return elem_strides(self.bias) if self.bias is not None else (0, 0, 0, 0)

    def mask_args(self):
        return elem_strides(self.key_mask) if self.key_mask is not None else (0, 0)


def attention_fwd(q, k, v, opt, out=None):
    """q (B, H, N_Q, D), k / v (B, H_KV, N_K, D): any strides. Returns (o, lse)."""
    B, H, NQ, D = q.shape
    H_KV, NK = k.shape[1], k.shape[2]
    o = poisoned(q.shape, q.dtype) if out is None else out
    lse = poisoned((B, H, NQ), np.float32)
    k_inv = None
    if opt.groups == 1:  # the keys' inverse norms, as the library computes them first
        k_inv = poisoned((B, H_KV, NK), np.float32)
        kernel("cosine_sim_key_inv_norms").interpret(
            (cdiv(NK, 16), B * H_KV), (k, k_inv, *elem_strides(k), H_KV, NK, float(opt.eps)),
            dict(BLOCK_N=16, HEAD_DIM=D))
    args = (q, k, v, opt.bias, opt.key_mask, opt.key_lens, o, lse, k_inv,
            *elem_strides(q), *elem_strides(k), *elem_strides(v), *opt.bias_args(), *opt.mask_args(),
            *elem_strides(o), H, H_KV, NQ, NK, float(opt.eps))
    kernel("cosine_sim_attention_fwd").interpret((cdiv(NQ, opt.block_m), B * H), args, opt.constexprs(D))
    return o, lse


def attention_bwd(q, k, v, o, lse, do, opt, grads=None):
    """Returns (dq, dk, dv, dbias or None, delta). `grads` may give the
    (dq, dk, dv) output buffers (any dtype / strides); by default they are
    contiguous in the input dtypes."""
    B, H, NQ, D = q.shape
    H_KV, NK = k.shape[1], k.shape[2]
    if grads is None:
        grads = (poisoned(q.shape, q.dtype), poisoned(k.shape, k.dtype), poisoned(v.shape, v.dtype))
    dq, dk, dv = grads
    delta = poisoned((B, H, NQ), np.float32)
    kernel("cosine_sim_attention_bwd_preprocess").interpret(
        (cdiv(NQ, opt.block_m), B * H),
        (o, do, delta, *elem_strides(o), *elem_strides(do), H, NQ),
        dict(BLOCK_M=opt.block_m, HEAD_DIM=D))
    ce = opt.constexprs(D)
    common = (*elem_strides(q), *elem_strides(k), *elem_strides(v), *opt.bias_args(), *opt.mask_args(),
              *elem_strides(do))
    kernel("cosine_sim_attention_bwd_dkdv").interpret(
        (cdiv(NK, opt.block_n), B * H_KV),
        (q, k, v, opt.bias, opt.key_mask, opt.key_lens, do, lse, delta, dk, dv, *common,
         *elem_strides(dk), *elem_strides(dv), H, H_KV, NQ, NK, float(opt.eps)),
        ce)
    if opt.need_dbias:
        dbias = poisoned(opt.bias.shape, np.float32)
        rep_b = B if opt.bias.shape[0] == 1 else 1
        rep_h = H if opt.bias.shape[1] == 1 else 1
        db_strides = elem_strides(dbias)
    else:
        dbias, rep_b, rep_h, db_strides = None, 1, 1, (0, 0, 0, 0)
    kernel("cosine_sim_attention_bwd_dq").interpret(
        (cdiv(NQ, opt.block_m), (B // rep_b) * (H // rep_h)),
        (q, k, v, opt.bias, opt.key_mask, opt.key_lens, do, lse, delta, dq, dbias, *common,
         *elem_strides(dq), *db_strides, H, H_KV, NQ, NK, rep_b, rep_h, float(opt.eps)),
        dict(ce, HAS_DBIAS=opt.need_dbias))
    return dq, dk, dv, dbias, delta


# --- float64 reference -----------------------------------------------------------


def ref_normalize(x, groups, eps):
    """(x_hat, norms) with x_hat = x / max(||x||, eps) per group of columns."""
    g = x.reshape(*x.shape[:-1], groups, x.shape[-1] // groups)
    n = np.sqrt((g * g).sum(-1, keepdims=True))
    return (g / np.maximum(n, eps)).reshape(x.shape), n


def ref_normalize_bwd(x_hat, n, dx_hat, groups, eps):
    """dx from dx_hat: (dx_hat - x_hat (x_hat . dx_hat)) / ||x|| where the
    clamp is inactive, dx_hat / eps where it is active."""
    shape = x_hat.shape
    g = x_hat.reshape(*shape[:-1], groups, shape[-1] // groups)
    dg = dx_hat.reshape(g.shape)
    radial = np.where(n > eps, (g * dg).sum(-1, keepdims=True), 0.0)
    return ((dg - g * radial) / np.maximum(n, eps)).reshape(shape)


def ref_keep(B, NQ, NK, causal, key_mask=None, key_lens=None):
    """(B, 1, N_Q, N_K) bool: may query i attend key j."""
    i = np.arange(NQ)[:, None]
    j = np.arange(NK)[None, :]
    keep = np.ones((B, 1, NQ, NK), bool)
    if causal:
        keep &= j <= i + (NK - NQ)
    if key_mask is not None:
        keep &= np.asarray(key_mask).astype(bool)[:, None, None, :]
    if key_lens is not None:
        keep &= j < np.asarray(key_lens)[:, None, None, None]
    return keep


def ref_forward(q, k, v, bias, keep, groups, scale, eps):
    """float64 cosine-sim attention. Returns a dict with o, lse and the
    intermediates the backward needs."""
    q, k, v = (np.asarray(x, np.float64) for x in (q, k, v))
    H, H_KV = q.shape[1], k.shape[1]
    rep = H // H_KV
    q_hat, qn = ref_normalize(q, groups, eps)
    k_hat, kn = ref_normalize(k, groups, eps)
    ke, ve = np.repeat(k_hat, rep, axis=1), np.repeat(v, rep, axis=1)
    s = scale * q_hat @ ke.swapaxes(-1, -2)
    if bias is not None:
        s = s + np.asarray(bias, np.float64)
    s = np.where(keep, s, -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.where(keep, np.exp(s - m), 0.0)
    l = e.sum(-1, keepdims=True)
    p = np.where(l > 0, e / np.where(l > 0, l, 1.0), 0.0)
    o = p @ ve
    lse = np.where(l[..., 0] > 0, m[..., 0] + np.log(np.where(l[..., 0] > 0, l[..., 0], 1.0)), -np.inf)
    return dict(o=o, lse=lse, p=p, q_hat=q_hat, qn=qn, k_hat=k_hat, kn=kn, ke=ke, ve=ve, rep=rep)


def ref_backward(f, do, bias_shape, groups, scale, eps):
    """Analytic float64 gradients of sum(o * do): (dq, dk, dv, dbias)."""
    do = np.asarray(do, np.float64)
    p, o, rep = f["p"], f["o"], f["rep"]
    B, H, NQ, D = o.shape
    NK = p.shape[-1]
    dv = (p.swapaxes(-1, -2) @ do).reshape(B, H // rep, rep, NK, D).sum(2)
    dp = do @ f["ve"].swapaxes(-1, -2)
    delta = (do * o).sum(-1, keepdims=True)
    ds = p * (dp - delta)
    dq_hat = scale * ds @ f["ke"]
    dk_hat = (scale * ds.swapaxes(-1, -2) @ f["q_hat"]).reshape(B, H // rep, rep, NK, D).sum(2)
    dq = ref_normalize_bwd(f["q_hat"], f["qn"], dq_hat, groups, eps)
    dk = ref_normalize_bwd(f["k_hat"], f["kn"], dk_hat, groups, eps)
    dbias = None
    if bias_shape is not None:
        axes = tuple(a for a in (0, 1) if bias_shape[a] == 1)
        dbias = ds.sum(axis=axes, keepdims=True) if axes else ds
    return dq, dk, dv, dbias


# --- checks -----------------------------------------------------------------------


def rel_err(got, ref):
    got = np.asarray(got).astype(np.float64)
    ref = np.asarray(ref, np.float64)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    assert np.isfinite(got).all(), f"{int((~np.isfinite(got)).sum())} non-finite element(s)"
    return float(np.max(np.abs(got - ref)) / max(np.max(np.abs(ref)), 1e-30))


def check(what, got, ref, tol):
    err = rel_err(got, ref)
    assert err <= tol, f"{what}: normwise relative error {err:.3g} > {tol:g}"
    return err


def alloc(shape, dtype, layout="bhsd"):
    """A NaN-poisoned logical (B, H, S, D) array stored as `layout`: 'bhsd'
    contiguous; 'bshd' a transposed view of contiguous (B, S, H, D);
    'gapped' every other column of a (B, H, S, 2 D) array (head-dim stride 2,
    so no stride is 1)."""
    B, H, S, D = shape
    if layout == "bhsd":
        return poisoned(shape, dtype)
    if layout == "bshd":
        return poisoned((B, S, H, D), dtype).transpose(0, 2, 1, 3)
    assert layout == "gapped"
    return poisoned((B, H, S, 2 * D), dtype)[..., ::2]


def layout_of(x):
    if x.flags.c_contiguous:
        return "bhsd"
    return "gapped" if x.strides[3] != x.itemsize else "bshd"


def make_tensor(rng, shape, dtype, layout="bhsd", scale=1.0):
    """Random normal values in `dtype`, stored as `layout` (see alloc)."""
    x = alloc(shape, np.dtype(dtype), layout)
    x[...] = (rng.standard_normal(shape) * scale).astype(np.dtype(dtype))
    return x


def empty_like_layout(x, dtype=None):
    """A NaN-poisoned buffer with x's shape and x's memory layout."""
    return alloc(x.shape, x.dtype if dtype is None else dtype, layout_of(x))


def run_case(rng, dtype=np.float16, B=1, H=2, H_KV=None, NQ=70, NK=70, D=32, causal=False, groups=1,
             bias=None, key_mask=None, key_lens=None, layout="bhsd", block_m=32, block_n=32, scale=10.0,
             eps=1e-6, q=None, k=None, backward=True, fwd_tol=None, bwd_tol=None):
    """Forward (and backward) against the reference; returns a dict of the
    kernel results, the reference, and the errors. `bias` is 'head' (shared
    by the batch), 'batch' (shared by the heads), 'full', 'shared' (one
    (N_Q, N_K) matrix) or None."""
    dtype = np.dtype(dtype)
    H_KV = H if H_KV is None else H_KV
    q = make_tensor(rng, (B, H, NQ, D), dtype, layout) if q is None else q
    k = make_tensor(rng, (B, H_KV, NK, D), dtype, layout) if k is None else k
    v = make_tensor(rng, (B, H_KV, NK, D), dtype, layout)
    do = make_tensor(rng, (B, H, NQ, D), dtype, layout)
    bias_arr = None
    if isinstance(bias, np.ndarray):
        bias_arr = bias
    elif bias is not None:
        shape = {"head": (1, H, NQ, NK), "batch": (B, 1, NQ, NK), "full": (B, H, NQ, NK),
                 "shared": (1, 1, NQ, NK)}[bias]
        bias_arr = (rng.standard_normal(shape) * 2.0).astype(dtype)
    opt = Options(causal=causal, bias=bias_arr, key_mask=key_mask, key_lens=key_lens, groups=groups,
                  scale=scale, eps=eps, block_m=block_m, block_n=block_n)
    o, lse = attention_fwd(q, k, v, opt, out=empty_like_layout(q))
    keep = ref_keep(B, NQ, NK, causal, key_mask, key_lens)
    f = ref_forward(q, k, v, bias_arr, keep, groups, scale, eps)
    res = dict(o=o, lse=lse, ref=f, keep=keep, q=q, k=k, v=v, do=do, bias=bias_arr, opt=opt, err={})
    fwd_tol = FWD_TOL[dtype] if fwd_tol is None else fwd_tol
    res["err"]["o"] = check("o", o, f["o"], fwd_tol)
    # Lse: exact -inf for rows that attend nothing, else close in absolute
    # terms (it is a log: an absolute error is a relative error of sum exp).
    assert np.array_equal(np.isneginf(lse), np.isneginf(f["lse"])), "Lse: -inf rows differ"
    fin = np.isfinite(f["lse"])
    lse_err = float(np.max(np.abs(lse[fin] - f["lse"][fin]), initial=0.0))
    assert lse_err <= 20 * fwd_tol, f"Lse absolute error {lse_err:.3g}"
    res["err"]["lse"] = lse_err
    if not backward:
        return res
    dq, dk, dv, dbias, delta = attention_bwd(q, k, v, o, lse, do, opt,
                                             grads=(empty_like_layout(q), empty_like_layout(k),
                                                    empty_like_layout(v)))
    rdq, rdk, rdv, rdbias = ref_backward(f, do, None if bias_arr is None else bias_arr.shape, groups, scale, eps)
    bwd_tol = BWD_TOL[dtype] if bwd_tol is None else bwd_tol
    check("delta", delta, (do.astype(np.float64) * o.astype(np.float64)).sum(-1), 1e-5)
    for name, got, ref in (("dq", dq, rdq), ("dk", dk, rdk), ("dv", dv, rdv), ("dbias", dbias, rdbias)):
        if ref is not None:
            res["err"][name] = check(name, got, ref, bwd_tol)
    res.update(dq=dq, dk=dk, dv=dv, dbias=dbias, rdq=rdq, rdk=rdk, rdv=rdv, rdbias=rdbias)
    return res


# --- the reference itself -----------------------------------------------------------


def test_reference_gradients_match_finite_differences(rng):
    """The analytic float64 backward of the reference against central
    differences of its forward, on a tiny problem exercising everything:
    groups, MQA, causal cross attention with a fully masked row, a key mask,
    a per-head bias, and a q group and a k group below eps (clamped)."""
    B, H, H_KV, NQ, NK, D, G = 2, 2, 1, 4, 3, 4, 2
    scale, eps = 3.0, 0.2
    q = rng.standard_normal((B, H, NQ, D))
    k = rng.standard_normal((B, H_KV, NK, D))
    v = rng.standard_normal((B, H_KV, NK, D))
    q[0, 1, 2, :2] = [0.05, -0.08]  # group norm ~0.094 < eps: the clamp is active
    k[1, 0, 1, 2:] = [0.1, 0.03]
    bias = rng.standard_normal((1, H, NQ, NK))
    do = rng.standard_normal((B, H, NQ, D))
    key_mask = np.array([[True, True, True], [True, False, True]])
    keep = ref_keep(B, NQ, NK, True, key_mask)
    assert not keep[:, 0, 0].any(), "row 0 must be fully masked (N_Q > N_K, causal)"

    def loss(q, k, v, bias):
        return float((ref_forward(q, k, v, bias, keep, G, scale, eps)["o"] * do).sum())

    f = ref_forward(q, k, v, bias, keep, G, scale, eps)
    grads = ref_backward(f, do, bias.shape, G, scale, eps)
    inputs = [q, k, v, bias]
    h = 1e-6
    for idx, (x, g) in enumerate(zip(inputs, grads)):
        num = np.zeros_like(x)
        for pos in np.ndindex(x.shape):
            orig = x[pos]
            x[pos] = orig + h
            up = loss(*inputs)
            x[pos] = orig - h
            down = loss(*inputs)
            x[pos] = orig
            num[pos] = (up - down) / (2 * h)
        err = np.max(np.abs(num - g)) / np.max(np.abs(g))
        assert err < 1e-7, f"input {idx}: analytic vs numeric gradient, rel err {err:.3g}"


# --- forward + backward on the interpreter ------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("NQ,NK", [(77, 77), (45, 83), (83, 45)], ids=["self77", "cross45x83", "cross83x45"])
def test_fwd_bwd(rng, dtype, causal, NQ, NK):
    """Self and cross attention, lengths not multiples of the blocks. With
    causal and N_Q > N_K the first N_Q - N_K rows attend nothing."""
    r = run_case(rng, dtype=dtype, B=1, H=2, NQ=NQ, NK=NK, D=32, causal=causal)
    if causal and NQ > NK:
        dead = NQ - NK
        assert np.all(r["o"][:, :, :dead].astype(np.float32) == 0), "fully masked rows must be zeros"
        assert np.all(np.isneginf(r["lse"][:, :, :dead]))
        assert np.all(r["dq"][:, :, :dead].astype(np.float32) == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("D,groups", [(32, 1), (32, 2), (64, 1), (64, 2), (64, 4)])
def test_head_dims_and_groups(rng, dtype, D, groups):
    run_case(rng, dtype=dtype, B=1, H=2, NQ=50, NK=61, D=D, groups=groups, causal=True)


@pytest.mark.parametrize("block_m,block_n", [(16, 32), (32, 16), (64, 16)])
def test_block_shapes(rng, block_m, block_n):
    """Causal bounds (first / last key block, first query block of a key
    block) with unequal blocks."""
    run_case(rng, B=1, H=1, NQ=57, NK=90, D=32, causal=True, block_m=block_m, block_n=block_n, groups=2)
    run_case(rng, B=1, H=1, NQ=90, NK=57, D=32, causal=True, block_m=block_m, block_n=block_n)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_dtype", [np.bool_, np.int8], ids=["bool", "int8"])
def test_key_padding_mask(rng, dtype, mask_dtype):
    B, NQ, NK = 3, 40, 70
    key_mask = rng.random((B, NK)) < 0.7
    key_mask[1] = False  # batch 1 attends nothing: zeros, no NaN
    key_mask[2, 33:] = False
    key_mask = key_mask.astype(mask_dtype)
    if mask_dtype == np.int8:
        key_mask = key_mask * np.int8(5)  # any nonzero value keeps the key
    r = run_case(rng, dtype=dtype, B=B, H=2, NQ=NQ, NK=NK, D=32, key_mask=key_mask, causal=(mask_dtype == np.int8))
    assert np.all(r["o"][1].astype(np.float32) == 0) and np.all(r["dq"][1].astype(np.float32) == 0)
    assert np.all(r["dk"][1].astype(np.float32) == 0) and np.all(r["dv"][1].astype(np.float32) == 0)
    # masked keys get no gradient
    dead = ~key_mask.astype(bool)
    assert np.all(r["dv"].astype(np.float32)[np.broadcast_to(dead[:, None, :], r["dv"].shape[:3])] == 0)


def test_padding_keys_are_never_read(rng):
    """NaN / inf in masked-out keys and values (KeyMask and KeyLens) must not
    reach any output: padding is not even loaded."""
    B, H, NQ, NK, D = 2, 1, 33, 47, 32
    q, k, v, do = (make_tensor(rng, (B, H, n, D), np.float16) for n in (NQ, NK, NK, NQ))
    key_mask = np.ones((B, NK), bool)
    key_mask[0, 5:9] = False
    key_lens = np.array([NK, 30], np.int32)
    opt = Options(key_mask=key_mask, key_lens=key_lens, causal=True)
    kg, vg = k.copy(), v.copy()
    kg[0, :, 5:9] = np.nan
    vg[0, :, 5:9] = np.inf
    kg[1, :, 30:] = np.inf
    vg[1, :, 30:] = np.nan
    o, lse = attention_fwd(q, kg, vg, opt)
    dq, dk, dv, _, _ = attention_bwd(q, kg, vg, o, lse, do, opt)
    f = ref_forward(q, k, v, None, ref_keep(B, NQ, NK, True, key_mask, key_lens), 1, 10.0, 1e-6)
    check("o", o, f["o"], FWD_TOL[np.dtype(np.float16)])
    for name, got, ref in zip(("dq", "dk", "dv"), (dq, dk, dv), ref_backward(f, do, None, 1, 10.0, 1e-6)):
        check(name, got, ref, BWD_TOL[np.dtype(np.float16)])
    assert np.all(dk[0, :, 5:9] == 0) and np.all(dv[1, :, 30:] == 0)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_key_lengths(rng, causal):
    B, NQ, NK = 4, 37, 75
    key_lens = np.array([75, 40, 0, 100], np.int32)  # 0: nothing to attend; > N_K: clamped
    r = run_case(rng, dtype=np.float16, B=B, H=1, NQ=NQ, NK=NK, D=32, key_lens=key_lens, causal=causal,
                 bias="head")
    assert np.all(r["o"][2].astype(np.float32) == 0) and np.all(r["dbias"][0, 0][~r["keep"].any(0)[0]] == 0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bias", ["head", "batch", "full", "shared"])
def test_bias_and_dbias(rng, dtype, bias):
    """Additive bias broadcast over the batch (per head), over the heads (per
    batch), not broadcast, or over both; dBias is summed over the broadcast
    dimensions. Causal cross attention: dBias must be written (zeros) above
    the diagonal and in fully masked rows too."""
    run_case(rng, dtype=dtype, B=2, H=2, NQ=45, NK=38, D=32, bias=bias, causal=True)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bias_can_mask(rng, dtype):
    """-inf in the bias masks: a row whose bias is all -inf attends nothing
    (zeros, Lse = -inf, and in the backward P = exp(s - Lse) must not become
    exp(-inf + inf) = NaN), other -inf entries just drop keys."""
    B, H, NQ, NK = 2, 2, 40, 50
    bias = (rng.standard_normal((B, H, NQ, NK)) * 2.0).astype(np.dtype(dtype))
    bias[0, 1, 5] = -np.inf
    bias[1, 0, 33] = -np.inf
    bias[1, 0, :, 10:20] = -np.inf
    bias[0, 0, :20, 40:] = -np.inf
    r = run_case(rng, dtype=dtype, B=B, H=H, NQ=NQ, NK=NK, D=32, bias=bias, causal=True)
    for b, h, i in ((0, 1, 5), (1, 0, 33)):
        assert np.isneginf(r["lse"][b, h, i]) and np.all(r["o"][b, h, i].astype(np.float32) == 0)
        assert np.all(r["dq"][b, h, i].astype(np.float32) == 0) and np.all(r["dbias"][b, h, i] == 0)


def test_bias_with_strided_layout_and_no_dbias(rng):
    """A bias stored transposed (N_K-major) and broadcast through a stride-0
    view; HAS_DBIAS=False skips dBias."""
    B, H, NQ, NK, D = 2, 2, 40, 52, 32
    q, k, v = (make_tensor(rng, (B, H, n, D), np.float16) for n in (NQ, NK, NK))
    bias_t = rng.standard_normal((H, NK, NQ)).astype(np.float32)
    bias = np.broadcast_to(bias_t.transpose(0, 2, 1)[None], (B, H, NQ, NK))
    assert bias.strides[0] == 0
    opt = Options(bias=bias, need_dbias=False)
    o, lse = attention_fwd(q, k, v, opt)
    f = ref_forward(q, k, v, bias, ref_keep(B, NQ, NK, False), 1, 10.0, 1e-6)
    check("o", o, f["o"], FWD_TOL[np.dtype(np.float16)])
    do = make_tensor(rng, (B, H, NQ, D), np.float16)
    dq, dk, dv, dbias, _ = attention_bwd(q, k, v, o, lse, do, opt)
    assert dbias is None
    rdq, rdk, rdv, _ = ref_backward(f, do, None, 1, 10.0, 1e-6)
    for name, got, ref in (("dq", dq, rdq), ("dk", dk, rdk), ("dv", dv, rdv)):
        check(name, got, ref, BWD_TOL[np.dtype(np.float16)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("H,H_KV", [(4, 1), (4, 2)], ids=["mqa", "gqa"])
def test_mqa_gqa(rng, dtype, H, H_KV):
    run_case(rng, dtype=dtype, B=2, H=H, H_KV=H_KV, NQ=33, NK=41, D=32, causal=True, groups=2, bias="batch")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", ["bshd", "gapped"])
def test_strided_layouts(rng, dtype, layout):
    """(B, S, H, D) storage, and a head dimension with stride 2, for q, k, v,
    dO, O, dQ, dK, dV, and a key mask with a key stride of 3: strides only,
    no copies."""
    B, NK = 2, 52
    key_mask = (rng.random((B, 3 * NK)) < 0.8)[:, ::3]
    r = run_case(rng, dtype=dtype, B=B, H=2, H_KV=1, NQ=39, NK=NK, D=64, layout=layout, causal=True,
                 key_mask=key_mask, groups=2)
    for name in ("q", "o", "dq", "dk", "dv"):
        assert layout_of(r[name]) == layout or r[name].shape[1] == 1, name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("groups", [1, 2])
def test_zero_vectors(rng, dtype, groups):
    """Zero q and k vectors (and single zero groups) normalise to zero: finite
    output, finite gradients equal to the clamped normalisation's (dx_hat /
    eps); likewise nonzero vectors shorter than eps. eps is chosen so that
    dx_hat / eps fits float16."""
    B, H, NQ, NK, D = 1, 2, 40, 36, 32
    q = make_tensor(rng, (B, H, NQ, D), dtype)
    k = make_tensor(rng, (B, H, NK, D), dtype)
    q[0, 0, 3] = 0
    q[0, 1, 17:20] = 0
    q[0, 1, 25, : D // 2] = 0
    k[0, 0, 0] = 0
    k[0, 1, 30:36] = 0  # the last key block holds only zero keys
    k[0, 0, 8, D // 2:] = 0
    # Nonzero vectors (groups) shorter than eps: the clamp is active there.
    q[0, 0, 30] = (q[0, 0, 30].astype(np.float64) * 2e-3 / np.linalg.norm(q[0, 0, 30].astype(np.float64)))
    k[0, 1, 11] = (k[0, 1, 11].astype(np.float64) * 4e-3 / np.linalg.norm(k[0, 1, 11].astype(np.float64)))
    r = run_case(rng, dtype=dtype, B=B, H=H, NQ=NQ, NK=NK, D=D, q=q, k=k, groups=groups, eps=1e-2,
                 backward=True, bwd_tol=float("inf"))
    # The zero rows' gradients (~1/eps) dwarf the others: check both sets on
    # their own scale.
    zq = np.zeros((B, H, NQ), bool)
    zq[0, 0, 3] = zq[0, 1, 17:20] = zq[0, 1, 25] = zq[0, 0, 30] = True
    zk = np.zeros((B, H, NK), bool)
    zk[0, 0, 0] = zk[0, 1, 30:36] = zk[0, 0, 8] = zk[0, 1, 11] = True
    tol = BWD_TOL[np.dtype(dtype)]
    for name, got, ref, zero in (("dq", r["dq"], r["rdq"], zq), ("dk", r["dk"], r["rdk"], zk)):
        check(name + " (zero rows)", got[zero], ref[zero], tol)
        check(name + " (other rows)", got[~zero], ref[~zero], tol)
    check("dv", r["dv"], r["rdv"], tol)


def test_float32_gradients_and_inputs(rng):
    """float32 inputs, and float16 inputs with float32 dQ/dK/dV buffers: the
    kernels convert to the output pointer's dtype."""
    run_case(rng, dtype=np.float32, B=1, H=2, NQ=40, NK=45, D=32, causal=True, groups=2, bias="head",
             fwd_tol=5e-6, bwd_tol=2e-5)
    B, H, NQ, NK, D = 1, 2, 40, 45, 32
    q, k, v, do = (make_tensor(rng, (B, H, n, D), np.float16) for n in (NQ, NK, NK, NQ))
    opt = Options(causal=True)
    o, lse = attention_fwd(q, k, v, opt)
    grads = attention_bwd(q, k, v, o, lse, do, opt,
                          grads=tuple(poisoned(x.shape, np.float32) for x in (q, k, v)))
    f = ref_forward(q, k, v, None, ref_keep(B, NQ, NK, True), 1, 10.0, 1e-6)
    for name, got, ref in zip(("dq", "dk", "dv"), grads[:3], ref_backward(f, do, None, 1, 10.0, 1e-6)):
        assert got.dtype == np.float32
        check(name, got, ref, BWD_TOL[np.dtype(np.float16)])


@pytest.mark.parametrize("dtype", DTYPES + [pytest.param(np.float32, id="f32")])
@pytest.mark.parametrize("groups,scale", [(1, 10.0), (1, 40.0), (2, 10.0)])
def test_scores_at_the_bounds(rng, dtype, groups, scale):
    """Rows whose scores all sit at +BOUND (q parallel to every key: p = 1 at
    the fixed offset, the overflow side) and rows whose scores all sit at
    -BOUND (q antiparallel: p = exp(-2 * BOUND), the underflow side, where a
    float16 p must not lose precision). Forward in every dtype; gradients in
    float32 only: with near-parallel vectors dq is a small difference of
    SCALE-sized terms, ill-conditioned in 16-bit arithmetic."""
    B, H, NQ, NK, D = 1, 1, 20, 24, 32
    base = rng.standard_normal(D)
    sign = np.where(np.arange(NQ) % 2 == 0, 1.0, -1.0)[None, None, :, None]
    q = (sign * base + 1e-2 * rng.standard_normal((B, H, NQ, D))).astype(np.dtype(dtype))
    k = (3.0 * base + 1e-2 * rng.standard_normal((B, H, NK, D))).astype(np.dtype(dtype))
    # With GROUPS > 1 the normalised q and k are rounded to the input dtype
    # before the score dot (the group norms do not factor out of it), so the
    # scores carry an error up to ~GROUPS * SCALE * unit roundoff, largest
    # exactly here where every |q_hat . k_hat| is at its bound: 2.5x looser.
    fwd_tol = FWD_TOL[np.dtype(dtype)] * (2.5 if groups > 1 else 1.0)
    r = run_case(rng, dtype=dtype, B=B, H=H, NQ=NQ, NK=NK, D=D, q=q, k=k, scale=scale, groups=groups,
                 backward=np.dtype(dtype) == np.float32, fwd_tol=fwd_tol, bwd_tol=1e-4)
    # Lse <= BOUND + log(N_K), up to the rounding of q_hat / k_hat (GROUPS > 1).
    assert np.all(r["lse"] <= groups * scale * (1 + 2.0**-7) + np.log(NK))
