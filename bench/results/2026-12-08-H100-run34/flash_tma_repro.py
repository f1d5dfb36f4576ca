# The flash forward with TMA copies failed with CUDA_ERROR_ILLEGAL_INSTRUCTION
# on the H100 in run34 (TZ_TMA=1 or TZ_WARP_SPECIALIZE=1), at every shape
# tried. Run with
#   TZ_TMA=1 PYTHONPATH=build-gpu/python python3 bench/results/2026-12-08-H100-run34/flash_tma_repro.py
# (under compute-sanitizer to find the faulting instruction). Each case is
# checked against float64 causal attention.
import math

import torch
import terrazzo as tz

for NQ, NK, D in ((128, 128, 128), (384, 1000, 128), (256, 256, 64)):
    q = torch.randn(2, 3, NQ, D, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(2, 3, NK, D, device="cuda", dtype=torch.bfloat16)
    v = torch.randn_like(k)
    try:
        o = tz.ops.flash_attention(q, k, v, causal=True)
        torch.cuda.synchronize()
    except Exception as e:
        print(NQ, NK, D, "FAIL", str(e)[:200], flush=True)
        break
    s = q.double() @ k.double().transpose(-1, -2) / math.sqrt(D)
    i = torch.arange(NQ, device="cuda")[:, None]
    j = torch.arange(NK, device="cuda")[None, :]
    ref = torch.softmax(s.masked_fill(j > i + (NK - NQ), float("-inf")), -1) @ v.double()
    err = ((o.double() - ref).abs().max() / ref.abs().max()).item()
    print(NQ, NK, D, "ok" if err < 2e-2 else "WRONG", "err", err,
          "tma launches", tz._terrazzo.gpu_cache_stats()["tma_launches"], flush=True)
