"""Times the library's flash attention and cosine-sim attention forward
kernels over tile sizes, warp counts and pipeline stages on the GPU (bf16,
16k tokens, hidden 2048), to choose the host wrappers' defaults. Each time
is the median of 5 calls between CUDA events, after a first (compiling)
call. Usage: python3 bench/tune_flash_blocks.py"""

import math

import torch

import terrazzo as tz

flash = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
cosine = tz._terrazzo.Kernel.from_library("cosine_sim_attention.py", "cosine_sim_attention_fwd")
key_norms = tz._terrazzo.Kernel.from_library("cosine_sim_attention.py", "cosine_sim_key_inv_norms")

CONFIGS = [(bm, bn, warps, stages) for bm, bn, warps in
           ((64, 64, 4), (128, 64, 4), (128, 64, 8), (128, 128, 8))
           for stages in (2, 3)]


def cdiv(a, b):
    return -(-a // b)


def run_flash(q, k, v, o, lse, bm, bn, warps, stages):
    B, H, S, D = q.shape
    args = (q, k, v, o, lse, None, *q.stride(), *k.stride(), *v.stride(), *o.stride(), H, H, S, S, 1 / math.sqrt(D))
    flash.run((cdiv(S, bm), B * H), args, dict(HEAD_DIM=D, BLOCK_M=bm, BLOCK_N=bn, CAUSAL=False, STORE_LSE=True,
                                               num_warps=warps, num_stages=stages))


def run_cosine(q, k, v, o, lse, bm, bn, warps, stages):
    B, H, S, D = q.shape
    no_strides = (0, 0, 0, 0, 0, 0)  # bias (4) and key mask (2): absent
    k_inv = q.new_empty((B, H, S), dtype=torch.float32)  # the keys' inverse norms
    key_norms.run((cdiv(S, 64), B * H), (k, k_inv, *k.stride(), H, S, 1e-6), dict(BLOCK_N=64, HEAD_DIM=D))
    args = (q, k, v, None, None, None, o, lse, k_inv, *q.stride(), *k.stride(), *v.stride(), *no_strides, *o.stride(),
            H, H, S, S, 1e-6)
    cosine.run((cdiv(S, bm), B * H), args, dict(CAUSAL=False, HAS_BIAS=False, HAS_KEY_MASK=False,
                                                HAS_KEY_LENS=False, GROUPS=1, BLOCK_M=bm, BLOCK_N=bn, HEAD_DIM=D,
                                                SCALE=10.0, num_warps=warps, num_stages=stages))


def median_ms(call):
    times = []
    for _ in range(5):
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        call()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return sorted(times)[2]


def main():
    for D, H in ((64, 32), (128, 16)):
        S, B = 4096, 4
        q, k, v = (torch.randn(B, H, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
        o = torch.empty_like(q)
        lse = torch.empty(B, H, S, device="cuda", dtype=torch.float32)
        for kind, runner in (("flash", run_flash), ("cosine", run_cosine)):
            for bm, bn, warps, stages in CONFIGS:
                name = f"{kind} D={D} BM={bm} BN={bn} warps={warps} stages={stages}"
                try:
                    call = lambda: runner(q, k, v, o, lse, bm, bn, warps, stages)  # noqa: E731
                    call()
                    torch.cuda.synchronize()
                    ms = median_ms(call)
                    print(f"{name}: {ms:.2f} ms, {4 * B * H * S * S * D / ms / 1e9:.1f} TFLOP/s", flush=True)
                except Exception as ex:
                    print(f"{name}: error {str(ex)[:200]}", flush=True)


if __name__ == "__main__":
    main()
