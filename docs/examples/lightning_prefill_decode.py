"""Lightning attention as a model uses it: a chunked forward over a prompt
(prefill) that returns its final state, then one decoding step per new
token from that state. Checked against the recurrence in float64
(`reference`) and against one forward over the whole sequence.

Runs on the CPU interpreter with numpy arrays (small sizes); pass torch CUDA
tensors instead to run on the GPU. `python3 docs/examples/lightning_prefill_decode.py`
with `build/python` on PYTHONPATH."""

import numpy as np

import terrazzo as tz

B, H, DK, DV = 1, 2, 32, 32
PROMPT, NEW = 40, 6
SLOPES = np.array([0.05, 0.5], np.float32)  # per-head decay: lambda_h = exp(-slope_h)


def reference(q, k, v, slopes):
    """o_t = (q_t / sqrt(Dk)) S_t with S_t = lambda S_{t-1} + k_t^T v_t, float64."""
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    lam = np.exp(-slopes.astype(np.float64))[None, :, None, None]
    state = np.zeros((B, H, DK, DV))
    out = np.zeros(v.shape)
    for t in range(q.shape[2]):
        state = lam * state + k[:, :, t, :, None] * v[:, :, t, None, :]
        out[:, :, t] = np.einsum("bhk,bhkv->bhv", q[:, :, t] / np.sqrt(DK), state)
    return out


def main():
    rng = np.random.default_rng(0)
    n = PROMPT + NEW
    q, k = (rng.standard_normal((B, H, n, DK)).astype(np.float16) for _ in range(2))
    v = rng.standard_normal((B, H, n, DV)).astype(np.float16)

    # prefill: the prompt in one chunked forward, keeping the state
    out, state = tz.ops.lightning_attention(q[:, :, :PROMPT], k[:, :, :PROMPT], v[:, :, :PROMPT], decay=SLOPES,
                                            return_final_state=True)
    outs = [out]
    # decode: one token at a time, the state updated in place
    for t in range(PROMPT, n):
        o, state = tz.ops.lightning_attention_decode(q[:, :, t:t + 1], k[:, :, t:t + 1], v[:, :, t:t + 1], state,
                                                     decay=SLOPES, inplace=True)
        outs.append(o)
    got = np.concatenate(outs, axis=2).astype(np.float64)

    ref = reference(q, k, v, SLOPES)
    whole = tz.ops.lightning_attention(q, k, v, decay=SLOPES).astype(np.float64)
    err = np.max(np.abs(got - ref)) / np.max(np.abs(ref))
    err_whole = np.max(np.abs(got - whole)) / np.max(np.abs(whole))
    print(f"prefill + decode vs the recurrence: max rel err {err:.2e}; vs one forward: {err_whole:.2e}")
    return 0 if err < 4e-3 and err_whole < 8e-3 else 1


if __name__ == "__main__":
    raise SystemExit(main())
