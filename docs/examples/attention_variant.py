"""A custom attention variant without writing a kernel: ALiBi position
biases and a sliding window, injected into the library's flash attention as
@tz.jit functions (docs/attention-variants.md walks through it).

Runs on the GPU with torch CUDA tensors when there is one, else on the CPU
interpreter with numpy arrays; checks forward and gradients against a
float64 reference and exits non-zero on a mismatch.
"""

import os
import sys

import numpy as np

import terrazzo as tz

WINDOW = 48  # each query sees keys at most this far away, in both directions


@tz.jit
def alibi(score, b, h, q_idx, kv_idx):
    # Head h penalises distance with slope 2^-(h+1) (the ALiBi schedule for 8 heads).
    slope = tz.exp2(-(h + 1.0))
    return score - slope * tz.abs(q_idx - kv_idx)


@tz.jit
def sliding_window(b, h, q_idx, kv_idx):
    return tz.abs(q_idx - kv_idx) <= WINDOW


def reference(q, k, v, do):
    """float64 attention with the same bias and mask, and its gradients."""
    q, k, v, do = (np.asarray(x, np.float64) for x in (q, k, v, do))
    H, NQ, NK, D = q.shape[1], q.shape[2], k.shape[2], q.shape[3]
    qi, kj = np.arange(NQ)[:, None], np.arange(NK)[None, :]
    slopes = 2.0 ** -(np.arange(H) + 1.0)
    s = q @ k.transpose(0, 1, 3, 2) / np.sqrt(D) - slopes[None, :, None, None] * np.abs(qi - kj)
    s = np.where(np.abs(qi - kj) <= WINDOW, s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    o = p @ v
    ds = p * (do @ v.transpose(0, 1, 3, 2) - (do * o).sum(-1, keepdims=True))
    return o, ds @ k / np.sqrt(D), ds.transpose(0, 1, 3, 2) @ q / np.sqrt(D), p.transpose(0, 1, 3, 2) @ do


def main():
    rng = np.random.default_rng(0)
    B, H, N, D = 2, 4, 160, 64
    q, k, v, do = (rng.standard_normal((B, H, N, D)).astype(np.float16) for _ in range(4))
    use_gpu = os.environ.get("TZ_INTERPRET", "0") in ("", "0") and tz._terrazzo.gpu_available()
    if use_gpu:
        import torch
        tq, tk, tv = (torch.from_numpy(x).cuda().requires_grad_() for x in (q, k, v))
        out = tz.ops.flash_attention(tq, tk, tv, score_mod=alibi, mask_mod=sliding_window)
        out.backward(torch.from_numpy(do).cuda())
        got = [x.detach().cpu().numpy() for x in (out, tq.grad, tk.grad, tv.grad)]
    else:
        out, lse = tz.ops.flash_attention(q, k, v, score_mod=alibi, mask_mod=sliding_window, return_lse=True)
        got = [out, *tz.ops.flash_attention_backward(q, k, v, out, lse, do, score_mod=alibi,
                                                     mask_mod=sliding_window)]
    worst = 0.0
    for name, g, r in zip(("out", "dq", "dk", "dv"), got, reference(q, k, v, do)):
        err = float(np.abs(g.astype(np.float64) - r).max() / np.abs(r).max())
        worst = max(worst, err)
        print(f"{name}: normwise relative error {err:.2e}")
    return 0 if worst < 5e-3 else 1


if __name__ == "__main__":
    sys.exit(main())
