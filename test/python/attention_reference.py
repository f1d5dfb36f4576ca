"""float64 softmax attention written from its definition over a dense
boolean mask, with the gradients of each input, for checking the library's
block-sparse and packed-sequence attention (which share none of this)."""

import numpy as np


def masked_attention(q, k, v, do, keep, scale, score_mod=None):
    """q (H, NQ, D), k and v (H_KV, NK, D), do like q, keep (H or 1, NQ, NK)
    bool; score_mod(s, h, i, j) -> s over the (H, NQ, NK) scores. Returns
    dict(o, lse, dq, dk, dv, empty_rows), float64. Rows with no kept key give
    o = 0 and lse = -inf.

    Gradients from the chain rule: with P = softmax(S) over the kept keys
    (S = score_mod(scale * q k^T)), dV = P^T dO, dP = dO V^T,
    dS_ij = P_ij (dP_ij - sum_l P_il dP_il), and d(score)/d(q k^T) = scale
    (score_mod is additive in the tests)."""
    q, k, v, do = (np.asarray(x, dtype=np.float64) for x in (q, k, v, do))
    H, NQ, _ = q.shape
    group = H // k.shape[0]
    kr, vr = np.repeat(k, group, axis=0), np.repeat(v, group, axis=0)
    s = q @ kr.transpose(0, 2, 1) * scale
    if score_mod is not None:
        s = score_mod(s, np.arange(H)[:, None, None], np.arange(NQ)[None, :, None],
                      np.arange(kr.shape[1])[None, None, :])
    keep = np.broadcast_to(keep, s.shape)
    s = np.where(keep, s, -np.inf)
    row_max = s.max(axis=-1, keepdims=True) if s.shape[-1] else np.full(s.shape[:-1] + (1,), -np.inf)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)
    e = np.where(keep, np.exp(s - row_max), 0.0)
    total = e.sum(axis=-1, keepdims=True)
    empty = total[..., 0] == 0
    p = e / np.where(total > 0, total, 1.0)
    o = p @ vr
    lse = np.where(empty, -np.inf, np.log(np.where(total > 0, total, 1.0))[..., 0] + row_max[..., 0])
    dp = do @ vr.transpose(0, 2, 1)
    ds = p * (dp - (p * dp).sum(axis=-1, keepdims=True))
    dq = ds @ kr * scale
    dk = (ds.transpose(0, 2, 1) @ q * scale).reshape(k.shape[0], group, *k.shape[1:]).sum(axis=1)
    dv = (p.transpose(0, 2, 1) @ do).reshape(v.shape[0], group, *v.shape[1:]).sum(axis=1)
    return dict(o=o, lse=lse, dq=dq, dk=dk, dv=dv, empty_rows=empty)


def normwise_error(got, ref):
    """max |got - ref| / max |ref|, after checking that every element of got
    was written (poisoned buffers hold NaN until then)."""
    got = np.asarray(got, dtype=np.float64)
    bad = ~np.isfinite(got)
    assert not bad.any(), f"{int(bad.sum())} non-finite element(s), first at {tuple(np.argwhere(bad)[0])}"
    return float(np.max(np.abs(got - ref), initial=0.0) / max(float(np.max(np.abs(ref), initial=0.0)), 1e-30))


def check_lse(got, ref, atol=1e-4):
    got = np.asarray(got, dtype=np.float64)
    assert not np.isnan(got).any(), "lse: NaN (an unwritten element?)"
    inf = np.isinf(ref)
    assert np.array_equal(got[inf], ref[inf]), "lse: rows without keys must hold -inf"
    err = np.max(np.abs(got[~inf] - ref[~inf]), initial=0.0)
    assert err <= atol, f"lse: max abs error {err:.3g} > {atol:g}"
