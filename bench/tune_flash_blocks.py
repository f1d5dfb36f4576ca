"""Times the library's flash attention and cosine-sim attention forward
kernels over tile sizes, warp counts, pipeline stages and register bounds on
the GPU (bf16, 16k tokens, hidden 2048), to choose the host wrappers'
candidates (kernels/lib/TileTuning.cpp). Each time is the median of 7
calls between CUDA events, each after an L2 flush, after a first
(compiling) call.

Usage: python3 bench/tune_flash_blocks.py [--kind flash,cosine] [--seq 1024,4096]
           [--head-dim 64,128] [--causal 0,1] [--configs BM:BN:W:S:MB,...]
           [--source OLD.py --source NEW.py]

--source compiles the kernels from a kernel file instead of the library's
embedded sources (repeatable: each file is timed side by side, e.g. the
committed kernel file against an edited copy)."""

import argparse
import math

import torch

import terrazzo as tz

LIBRARY = {"flash": "flash_attention.py", "cosine": "cosine_sim_attention.py"}
ENTRY = {"flash": "flash_attention_fwd", "cosine": "cosine_sim_attention_fwd"}

DEFAULT_CONFIGS = "128:64:8:2:2,64:64:4:2:3,128:64:8:3:2,128:128:8:2:0,128:64:4:2:0,64:128:4:2:0"


def cdiv(a, b):
    return -(-a // b)


def load(source, kind, name):
    if source == "library":
        return tz._terrazzo.Kernel.from_library(LIBRARY[kind], name)
    return tz._terrazzo.Kernel.from_file(source, name)


def run_flash(kernels, q, k, v, o, lse, causal, cfg):
    bm, bn, warps, stages, mb = cfg
    B, H, S, D = q.shape
    args = (q, k, v, o, lse, None, *q.stride(), *k.stride(), *v.stride(), *o.stride(), H, H, S, S, 1 / math.sqrt(D))
    kernels["fwd"].run((cdiv(S, bm), B * H), args,
                       dict(HEAD_DIM=D, BLOCK_M=bm, BLOCK_N=bn, CAUSAL=causal, STORE_LSE=True,
                            num_warps=warps, num_stages=stages, min_blocks_per_sm=mb))


def run_cosine(kernels, q, k, v, o, lse, causal, cfg):
    bm, bn, warps, stages, mb = cfg
    B, H, S, D = q.shape
    no_strides = (0, 0, 0, 0, 0, 0)  # bias (4) and key mask (2): absent
    k_inv = q.new_empty((B, H, S), dtype=torch.float32)  # the keys' inverse norms
    kernels["key_norms"].run((cdiv(S, 64), B * H), (k, k_inv, *k.stride(), H, S, 1e-6), dict(BLOCK_N=64, HEAD_DIM=D))
    args = (q, k, v, None, None, None, o, lse, k_inv, *q.stride(), *k.stride(), *v.stride(), *no_strides, *o.stride(),
            H, H, S, S, 1e-6)
    kernels["fwd"].run((cdiv(S, bm), B * H), args,
                       dict(CAUSAL=causal, HAS_BIAS=False, HAS_KEY_MASK=False, HAS_KEY_LENS=False, GROUPS=1,
                            BLOCK_M=bm, BLOCK_N=bn, HEAD_DIM=D, SCALE=10.0, num_warps=warps, num_stages=stages,
                            min_blocks_per_sm=mb))


def median_ms(call, flush):
    times = []
    for _ in range(7):
        flush.zero_()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        call()
        e.record()
        e.synchronize()
        times.append(s.elapsed_time(e))
    return sorted(times)[3]


def int_list(text):
    return [int(x) for x in text.split(",")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", default="flash,cosine")
    ap.add_argument("--seq", type=int_list, default=[4096])
    ap.add_argument("--head-dim", type=int_list, default=[64, 128])
    ap.add_argument("--causal", type=int_list, default=[0])
    ap.add_argument("--configs", default=DEFAULT_CONFIGS)
    ap.add_argument("--source", action="append")
    a = ap.parse_args()
    configs = [tuple(int(x) for x in c.split(":")) for c in a.configs.split(",")]
    sources = a.source or ["library"]
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    runners = {"flash": run_flash, "cosine": run_cosine}
    for kind in a.kind.split(","):
        kernels = {src: {"fwd": load(src, kind, ENTRY[kind]),
                         "key_norms": load(src, "cosine", "cosine_sim_key_inv_norms")} for src in sources}
        for D in a.head_dim:
            H = 2048 // D
            for S in a.seq:
                B = max(1, 16384 // S)
                q, k, v = (torch.randn(B, H, S, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
                o = torch.empty_like(q)
                lse = torch.empty(B, H, S, device="cuda", dtype=torch.float32)
                for causal in a.causal:
                    flops = 4 * B * H * S * S * D / (2 if causal else 1)
                    for cfg in configs:
                        cells = []
                        for src in sources:
                            try:
                                call = lambda: runners[kind](kernels[src], q, k, v, o, lse, bool(causal), cfg)  # noqa: E731
                                call()
                                torch.cuda.synchronize()
                                ms = median_ms(call, flush)
                                cells.append(f"{flops / ms / 1e9:6.1f}")
                            except Exception as ex:  # a config that does not fit: say so, go on
                                cells.append(f"error {str(ex)[:120]}")
                        print(f"{kind} D={D} S={S} causal={causal} cfg={':'.join(map(str, cfg))} TFLOP/s: "
                              + " | ".join(cells), flush=True)


if __name__ == "__main__":
    main()
