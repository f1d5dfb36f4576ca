"""The flash-attention kernels of kernels/flash_attention.py, loaded from the
file as C++ loads them, run on the CPU interpreter and checked against a
float64 numpy reference (forward, log-sum-exp, and the analytic gradients).

Inputs are fresh random values per test; every output is poisoned with NaN
before the launch, so an element a kernel fails to write fails the check.
Memory a kernel must not read (key padding past a batch's length, columns past
HEAD_DIM) holds NaN too, so a stray read poisons the result."""

import os

import numpy as np
import pytest

import terrazzo as tz
from conftest import BF16, assert_untouched, poisoned

KERNEL_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kernels", "flash_attention.py")
KERNEL_NAMES = ("flash_attention_fwd", "flash_attention_bwd_preprocess", "flash_attention_bwd_dkdv",
                "flash_attention_bwd_dq")

F16 = np.dtype(np.float16)
DTYPES = [F16] + ([BF16] if BF16 is not None else [])
DTYPE_IDS = ["f16"] + (["bf16"] if BF16 is not None else [])

# Normwise relative error bounds (max |got - ref| / max |ref|): one rounding
# of P to the input dtype before each product dominates the error.
OUT_RTOL = {F16: 2e-3, BF16: 2e-2}
GRAD_RTOL = {F16: 4e-3, BF16: 3e-2}
LSE_ATOL = 1e-4  # scores are exact products of the inputs, summed in fp32

# Used by the DSL functions below (module-level ints are constexprs).
WINDOW = 20


# ---------------------------------------------------------------------------
# SCORE_MOD / MASK_MOD functions, and their numpy twins
# ---------------------------------------------------------------------------

@tz.jit
def alibi(score, b, h, q_idx, kv_idx):
    slope = 0.125 * (h + 1)
    return score - slope * (q_idx - kv_idx)


def alibi_np(score, b, h, q_idx, kv_idx):
    return score - 0.125 * (h + 1) * (q_idx - kv_idx)


@tz.jit
def sliding_window(b, h, q_idx, kv_idx):
    return (q_idx - kv_idx < WINDOW) & (kv_idx - q_idx < WINDOW)


def sliding_window_np(b, h, q_idx, kv_idx):
    return (q_idx - kv_idx < WINDOW) & (kv_idx - q_idx < WINDOW)


@tz.jit
def drop_rows(b, h, q_idx, kv_idx):
    # Hides every key from some rows of some heads: those rows are fully masked.
    return ((q_idx + h) % 4) != 1


def drop_rows_np(b, h, q_idx, kv_idx):
    return ((q_idx + h) % 4) != 1


# ---------------------------------------------------------------------------
# reference
# ---------------------------------------------------------------------------

def reference(q, k, v, do, causal, scale, seqlens_k=None, score_mod=None, mask_mod=None):
    """float64 attention over (B, H, S, D) arrays: output, natural-log LSE and,
    for the upstream gradient `do`, the analytic dQ, dK, dV (score_mod's
    derivative taken as 1: additive mods only)."""
    q, k, v, do = (np.asarray(x, dtype=np.float64) for x in (q, k, v, do))
    B, H, NQ, _ = q.shape
    H_KV, NK = k.shape[1], k.shape[2]
    group = H // H_KV
    kr, vr = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    # Padding keys may hold NaN: zero them so 0 * NaN cannot leak through.
    nk = np.full(B, NK) if seqlens_k is None else np.minimum(np.asarray(seqlens_k), NK)
    kv_valid = np.arange(NK)[None, :] < nk[:, None]  # (B, NK)
    kr = np.where(kv_valid[:, None, :, None], kr, 0.0)
    vr = np.where(kv_valid[:, None, :, None], vr, 0.0)

    b_idx = np.arange(B)[:, None, None, None]
    h_idx = np.arange(H)[None, :, None, None]
    qi = np.arange(NQ)[:, None]
    kj = np.arange(NK)[None, :]
    s = q @ kr.transpose(0, 1, 3, 2) * scale
    if score_mod is not None:
        s = score_mod(s, b_idx, h_idx, qi, kj)
    nkb = nk[:, None, None, None]
    keep = np.broadcast_to(kj < nkb, s.shape)
    if causal:
        keep = keep & (kj <= qi + (nkb - NQ))
    if mask_mod is not None:
        keep = keep & mask_mod(b_idx, h_idx, qi, kj)
    s = np.where(keep, s, -np.inf)
    m = s.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(s - m)
    l = e.sum(-1, keepdims=True)
    p = e / np.where(l > 0, l, 1.0)
    o = p @ vr
    lse = np.where(l[..., 0] > 0, np.log(np.where(l > 0, l, 1.0))[..., 0] + m[..., 0], -np.inf)

    dp = do @ vr.transpose(0, 1, 3, 2)
    delta = (do * o).sum(-1, keepdims=True)
    ds = p * (dp - delta)
    dq = ds @ kr * scale
    dk = (ds.transpose(0, 1, 3, 2) @ q * scale).reshape(B, H_KV, group, NK, -1).sum(2)
    dv = (p.transpose(0, 1, 3, 2) @ do).reshape(B, H_KV, group, NK, -1).sum(2)
    return dict(o=o, lse=lse, dq=dq, dk=dk, dv=dv, rows_empty=(l[..., 0] == 0))


# ---------------------------------------------------------------------------
# launching
# ---------------------------------------------------------------------------

class StridedLauncher:
    """A library kernel whose array arguments are indexed with their strides
    (passed alongside), so every array goes in as tz.strided."""

    def __init__(self, kernel):
        self.kernel = kernel

    def interpret(self, grid, args, constexprs):
        args = tuple(tz.strided(a) if isinstance(a, np.ndarray) else a for a in args)
        self.kernel.interpret(grid, args, constexprs)


@pytest.fixture(scope="module")
def fa():
    return {name: StridedLauncher(tz._terrazzo.Kernel.from_file(KERNEL_FILE, name)) for name in KERNEL_NAMES}


def strides(a):
    """Element strides of a (B, H, S, D) view."""
    return tuple(s // a.itemsize for s in a.strides)


def cdiv(a, b):
    return (a + b - 1) // b


def alloc(shape_bhsd, dtype, layout="bhsd", pad_d=0):
    """A NaN-filled (B, H, S, D) view: memory in `layout` order ('bhsd' or
    'bshd'), with `pad_d` extra NaN columns after each row's D."""
    B, H, S, D = shape_bhsd
    if layout == "bhsd":
        return poisoned((B, H, S, D + pad_d), dtype)[..., :D]
    return poisoned((B, S, H, D + pad_d), dtype).transpose(0, 2, 1, 3)[..., :D]


def randn(rng, shape_bhsd, dtype, layout="bhsd", pad_d=0):
    x = alloc(shape_bhsd, dtype, layout, pad_d)
    x[...] = rng.standard_normal(shape_bhsd).astype(dtype)
    return x


def common_kwargs(head_dim_padded, block_m, block_n, causal, seqlens_k, score_mod, mask_mod, D):
    return dict(HEAD_DIM=D, BLOCK_M=block_m, BLOCK_N=block_n, CAUSAL=causal, HEAD_DIM_PADDED=head_dim_padded,
                HAS_SEQLENS_K=seqlens_k is not None, SCORE_MOD=score_mod, MASK_MOD=mask_mod)


def run_fwd(fa, q, k, v, o, lse, scale, causal, head_dim_padded=None, block_m=32, block_n=16, seqlens_k=None,
            score_mod=None, mask_mod=None):
    B, H, NQ, D = q.shape
    H_KV, NK = k.shape[1], k.shape[2]
    kw = common_kwargs(head_dim_padded, block_m, block_n, causal, seqlens_k, score_mod, mask_mod, D)
    kw["STORE_LSE"] = lse is not None
    fa["flash_attention_fwd"].interpret(
        (cdiv(NQ, block_m), B * H),
        (q, k, v, o, lse, seqlens_k) + strides(q) + strides(k) + strides(v) + strides(o) + (H, H_KV, NQ, NK, scale),
        kw)


def run_bwd(fa, q, k, v, o, do, lse, dq, dk, dv, scale, causal, head_dim_padded=None, block_m=32, block_n=16,
            seqlens_k=None, score_mod=None, mask_mod=None):
    B, H, NQ, D = q.shape
    H_KV, NK = k.shape[1], k.shape[2]
    delta = poisoned((B, H, NQ), np.float32)
    fa["flash_attention_bwd_preprocess"].interpret(
        (cdiv(NQ, block_m), B * H), (o, do, delta) + strides(o) + strides(do) + (H, NQ),
        dict(HEAD_DIM=D, BLOCK_M=block_m, HEAD_DIM_PADDED=head_dim_padded))
    kw = common_kwargs(head_dim_padded, block_m, block_n, causal, seqlens_k, score_mod, mask_mod, D)
    fa["flash_attention_bwd_dkdv"].interpret(
        (cdiv(NK, block_n), B * H_KV),
        (q, k, v, do, lse, delta, dk, dv, seqlens_k) + strides(q) + strides(k) + strides(v) + strides(do)
        + strides(dk) + strides(dv) + (H, H_KV, NQ, NK, scale), kw)
    fa["flash_attention_bwd_dq"].interpret(
        (cdiv(NQ, block_m), B * H),
        (q, k, v, do, lse, delta, dq, seqlens_k) + strides(q) + strides(k) + strides(v) + strides(do)
        + strides(dq) + (H, H_KV, NQ, NK, scale), kw)
    return delta


def rel_err(got, ref):
    got = np.asarray(got, dtype=np.float64)
    return float(np.max(np.abs(got - ref)) / max(float(np.max(np.abs(ref))), 1e-30))


def check(name, got, ref, bound):
    got64 = np.asarray(got, dtype=np.float64)
    assert np.all(np.isfinite(got64)), f"{name}: {int((~np.isfinite(got64)).sum())} non-finite element(s) " \
                                       f"(unwritten or NaN), first at {tuple(np.argwhere(~np.isfinite(got64))[0])}"
    err = rel_err(got64, ref)
    assert err <= bound, f"{name}: max relative error {err:.3g} > {bound:g}"


def check_lse(got, ref):
    got = np.asarray(got, dtype=np.float64)
    assert not np.isnan(got).any(), "lse: NaN (unwritten element?)"
    inf = np.isinf(ref)
    assert np.array_equal(got[inf], ref[inf]), "lse: fully masked rows must hold -inf"
    assert np.all(np.isfinite(got[~inf])), "lse: rows with visible keys must be finite"
    err = np.max(np.abs(got[~inf] - ref[~inf]), initial=0.0)
    assert err <= LSE_ATOL, f"lse: max abs error {err:.3g} > {LSE_ATOL:g}"


def attention_case(fa, rng, dtype, B, H, H_KV, NQ, NK, D, causal, layout="bhsd", head_dim_padded=None,
                   block_m=32, block_n=16, seqlens_k=None, score_mod=None, mask_mod=None, backward=True,
                   store_lse=True):
    """Runs forward (and backward) on fresh inputs and checks every output.
    Returns the reference, for extra checks."""
    pad_d = 0 if head_dim_padded is None else 3  # NaN columns a padded head dim must not read
    q = randn(rng, (B, H, NQ, D), dtype, layout, pad_d)
    k = randn(rng, (B, H_KV, NK, D), dtype, layout, pad_d)
    v = randn(rng, (B, H_KV, NK, D), dtype, layout, pad_d)
    do = randn(rng, (B, H, NQ, D), dtype, layout, pad_d)
    if seqlens_k is not None:
        seqlens_k = np.asarray(seqlens_k, dtype=np.int32)
        for bi in range(B):  # key padding: NaN that must never be read
            k[bi, :, seqlens_k[bi]:] = np.nan
            v[bi, :, seqlens_k[bi]:] = np.nan
    scale = 1.0 / np.sqrt(D)
    ref = reference(q, k, v, do, causal, scale, seqlens_k,
                    score_mod[1] if score_mod else None, mask_mod[1] if mask_mod else None)
    smod = score_mod[0] if score_mod else None
    mmod = mask_mod[0] if mask_mod else None
    opts = dict(head_dim_padded=head_dim_padded, block_m=block_m, block_n=block_n, seqlens_k=seqlens_k,
                score_mod=smod, mask_mod=mmod)

    o = alloc((B, H, NQ, D), dtype, layout, pad_d)
    lse = poisoned((B, H, NQ), np.float32) if store_lse or backward else None
    run_fwd(fa, q, k, v, o, lse, scale, causal, **opts)
    check("o", o, ref["o"], OUT_RTOL[dtype])
    # Fully masked rows are exactly zero, not merely small.
    assert np.all(np.asarray(o, dtype=np.float64)[ref["rows_empty"]] == 0.0), "fully masked rows must be 0"
    if lse is not None:
        check_lse(lse, ref["lse"])
    if pad_d:
        assert_untouched(o.base[..., D:], "o columns past HEAD_DIM")
    if not backward:
        return ref

    dq = alloc((B, H, NQ, D), dtype, layout, pad_d)
    dk = alloc((B, H_KV, NK, D), dtype, layout, pad_d)
    dv = alloc((B, H_KV, NK, D), dtype, layout, pad_d)
    run_bwd(fa, q, k, v, o, do, lse, dq, dk, dv, scale, causal, **opts)
    check("dq", dq, ref["dq"], GRAD_RTOL[dtype])
    check("dk", dk, ref["dk"], GRAD_RTOL[dtype])
    check("dv", dv, ref["dv"], GRAD_RTOL[dtype])
    assert np.all(np.asarray(dq, dtype=np.float64)[ref["rows_empty"]] == 0.0), "dq of fully masked rows must be 0"
    if pad_d:
        for name, t in (("dq", dq), ("dk", dk), ("dv", dv)):
            assert_untouched(t.base[..., D:], f"{name} columns past HEAD_DIM")
    return ref


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------

# (N_Q, N_K): self attention, cross with more keys, cross with more queries
# (under causal, the first N_Q - N_K rows see no key at all). None is a
# multiple of a block size.
SHAPES = [(77, 77), (45, 83), (90, 37)]
SHAPE_IDS = ["self77", "cross45x83", "cross90x37"]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("nq,nk", SHAPES, ids=SHAPE_IDS)
def test_fwd_bwd(fa, rng, dtype, causal, nq, nk):
    ref = attention_case(fa, rng, dtype, B=2, H=2, H_KV=2, NQ=nq, NK=nk, D=32, causal=causal)
    if causal and nq > nk:
        assert ref["rows_empty"].sum() == 2 * 2 * (nq - nk)  # the case really has empty rows


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("h_kv", [2, 1], ids=["gqa", "mqa"])
def test_gqa(fa, rng, causal, h_kv):
    attention_case(fa, rng, F16, B=1, H=4, H_KV=h_kv, NQ=50, NK=70, D=32, causal=causal)


@pytest.mark.parametrize("dtype,causal,nq,nk", [(F16, True, 70, 70), (BF16, False, 40, 65)],
                         ids=["f16-causal-self", "bf16-full-cross"])
def test_head_dim_64(fa, rng, dtype, causal, nq, nk):
    attention_case(fa, rng, dtype, B=1, H=2, H_KV=1, NQ=nq, NK=nk, D=64, causal=causal)


def test_head_dim_128(fa, rng):
    attention_case(fa, rng, F16, B=1, H=1, H_KV=1, NQ=40, NK=50, D=128, causal=True)


@pytest.mark.parametrize("dtype,d,d_pad", [(F16, 24, 32), (BF16, 24, 32), (F16, 96, 128)],
                         ids=["f16-24in32", "bf16-24in32", "f16-96in128"])
def test_head_dim_padded(fa, rng, dtype, d, d_pad):
    # HEAD_DIM columns in a power-of-two tile; the 3 columns after each row
    # are NaN, so reading past HEAD_DIM poisons the result.
    attention_case(fa, rng, dtype, B=1, H=2, H_KV=1, NQ=45, NK=60, D=d, head_dim_padded=d_pad, causal=True)


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_bshd_layout(fa, rng, causal):
    # Every tensor, outputs and gradients included, stored (B, S, H, D).
    attention_case(fa, rng, F16, B=2, H=4, H_KV=2, NQ=40, NK=57, D=32, causal=causal, layout="bshd")


def test_packed_qkv(fa, rng):
    # q, k, v as strided views of one (B, S, 3, H, D) projection output.
    B, S, H, D = 2, 50, 2, 32
    qkv = rng.standard_normal((B, S, 3, H, D)).astype(np.float16)
    q, k, v = (qkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
    do = rng.standard_normal((B, H, S, D)).astype(np.float16)
    scale = 1.0 / np.sqrt(D)
    ref = reference(q, k, v, do, True, scale)
    o = poisoned((B, H, S, D), np.float16)
    lse = poisoned((B, H, S), np.float32)
    run_fwd(fa, q, k, v, o, lse, scale, True)
    check("o", o, ref["o"], OUT_RTOL[F16])
    check_lse(lse, ref["lse"])
    dqkv = poisoned((B, S, 3, H, D), np.float16)
    dq, dk, dv = (dqkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))
    run_bwd(fa, q, k, v, o, do, lse, dq, dk, dv, scale, True)
    for name, got in (("dq", dq), ("dk", dk), ("dv", dv)):
        check(name, got, ref[name], GRAD_RTOL[F16])


@pytest.mark.parametrize("block_m,block_n", [(16, 32), (16, 16), (64, 16)])
def test_block_shapes(fa, rng, block_m, block_n):
    # The causal split into unmasked and masked key blocks depends on both
    # block sizes; N_Q > N_K puts the diagonal off the block grid.
    attention_case(fa, rng, F16, B=1, H=2, H_KV=2, NQ=75, NK=61, D=32, causal=True,
                   block_m=block_m, block_n=block_n)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_score_mod_alibi(fa, rng, dtype, causal):
    attention_case(fa, rng, dtype, B=1, H=2, H_KV=1, NQ=60, NK=75, D=32, causal=causal,
                   score_mod=(alibi, alibi_np))


@pytest.mark.parametrize("causal,nq,nk", [(True, 80, 80), (False, 50, 70)], ids=["causal-self", "full-cross"])
def test_mask_mod_sliding_window(fa, rng, causal, nq, nk):
    attention_case(fa, rng, F16, B=1, H=2, H_KV=2, NQ=nq, NK=nk, D=32, causal=causal,
                   mask_mod=(sliding_window, sliding_window_np))


def test_score_mod_and_mask_mod(fa, rng):
    attention_case(fa, rng, BF16, B=1, H=2, H_KV=1, NQ=64, NK=64, D=32, causal=True,
                   score_mod=(alibi, alibi_np), mask_mod=(sliding_window, sliding_window_np))


def test_fully_masked_rows_are_zero(fa, rng):
    # A MASK_MOD hiding whole rows (and, with causal cross attention, rows
    # before the first key): zeros and -inf LSE, never NaN, forward and backward.
    ref = attention_case(fa, rng, F16, B=1, H=2, H_KV=2, NQ=60, NK=40, D=32, causal=True,
                         mask_mod=(drop_rows, drop_rows_np))
    assert ref["rows_empty"].sum() > 2 * 20


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_key_lengths(fa, rng, causal):
    # Per-batch key lengths (a KV cache of varying fill); one batch has no key.
    # Causal aligns each batch's diagonal to its own key length.
    ref = attention_case(fa, rng, F16, B=3, H=2, H_KV=1, NQ=20, NK=70, D=32, causal=causal,
                         seqlens_k=[70, 33, 0])
    assert ref["rows_empty"][2].all()


def test_decode_single_query(fa, rng):
    # N_Q == 1 (and B == 1) are folded to constants by specialization.
    attention_case(fa, rng, BF16, B=1, H=4, H_KV=1, NQ=1, NK=90, D=32, causal=True)


def test_forward_without_lse(fa, rng):
    attention_case(fa, rng, F16, B=1, H=2, H_KV=2, NQ=33, NK=47, D=32, causal=True, backward=False,
                   store_lse=False)


@pytest.mark.parametrize("nq,nk", [(3, 1), (1, 1), (5, 2)], ids=["3x1", "1x1", "5x2"])
def test_tiny_lengths(fa, rng, nq, nk):
    # Lengths of 1 are compile-time constants after specialization; causal
    # with N_Q > N_K leaves the first rows empty.
    attention_case(fa, rng, F16, B=2, H=2, H_KV=1, NQ=nq, NK=nk, D=32, causal=True)
