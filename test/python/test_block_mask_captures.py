"""Block masks and packed sequences combined with captured tensors, on the
interpreter: a mask_mod reading document ids (mask_mod_args, used both by
create_block_mask and by the attention kernels) and a score_mod reading a
per-head scale and a relative-position table (score_mod_args, whose
gradients the backward adds). Checked against float64 attention written from
the definition; outputs NaN-poisoned before each call."""

import numpy as np
import pytest

import terrazzo as tz
from attention_reference import normwise_error
from conftest import poisoned

WINDOW = 40
RADIUS = 6  # the table holds clip(q_idx - kv_idx, -RADIUS, RADIUS)
OUT_RTOL, GRAD_RTOL = 3e-3, 6e-3  # float16 inputs


@tz.jit
def doc_window(b, h, q_idx, kv_idx, doc_ptr):
    same_doc = tz.load(doc_ptr + q_idx) == tz.load(doc_ptr + kv_idx)
    return same_doc & (q_idx - kv_idx < WINDOW) & (kv_idx - q_idx < WINDOW)


@tz.jit
def scaled_rel_bias(score, b, h, q_idx, kv_idx, scale_ptr, table_ptr):
    dist = tz.minimum(tz.maximum(q_idx - kv_idx, -RADIUS), RADIUS)
    return score * tz.load(scale_ptr + h) + tz.load(table_ptr + h * (2 * RADIUS + 1) + dist + RADIUS)


def reference(q, k, v, do, keep, scale, head_scale, table):
    """float64 o, dq, dk, dv and the captures' gradients of
    softmax_keep(x * head_scale[h] + table[h, clip(i - j)]) V, x = scale q k^T.
    q (B, H, N, D), k/v (B, H_KV, N, D), keep (N, N) bool."""
    q, k, v, do = (np.asarray(a, np.float64) for a in (q, k, v, do))
    B, H, N, _ = q.shape
    group = H // k.shape[1]
    kr, vr = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
    i, j = np.arange(N)[:, None], np.arange(N)[None, :]
    dist = np.clip(i - j, -RADIUS, RADIUS) + RADIUS
    hs = np.asarray(head_scale, np.float64)[None, :, None, None]
    x = q @ kr.transpose(0, 1, 3, 2) * scale
    s = np.where(keep, x * hs + np.asarray(table, np.float64)[:, dist][None], -np.inf)
    m = s.max(-1, keepdims=True)
    p = np.exp(s - np.where(np.isfinite(m), m, 0.0))
    l = p.sum(-1, keepdims=True)
    p = p / np.where(l > 0, l, 1.0)
    dp = do @ vr.transpose(0, 1, 3, 2)
    ds = p * (dp - (p * dp).sum(-1, keepdims=True))  # d loss / d score_mod's result
    dx = ds * hs
    d_table = np.zeros(table.shape)
    for h in range(H):
        np.add.at(d_table[h], dist, ds[:, h].sum(0))
    return dict(o=p @ vr, dq=dx @ kr * scale,
                dk=(dx.transpose(0, 1, 3, 2) @ q * scale).reshape(B, -1, group, N, q.shape[3]).sum(2),
                dv=(p.transpose(0, 1, 3, 2) @ do).reshape(B, -1, group, N, q.shape[3]).sum(2),
                head_scale=(ds * x).sum(axis=(0, 2, 3)), table=d_table)


def inputs(rng, B, H, H_KV, N, D):
    q = rng.standard_normal((B, H, N, D)).astype(np.float16)
    k = rng.standard_normal((B, H_KV, N, D)).astype(np.float16)
    v = rng.standard_normal((B, H_KV, N, D)).astype(np.float16)
    do = rng.standard_normal((B, H, N, D)).astype(np.float16)
    head_scale = rng.uniform(0.5, 1.5, H).astype(np.float32)
    table = rng.standard_normal((H, 2 * RADIUS + 1)).astype(np.float32)
    return q, k, v, do, head_scale, table


def check(got, ref, names, rtol):
    for name in names:
        err = normwise_error(got[name], ref[name])
        assert err <= rtol, f"{name}: max relative error {err:.3g}"


def test_block_mask_with_captured_score_and_mask_mods(rng):
    B, H, H_KV, N, D, block = 2, 2, 1, 96, 16, 16
    q, k, v, do, head_scale, table = inputs(rng, B, H, H_KV, N, D)
    # Documents of 21, 40 and 35 tokens; ids past N are -1 (never read in range).
    docs = np.full(N + 64, -1, np.int32)
    docs[:N] = np.searchsorted([21, 61], np.arange(N), side="right")
    i, j = np.arange(N)[:, None], np.arange(N)[None, :]
    keep = (docs[i] == docs[j]) & (np.abs(i - j) < WINDOW)
    scale = 1.0 / np.sqrt(D)
    ref = reference(q, k, v, do, keep, scale, head_scale, table)

    bm = tz.ops.create_block_mask(doc_window, None, None, N, N, block_size=block, mask_mod_args=(docs,))
    classes = bm.classes[0, 0]
    assert (classes == 0).any() and (classes == 1).any() and (classes == 2).any(), "want every tile class"
    for qb in range(N // block):  # the classes read the ids: tiles across documents are not full
        for kb in range(N // block):
            tile = keep[qb * block:(qb + 1) * block, kb * block:(kb + 1) * block]
            assert classes[qb, kb] == (0 if not tile.any() else 2 if tile.all() else 1), (qb, kb)

    # Library entry points with poisoned outputs; the block mask's mask_mod
    # and its document ids are passed explicitly here.
    ops = tz._terrazzo.ops
    captures = (head_scale, table)
    out, lse = poisoned(q.shape, np.float16), poisoned((B, H, N), np.float32)
    ops.flash_attention_forward(q, k, v, False, None, scaled_rel_bias, doc_window, None, True, out=out, lse_out=lse,
                                block_mask=bm, score_mod_args=captures, mask_mod_args=(docs,))
    dq, dk, dv = poisoned(q.shape, np.float16), poisoned(k.shape, np.float16), poisoned(v.shape, np.float16)
    grads = [np.zeros(c.shape, np.float32) for c in captures]
    ops.flash_attention_backward(q, k, v, out, lse, do, False, None, scaled_rel_bias, doc_window, None, dq=dq, dk=dk,
                                 dv=dv, block_mask=bm, score_mod_args=captures, score_mod_arg_grads=grads,
                                 mask_mod_args=(docs,))
    got = dict(o=out, dq=dq, dk=dk, dv=dv, head_scale=grads[0], table=grads[1])
    check(got, ref, ["o"], OUT_RTOL)
    check(got, ref, ["dq", "dk", "dv", "head_scale", "table"], GRAD_RTOL)

    # The public API takes the mask_mod and its ids from the block mask.
    o2 = tz.ops.flash_attention(q, k, v, score_mod=scaled_rel_bias, score_mod_args=captures, block_mask=bm)
    check(dict(o=o2), ref, ["o"], OUT_RTOL)
    dq2, dk2, dv2, (g_scale, g_table) = tz.ops.flash_attention_backward(
        q, k, v, out, lse, do, score_mod=scaled_rel_bias, score_mod_args=captures, block_mask=bm)
    check(dict(dq=dq2, dk=dk2, dv=dv2, head_scale=g_scale, table=g_table), ref,
          ["dq", "dk", "dv", "head_scale", "table"], GRAD_RTOL)


def test_varlen_with_captured_score_mod(rng):
    # Three packed sequences (b = the sequence, in-sequence indices), the
    # captures' gradients summed over all of them.
    H, H_KV, D = 2, 2, 16
    lengths = [19, 33, 8]
    cu = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    total = int(cu[-1])
    q = rng.standard_normal((total, H, D)).astype(np.float16)
    k = rng.standard_normal((total, H_KV, D)).astype(np.float16)
    v = rng.standard_normal((total, H_KV, D)).astype(np.float16)
    do = rng.standard_normal((total, H, D)).astype(np.float16)
    head_scale = rng.uniform(0.5, 1.5, H).astype(np.float32)
    table = rng.standard_normal((H, 2 * RADIUS + 1)).astype(np.float32)
    scale = 1.0 / np.sqrt(D)
    ref = dict(o=np.zeros(q.shape), dq=np.zeros(q.shape), dk=np.zeros(k.shape), dv=np.zeros(v.shape),
               head_scale=np.zeros(H), table=np.zeros(table.shape))
    for s, n in zip(cu[:-1], lengths):
        rows = slice(s, s + n)
        per = lambda a: a[rows].transpose(1, 0, 2)[None]  # noqa: E731  (1, H, n, D)
        r = reference(per(q), per(k), per(v), per(do), np.ones((n, n), bool), scale, head_scale, table)
        for name in ("o", "dq", "dk", "dv"):
            ref[name][rows] = r[name][0].transpose(1, 0, 2)
        ref["head_scale"] += r["head_scale"]
        ref["table"] += r["table"]

    ops = tz._terrazzo.ops
    captures = (head_scale, table)
    out, lse = poisoned(q.shape, np.float16), poisoned((H, total), np.float32)
    ops.flash_attention_varlen_forward(q, k, v, cu, cu, max(lengths), max(lengths), False, None, scaled_rel_bias,
                                       None, True, out=out, lse_out=lse, score_mod_args=captures)
    dq, dk, dv = poisoned(q.shape, np.float16), poisoned(k.shape, np.float16), poisoned(v.shape, np.float16)
    grads = [np.zeros(c.shape, np.float32) for c in captures]
    ops.flash_attention_varlen_backward(q, k, v, out, lse, do, cu, cu, max(lengths), max(lengths), False, None,
                                        scaled_rel_bias, None, dq=dq, dk=dk, dv=dv, score_mod_args=captures,
                                        score_mod_arg_grads=grads)
    got = dict(o=out, dq=dq, dk=dk, dv=dv, head_scale=grads[0], table=grads[1])
    check(got, ref, ["o"], OUT_RTOL)
    check(got, ref, ["dq", "dk", "dv", "head_scale", "table"], GRAD_RTOL)
    _, _, _, (g_scale, g_table) = tz.ops.flash_attention_varlen_backward(
        q, k, v, out, lse, do, cu, cu, max(lengths), max(lengths), score_mod=scaled_rel_bias, score_mod_args=captures)
    check(dict(head_scale=g_scale, table=g_table), ref, ["head_scale", "table"], GRAD_RTOL)


def test_bad_mask_mod_args_of_a_block_mask():
    with pytest.raises(ValueError, match="mask_mod_args"):
        tz.ops.create_block_mask(doc_window, None, None, 32, 32, block_size=16,
                                 mask_mod_args=tuple(np.zeros(40, np.int32) for _ in range(5)))
