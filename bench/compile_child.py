"""Run by bench_compile.py in a fresh process: times the first launch of the
matmul kernel (compile or cache load + module load + launch + the kernel,
synchronized) and then a second one, and prints one line `RESULT {json}`.

    python3 compile_child.py terrazzo|triton BLOCK_M BLOCK_N BLOCK_K NUM_WARPS SIZE

The cache directory (TZ_CACHE_DIR or TRITON_CACHE_DIR) comes from the
environment the parent sets. CUDA is initialised through torch before the
clock starts, so context creation is not counted; the import of the
compiler is timed separately."""

import json
import sys
import time


def main():
    which = sys.argv[1]
    bm, bn, bk, warps, size = (int(v) for v in sys.argv[2:7])
    import torch

    a = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(size, size, device="cuda", dtype=torch.bfloat16)
    c = torch.full((size, size), float("nan"), device="cuda", dtype=torch.bfloat16)
    torch.cuda.synchronize()

    t = time.perf_counter()
    if which == "terrazzo":
        import terrazzo as tz
        from tz_kernels import matmul
        cdiv = tz.cdiv
    else:
        import triton
        from triton_kernels import matmul
        cdiv = triton.cdiv
    out = {"which": which, "import_s": time.perf_counter() - t}

    grid = (cdiv(size, bm), cdiv(size, bn))

    def launch():
        matmul[grid](a, b, c, size, size, size, BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, num_warps=warps)

    t = time.perf_counter()
    launch()
    torch.cuda.synchronize()
    out["first_launch_ms"] = (time.perf_counter() - t) * 1e3
    t = time.perf_counter()
    launch()
    torch.cuda.synchronize()
    out["second_launch_ms"] = (time.perf_counter() - t) * 1e3

    ref = a.float() @ b.float()
    out["rel_err"] = float((c.double() - ref.double()).norm() / ref.double().norm())
    if which == "terrazzo":
        out["cache_stats"] = dict(tz._terrazzo.gpu_cache_stats())
    print("RESULT " + json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
