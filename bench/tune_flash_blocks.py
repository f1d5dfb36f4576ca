"""Times the library's flash attention forward kernel over tile sizes, warp
counts and pipeline stages on the GPU (bf16, 16k tokens, hidden 2048), to
choose the host wrapper's defaults. Usage: python3 bench/tune_flash_blocks.py"""

import math

import torch

import terrazzo as tz

fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")


def run(q, k, v, o, lse, bm, bn, warps, stages, causal):
    B, H, S, D = q.shape
    args = (q, k, v, o, lse, None, *q.stride(), *k.stride(), *v.stride(), *o.stride(), H, H, S, S, 1 / math.sqrt(D))
    fwd.run((triton_cdiv(S, bm), B * H), args, dict(HEAD_DIM=D, BLOCK_M=bm, BLOCK_N=bn, CAUSAL=causal,
                                                   STORE_LSE=True, num_warps=warps,
                                                   num_stages=stages))


def triton_cdiv(a, b):
    return -(-a // b)


def main():
    for D, H in ((64, 32), (128, 16)):
        S, B = 4096, 4
        q, k, v = (torch.randn(B, H, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        o = torch.empty_like(q)
        lse = torch.empty(B, H, S, device="cuda", dtype=torch.float32)
        configs = [(bm, bn, warps, stages) for bm, bn, warps in
                   ((64, 64, 4), (128, 64, 8), (128, 64, 4), (128, 32, 8), (64, 32, 4), (128, 128, 8))
                   for stages in (1, 2, 3)]
        for bm, bn, warps, stages in configs:
            name = f"D={D} BM={bm} BN={bn} warps={warps} stages={stages}"
            try:
                run(q, k, v, o, lse, bm, bn, warps, stages, False)
                torch.cuda.synchronize()
                times = []
                for _ in range(5):
                    s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                    s.record()
                    run(q, k, v, o, lse, bm, bn, warps, stages, False)
                    e.record()
                    e.synchronize()
                    times.append(s.elapsed_time(e))
                ms = sorted(times)[2]
                print(f"{name}: {ms:.2f} ms, {4 * B * H * S * S * D / ms / 1e9:.1f} TFLOP/s", flush=True)
            except Exception as ex:
                print(f"{name}: error {str(ex)[:200]}", flush=True)


if __name__ == "__main__":
    main()
