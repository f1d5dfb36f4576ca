"""Float64 reference of lightning attention, written from the recurrence
(not from the chunked algorithm of kernels/lightning_attention.py):

    S_t = lambda_h S_{t-1} + k_t^T v_t,   o_t = (scale q_t) S_t,   lambda_h = exp(-decay[h])

and its gradients by back-propagation through time of the same recurrence,
for the loss  sum_t <do_t, o_t> + <dS_f, S_{N-1}>:

    G_{N-1} = scale q_{N-1}^T do_{N-1} + dS_f,   G_t = scale q_t^T do_t + lambda G_{t+1}
    dq_t = scale do_t S_t^T,   dk_t = G_t v_t,   dv_t = k_t G_t,   dS_{-1} = lambda G_0

(G_t is the total derivative of the loss in S_t). test_lightning_reference
checks these gradients against central finite differences of ref_forward."""

import numpy as np


def _lam(decay, H):
    if decay is None:
        return np.ones(H)
    return np.exp(-np.asarray(decay, np.float64))


def ref_forward(q, k, v, decay=None, scale=None, initial_state=None):
    """(out (B, H, N, Dv), final state (B, H, Dk, Dv), states S_t (N, B, H, Dk, Dv))."""
    q, k, v = (np.asarray(x).astype(np.float64) for x in (q, k, v))
    B, H, N, DK = q.shape
    DV = v.shape[3]
    scale = DK ** -0.5 if scale is None else scale
    lam = _lam(decay, H)[None, :, None, None]
    S = np.zeros((B, H, DK, DV)) if initial_state is None else np.asarray(initial_state, np.float64).copy()
    out = np.zeros((B, H, N, DV))
    states = np.zeros((N, B, H, DK, DV))
    for t in range(N):
        S = lam * S + k[:, :, t, :, None] * v[:, :, t, None, :]
        out[:, :, t] = np.einsum("bhk,bhkv->bhv", scale * q[:, :, t], S)
        states[t] = S
    return out, S, states


def ref_backward(q, k, v, dout, decay=None, scale=None, initial_state=None, dfinal_state=None):
    """(dq, dk, dv, dinitial_state) of the loss above, float64."""
    q, k, v, dout = (np.asarray(x).astype(np.float64) for x in (q, k, v, dout))
    B, H, N, DK = q.shape
    DV = v.shape[3]
    scale = DK ** -0.5 if scale is None else scale
    lam = _lam(decay, H)[None, :, None, None]
    _, _, states = ref_forward(q, k, v, decay, scale, initial_state)
    dq, dk, dv = np.zeros_like(q), np.zeros_like(k), np.zeros_like(v)
    G = np.zeros((B, H, DK, DV)) if dfinal_state is None else np.asarray(dfinal_state, np.float64).copy()
    for t in reversed(range(N)):
        if t < N - 1:
            G = lam * G
        G = G + scale * q[:, :, t, :, None] * dout[:, :, t, None, :]
        dq[:, :, t] = scale * np.einsum("bhv,bhkv->bhk", dout[:, :, t], states[t])
        dk[:, :, t] = np.einsum("bhkv,bhv->bhk", G, v[:, :, t])
        dv[:, :, t] = np.einsum("bhk,bhkv->bhv", k[:, :, t], G)
    dinit = lam * G if N > 0 else G
    return dq, dk, dv, dinit
