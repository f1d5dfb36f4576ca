"""Block-sparse flash attention on the interpreter: tz.ops.create_block_mask
(its lists against a brute-force classification of the dense mask) and
tz.ops.flash_attention(block_mask=...) forward and backward against float64
attention over the dense mask (attention_reference.py). Every output is
NaN-poisoned before the call."""

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

# Constants the mask_mods read (module-level ints are constexprs).
WINDOW = 45
DOC_1, DOC_2, DOC_3 = 37, 90, 101  # packed documents [0, 37), [37, 90), [90, 101), [101, ...)


@tz.jit
def sliding_window(b, h, q_idx, kv_idx):
    return (q_idx - kv_idx < WINDOW) & (kv_idx - q_idx < WINDOW)


def sliding_window_np(b, h, q, k):
    return (q - k < WINDOW) & (k - q < WINDOW)


@tz.jit
def causal_window(b, h, q_idx, kv_idx):
    return (q_idx >= kv_idx) & (q_idx - kv_idx < WINDOW)


def causal_window_np(b, h, q, k):
    return (q >= k) & (q - k < WINDOW)


@tz.jit
def _document(i):
    return (i >= DOC_1).to(tz.int32) + (i >= DOC_2).to(tz.int32) + (i >= DOC_3).to(tz.int32)


@tz.jit
def document_causal(b, h, q_idx, kv_idx):
    return (_document(q_idx) == _document(kv_idx)) & (q_idx >= kv_idx)


def document_causal_np(b, h, q, k):
    doc = lambda i: (i >= DOC_1).astype(np.int32) + (i >= DOC_2) + (i >= DOC_3)
    return (doc(q) == doc(k)) & (q >= k)


@tz.jit
def per_head_window(b, h, q_idx, kv_idx):
    # Depends on the batch and the head, and hides every key from some rows.
    return (q_idx - kv_idx < 16 + 24 * h + 8 * b) & (kv_idx <= q_idx) & (q_idx % 7 != 3)


def per_head_window_np(b, h, q, k):
    return (q - k < 16 + 24 * h + 8 * b) & (k <= q) & (q % 7 != 3)


def dense_mask(mask_np, B, H, NQ, NK):
    """(B, H, NQ, NK) bool from a numpy mask_mod."""
    b = np.arange(B)[:, None, None, None]
    h = np.arange(H)[None, :, None, None]
    return np.broadcast_to(mask_np(b, h, np.arange(NQ)[:, None], np.arange(NK)[None, :]), (B, H, NQ, NK))


def brute_force_classes(mask, block):
    """Each tile's class from the dense mask: 0 nothing kept, 2 every query
    row in range keeps every key of a tile that lies inside KV_LEN, else 1."""
    B, H, NQ, NK = mask.shape
    nq, nk = -(-NQ // block), -(-NK // block)
    classes = np.zeros((B, H, nq, nk), np.int32)
    for i in range(nq):
        for j in range(nk):
            tile = mask[:, :, i * block:(i + 1) * block, j * block:(j + 1) * block]
            any_kept = tile.any(axis=(2, 3))
            full = tile.all(axis=(2, 3)) & ((j + 1) * block <= NK)
            classes[:, :, i, j] = np.where(full, 2, np.where(any_kept, 1, 0))
    return classes


def check_lists(counts, indices, classes):
    """counts (..., L, 2) and indices (..., L, 2, E) list, per line of
    `classes` (..., L, E), the partial and full entries in ascending order."""
    for kind, cls in ((0, 1), (1, 2)):
        expected = classes == cls
        np.testing.assert_array_equal(counts[..., kind], expected.sum(axis=-1))
        for idx in np.ndindex(*classes.shape[:-1]):
            want = np.flatnonzero(expected[idx])
            np.testing.assert_array_equal(indices[idx + (kind,)][:len(want)], want)


@pytest.mark.parametrize("mask,B,H,NQ,NK,block", [
    ((sliding_window, sliding_window_np), 1, 1, 150, 150, 32),
    ((document_causal, document_causal_np), 1, 1, 130, 130, 16),
    ((per_head_window, per_head_window_np), 2, 3, 100, 77, 32),
    ((causal_window, causal_window_np), None, None, 300, 300, 128),
    ((per_head_window, per_head_window_np), 1, 2, 20, 9, 32),
], ids=["window", "documents", "per-head-cross", "causal-window-128", "one-block"])
def test_block_mask_lists_match_brute_force(mask, B, H, NQ, NK, block):
    bm = tz.ops.create_block_mask(mask[0], B, H, NQ, NK, block_size=block)
    dense = dense_mask(mask[1], B or 1, H or 1, NQ, NK)
    classes = brute_force_classes(dense, block)
    np.testing.assert_array_equal(bm.classes, classes)
    if classes.shape[2] * classes.shape[3] > 1:
        assert {0, 1} <= set(np.unique(classes).tolist()), "the case should have empty and partial tiles"
    check_lists(bm.kv_counts, bm.kv_indices, classes)
    check_lists(bm.q_counts, bm.q_indices, classes.transpose(0, 1, 3, 2))
    assert bm.kv_num_blocks.shape == classes.shape[:3] and bm.shape == (B or 1, H or 1, NQ, NK)
    assert 0 < bm.density() <= 1


def has_gaps(counts, indices):
    """Does some list hold blocks that are not consecutive? (The kernels walk
    consecutive runs as one range and gather the others: both must run.)"""
    for idx in np.ndindex(*counts.shape):
        listed = indices[idx[:-1] + (idx[-1],)][:counts[idx]]
        if len(listed) > 1 and listed[-1] - listed[0] != len(listed) - 1:
            return True
    return False


def run_case(rng, dtype, mask, B, H, H_KV, NQ, NK, D, block, mask_b=None, mask_h=None):
    """Forward and backward with a block mask on fresh inputs, every output
    NaN-poisoned first, against float64 attention over the dense mask."""
    q = rng.standard_normal((B, H, NQ, D)).astype(dtype)
    k = rng.standard_normal((B, H_KV, NK, D)).astype(dtype)
    v = rng.standard_normal((B, H_KV, NK, D)).astype(dtype)
    do = rng.standard_normal((B, H, NQ, D)).astype(dtype)
    scale = 1.0 / np.sqrt(D)
    bm = tz.ops.create_block_mask(mask[0], mask_b, mask_h, NQ, NK, block_size=block)
    keep = dense_mask(mask[1], mask_b or 1, mask_h or 1, NQ, NK)
    out, lse = poisoned(q.shape, dtype), poisoned((B, H, NQ), np.float32)
    tz._terrazzo.ops.flash_attention_forward(q, k, v, False, None, None, mask[0], None, True, out=out, lse_out=lse,
                                             block_mask=bm)
    dq, dk, dv = poisoned(q.shape, dtype), poisoned(k.shape, dtype), poisoned(v.shape, dtype)
    tz._terrazzo.ops.flash_attention_backward(q, k, v, out, lse, do, False, None, None, mask[0], None, dq=dq, dk=dk,
                                              dv=dv, block_mask=bm)
    for b in range(B):
        ref = masked_attention(q[b], k[b], v[b], do[b], keep[b % keep.shape[0]], scale)
        assert normwise_error(out[b], ref["o"]) <= OUT_RTOL[np.dtype(dtype)], f"o (batch {b})"
        assert np.all(np.asarray(out[b], np.float64)[ref["empty_rows"]] == 0), "rows without keys must be 0"
        check_lse(lse[b], ref["lse"])
        for name, got in (("dq", dq), ("dk", dk), ("dv", dv)):
            err = normwise_error(got[b], ref[name])
            assert err <= GRAD_RTOL[np.dtype(dtype)], f"{name} (batch {b}): max relative error {err:.3g}"
    return bm


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_sliding_window(rng, dtype):
    # 150 keys in blocks of 32: the last block is ragged (never full); the
    # kernel's tiles (32) equal the block. The partial blocks of a row lie on
    # both sides of its full ones: lists with gaps, both ways.
    bm = run_case(rng, dtype, (sliding_window, sliding_window_np), 1, 2, 2, 150, 150, 32, 32)
    assert has_gaps(bm.kv_counts, bm.kv_indices) and has_gaps(bm.q_counts, bm.q_indices)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_documents_packed(rng, dtype):
    # Causal attention inside packed documents of 37, 53, 11 and 29 tokens,
    # blocks of 16; GQA (4 query heads on 2 key/value heads).
    run_case(rng, dtype, (document_causal, document_causal_np), 1, 4, 2, 130, 130, 16, 16)


def test_causal_window_block_larger_than_tiles(rng):
    # Blocks of 128 walked in the kernels' 64-row tiles (two per block, both
    # ways), 200 tokens (ragged last block), the mask broadcast over the batch.
    run_case(rng, np.float16, (causal_window, causal_window_np), 2, 1, 1, 200, 200, 32, 128)


def test_per_batch_and_head_mask_cross_lengths(rng):
    # A mask that differs per batch and head, with fully masked rows, over 100
    # queries and 77 keys.
    bm = run_case(rng, np.float16, (per_head_window, per_head_window_np), 2, 3, 1, 100, 77, 16, 32, mask_b=2,
                  mask_h=3)
    assert (bm.classes == 2).any(), "the case should have full tiles"


def test_block_mask_is_reused_across_calls(rng):
    # One mask, built once, serves several layers (different inputs).
    bm = tz.ops.create_block_mask(causal_window, None, None, 96, 96, block_size=32)
    keep = dense_mask(causal_window_np, 1, 1, 96, 96)[0]
    for _ in range(2):
        q, k, v = (rng.standard_normal((1, 2, 96, 16)).astype(np.float16) for _ in range(3))
        out = tz.ops.flash_attention(q, k, v, block_mask=bm)  # mask_mod taken from the block mask
        ref = masked_attention(q[0], k[0], v[0], np.zeros_like(q[0]), keep, 0.25)
        assert normwise_error(out[0], ref["o"]) <= 2e-3


def test_block_mask_argument_errors():
    bm = tz.ops.create_block_mask(sliding_window, 1, 1, 64, 64, block_size=16)
    q = np.zeros((1, 2, 64, 16), np.float16)
    with pytest.raises(ValueError, match="argument 'causal'.*mask_mod"):
        tz.ops.flash_attention(q, q, q, causal=True, block_mask=bm)
    with pytest.raises(ValueError, match="argument 'block_mask'.*Q_LEN 64"):
        tz.ops.flash_attention(q[:, :, :48], q, q, block_mask=bm)
    with pytest.raises(ValueError, match="argument 'block_mask'.*heads"):
        tz.ops.flash_attention(q, q, q, block_mask=tz.ops.create_block_mask(sliding_window, 1, 3, 64, 64,
                                                                            block_size=16))
    with pytest.raises(ValueError, match="argument 'seqlens_k'"):
        tz.ops.flash_attention(q, q, q, block_mask=bm, seqlens_k=np.full(1, 64, np.int32))
    with pytest.raises(TypeError, match="argument 'block_mask'"):
        tz.ops.flash_attention(q, q, q, block_mask="sliding")
    with pytest.raises(ValueError, match="argument 'block_size'.*power of two"):
        tz.ops.create_block_mask(sliding_window, 1, 1, 64, 64, block_size=48)
    with pytest.raises(ValueError, match="argument 'mask_mod'"):
        tz.ops.create_block_mask(3, 1, 1, 64, 64, block_size=16)
    with pytest.raises(ValueError, match="argument 'Q_LEN'"):
        tz.ops.create_block_mask(sliding_window, 1, 1, 0, 64)
    damaged = tz.ops.create_block_mask(sliding_window, 1, 1, 64, 64, block_size=16)
    damaged.kv_indices = damaged.kv_indices.astype(np.int64)
    with pytest.raises(ValueError, match="argument 'block_mask.kv_indices'.*dtype"):
        tz.ops.flash_attention(q, q, q, block_mask=damaged)
