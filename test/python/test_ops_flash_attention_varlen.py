"""tz.ops.flash_attention_varlen on the interpreter: packed (total, H, D)
sequences against float64 attention of each sequence on its own
(attention_reference.py), forward, log-sum-exp and gradients, with lengths
of 1, 0 and not multiples of the kernels' tiles. Every output is
NaN-poisoned before the call; bad cu_seqlens are clear errors."""

import numpy as np
import pytest

import terrazzo as tz
from attention_reference import check_lse, masked_attention, normwise_error
from conftest import BF16, poisoned

DTYPES = [np.float16] + ([BF16] if BF16 is not None else [])
OUT_RTOL = {np.dtype(np.float16): 2e-3}
GRAD_RTOL = {np.dtype(np.float16): 4e-3}
if BF16 is not None:
    OUT_RTOL[BF16], GRAD_RTOL[BF16] = 2e-2, 3e-2


@tz.jit
def relative_bias(score, b, h, q_idx, kv_idx):
    # In-sequence indices: the bias restarts with every sequence.
    return score - 0.05 * (h + 1) * (q_idx - kv_idx).to(tz.float32)


def relative_bias_np(s, h, i, j):
    return s - 0.05 * (h + 1) * (i - j)


@tz.jit
def window_by_sequence(b, h, q_idx, kv_idx):
    # b is the sequence: each sequence gets its own window.
    return (q_idx - kv_idx < 4 + 3 * b) & (kv_idx - q_idx < 6)


def window_by_sequence_np(b, i, j):
    return (i - j < 4 + 3 * b) & (j - i < 6)


def offsets(lengths):
    return np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)


def run_case(rng, dtype, lens_q, lens_k, H, H_KV, D, causal=False, score_mod=None, mask_mod=None):
    cu_q, cu_k = offsets(lens_q), offsets(lens_k)
    tq, tk = int(cu_q[-1]), int(cu_k[-1])
    q = rng.standard_normal((tq, H, D)).astype(dtype)
    k = rng.standard_normal((tk, H_KV, D)).astype(dtype)
    v = rng.standard_normal((tk, H_KV, D)).astype(dtype)
    do = rng.standard_normal((tq, H, D)).astype(dtype)
    scale = 1.0 / np.sqrt(D)
    out, lse = poisoned(q.shape, dtype), poisoned((H, tq), np.float32)
    args = (cu_q, cu_k, max(lens_q), max(lens_k), causal, None, score_mod[0] if score_mod else None,
            mask_mod[0] if mask_mod else None)
    tz._terrazzo.ops.flash_attention_varlen_forward(q, k, v, *args, True, out=out, lse_out=lse)
    dq, dk, dv = poisoned(q.shape, dtype), poisoned(k.shape, dtype), poisoned(v.shape, dtype)
    tz._terrazzo.ops.flash_attention_varlen_backward(q, k, v, out, lse, do, *args, dq=dq, dk=dk, dv=dv)

    for b, (nq, nk) in enumerate(zip(lens_q, lens_k)):
        rq, rk = slice(cu_q[b], cu_q[b + 1]), slice(cu_k[b], cu_k[b + 1])
        i, j = np.arange(nq)[:, None], np.arange(nk)[None, :]
        keep = np.ones((1, nq, nk), bool)
        if causal:  # bottom-right aligned per sequence
            keep &= j <= i + (nk - nq)
        if mask_mod:
            keep &= mask_mod[1](b, i, j)
        heads_first = lambda x: x.transpose(1, 0, 2)
        ref = masked_attention(heads_first(q[rq]), heads_first(k[rk]), heads_first(v[rk]), heads_first(do[rq]), keep,
                               scale, score_mod[1] if score_mod else None)
        where = f"sequence {b} ({nq} queries, {nk} keys)"
        if nq:
            assert normwise_error(heads_first(out[rq]), ref["o"]) <= OUT_RTOL[np.dtype(dtype)], f"o, {where}"
            assert np.all(heads_first(np.asarray(out[rq], np.float64))[ref["empty_rows"]] == 0), where
            check_lse(lse[:, rq], ref["lse"])
            err = normwise_error(heads_first(dq[rq]), ref["dq"])
            assert err <= GRAD_RTOL[np.dtype(dtype)], f"dq, {where}: {err:.3g}"
        for name, got in (("dk", dk), ("dv", dv)):
            if nk:
                err = normwise_error(heads_first(got[rk]), ref[name])
                assert err <= GRAD_RTOL[np.dtype(dtype)], f"{name}, {where}: {err:.3g}"


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_self_attention_mixed_lengths(rng, dtype, causal):
    # Lengths 1, below, at and past the 16/32/64-row tiles, GQA 4/2.
    lens = [1, 23, 64, 5, 81]
    run_case(rng, dtype, lens, lens, 4, 2, 32, causal=causal)


def test_cross_lengths_causal_bottom_right(rng):
    # More queries than keys in one sequence (its first rows see nothing),
    # fewer in others, a sequence without queries and one without keys.
    run_case(rng, np.float16, [3, 30, 0, 12, 7], [10, 7, 9, 40, 0], 2, 1, 16, causal=True)


def test_score_mod_and_mask_mod_see_sequence_indices(rng):
    lens = [9, 33, 17]
    run_case(rng, np.float16, lens, lens, 2, 2, 16, score_mod=(relative_bias, relative_bias_np),
             mask_mod=(window_by_sequence, window_by_sequence_np))


def test_public_function_and_lse(rng):
    lens = [4, 19]
    cu = offsets(lens)
    q, k, v = (rng.standard_normal((23, 2, 16)).astype(np.float16) for _ in range(3))
    out, lse = tz.ops.flash_attention_varlen(q, k, v, cu, cu, 19, 19, causal=True, return_lse=True)
    assert out.shape == q.shape and out.dtype == q.dtype and lse.shape == (2, 23) and lse.dtype == np.float32
    dense = tz.ops.flash_attention(q[None, 4:].transpose(0, 2, 1, 3), k[None, 4:].transpose(0, 2, 1, 3),
                                   v[None, 4:].transpose(0, 2, 1, 3), causal=True)
    np.testing.assert_allclose(np.asarray(out[4:], np.float32), np.asarray(dense[0].transpose(1, 0, 2), np.float32),
                               atol=2e-3)


def test_bad_cu_seqlens_are_clear_errors():
    q = np.zeros((10, 2, 16), np.float16)
    good = np.array([0, 4, 10], np.int32)

    def call(cu_q=good, cu_k=good, max_q=6, max_k=6, kv=q):
        tz.ops.flash_attention_varlen(q, kv, kv, cu_q, cu_k, max_q, max_k)

    call()
    with pytest.raises(ValueError, match="argument 'cu_seqlens_q'.*dtype"):
        call(cu_q=good.astype(np.int64))
    with pytest.raises(ValueError, match="argument 'cu_seqlens_k'.*non-decreasing"):
        call(cu_k=np.array([0, 6, 3], np.int32))
    with pytest.raises(ValueError, match="argument 'cu_seqlens_q'.*end at.*10"):
        call(cu_q=np.array([0, 4, 9], np.int32))
    with pytest.raises(ValueError, match="argument 'cu_seqlens_k'.*offsets"):
        call(cu_k=np.array([0, 10], np.int32))
    with pytest.raises(ValueError, match="argument 'cu_seqlens_q'.*start at 0"):
        call(cu_q=np.array([2, 4, 10], np.int32))
    with pytest.raises(ValueError, match="argument 'max_seqlen_q'.*6 rows"):
        call(max_q=5)
    with pytest.raises(ValueError, match="argument 'cu_seqlens_q'.*1 dimension"):
        call(cu_q=good[None])
    with pytest.raises(ValueError, match="argument 'q'.*3 dimensions"):
        tz.ops.flash_attention_varlen(q[None], q, q, good, good, 6, 6)
    with pytest.raises(ValueError, match="argument 'k'.*head dim"):
        call(kv=np.zeros((10, 2, 32), np.float16))
