"""Triton source compiled by Triton and by terrazzo (issue 17), in one run:

- the tutorial matmul (bench/triton_tutorial_source.py, fp16, 4096^3 and
  8192^3, Triton's H100 tutorial config 128x256x64 / group 8 / 8 warps / 3
  stages) — TFLOP/s of each next to torch.matmul, results checked against it;
- launch overhead of a cached launch: 4 tensors + 1 int + 1 constexpr on grid
  (1,), median of trials, next to Triton's and a torch elementwise op (and the
  same kernel under each autotuner, once tuned), trials interleaved;
- cold compile of the matmul (fresh cache dirs) and the warm-disk load in a new
  process are left to bench_compile.py.

Run on the GPU machine:  python bench/bench_triton_source.py [--out DIR]"""

import argparse
import importlib.util
import json
import os
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import common  # noqa: E402

SIZES = [4096, 8192]
CONFIG = dict(BLOCK_SIZE_M=128, BLOCK_SIZE_N=256, BLOCK_SIZE_K=64, GROUP_SIZE_M=8)
OPTIONS = dict(num_warps=8, num_stages=3)
LAUNCHES, TRIALS = 5000, 5


def load(backend):
    spec = importlib.util.spec_from_file_location(f"triton_tutorial_{backend}", HERE / "triton_tutorial_source.py")
    module = importlib.util.module_from_spec(spec)
    module.BACKEND = backend
    spec.loader.exec_module(module)
    return module


def matmul_launcher(mod, torch, a, b, c):
    M, K = a.shape
    _, N = b.shape
    grid = (((M + CONFIG["BLOCK_SIZE_M"] - 1) // CONFIG["BLOCK_SIZE_M"]) *
            ((N + CONFIG["BLOCK_SIZE_N"] - 1) // CONFIG["BLOCK_SIZE_N"]),)
    return lambda: mod.matmul_kernel[grid](a, b, c, M, N, K, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                                           c.stride(0), c.stride(1), **CONFIG, **OPTIONS)


def launch_trial_us(fn, torch):
    """One trial: LAUNCHES back-to-back launches, drained, per launch."""
    t0 = time.perf_counter()
    for _ in range(LAUNCHES):
        fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / LAUNCHES * 1e6


def launch_overhead(launchers, torch):
    """Median over TRIALS of each launcher's per-launch time; the trials of
    all launchers alternate, so drift of the machine hits each alike."""
    trials = {name: [] for name in launchers}
    for name, fn in launchers.items():
        fn()  # compile (or tune), then warm
        torch.cuda.synchronize()
    for _ in range(TRIALS):
        for name, fn in launchers.items():
            trials[name].append(launch_trial_us(fn, torch))
    return {name: statistics.median(t) for name, t in trials.items()}, trials


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default="bench-triton-source")
    parser.add_argument("--launch-only", action="store_true", help="only the launch overhead (no matmul)")
    args = parser.parse_args()
    import torch
    out = {"device": torch.cuda.get_device_name(), "config": CONFIG, "options": OPTIONS, "matmul": {}, "launch": {}}
    backends = {}
    for name in ("terrazzo", "triton"):
        try:
            backends[name] = load(name)
        except Exception as e:
            out[name + "_error"] = common.describe(e)
    for s in ([] if args.launch_only else SIZES):
        a = torch.randn(s, s, device="cuda", dtype=torch.float16)
        b = torch.randn(s, s, device="cuda", dtype=torch.float16)
        ref = a.float() @ b.float()
        row = out["matmul"][s] = {}
        t = common.cuda_time(lambda: torch.matmul(a, b))
        row["torch"] = {"median_ms": t["median_ms"], "tflops": common.tflops(2.0 * s ** 3, t["median_ms"])}
        for name, mod in backends.items():
            c = torch.full((s, s), float("nan"), device="cuda", dtype=torch.float16)
            try:
                fn = matmul_launcher(mod, torch, a, b, c)
                t0 = time.perf_counter()
                fn()
                torch.cuda.synchronize()
                first = time.perf_counter() - t0
                err = common.rel_err(c, ref)
                t = common.cuda_time(fn)
                row[name] = {"median_ms": t["median_ms"], "tflops": common.tflops(2.0 * s ** 3, t["median_ms"]),
                             "rel_err": err, "first_launch_s": first}
            except Exception as e:
                row[name] = {"error": common.describe(e)}
        print(s, json.dumps(row), flush=True)
    # Launch overhead: a cached launch of 4 tensors + 1 int + 1 constexpr on
    # grid (1,), ours, Triton's and a torch elementwise op in the same run;
    # also each backend's autotuned nop once tuned.
    bufs = [torch.zeros(64, device="cuda") for _ in range(4)]
    x = bufs[0]
    launchers = {}
    for name, mod in backends.items():
        for suffix, make in (("", lambda m: lambda: m.nop_kernel[(1,)](*bufs, 0, BLOCK=64)),
                             ("_autotuned", lambda m: lambda: m.nop_kernel_autotuned[(1,)](*bufs, 0))):
            fn = make(mod)
            try:
                fn()
                torch.cuda.synchronize()
                launchers[name + suffix] = fn
            except Exception as e:
                out["launch"][name + suffix] = common.describe(e)
    launchers["torch_add"] = lambda: torch.add(x, x, out=bufs[1])
    medians, trials = launch_overhead(launchers, torch)
    out["launch"].update(medians)
    out["launch_trials_us"] = trials
    out["launch_method"] = (f"median of {TRIALS} trials of {LAUNCHES} back-to-back launches each "
                            "(wall time to the drain), trials of all launchers alternating")
    if "terrazzo" in backends:
        import terrazzo as tz
        out["terrazzo_fast_path"] = {"nop_kernel": backends["terrazzo"].nop_kernel._fast_stats(),
                                     "nop_kernel_autotuned": backends["terrazzo"].nop_kernel_autotuned._fast_stats(),
                                     "tensor_reader": tz._terrazzo._tensor_reader_state()}
        print("terrazzo cached launch path:", json.dumps(out["terrazzo_fast_path"]), flush=True)
    print("launch us:", json.dumps(out["launch"]), flush=True)
    os.makedirs(args.out, exist_ok=True)
    (pathlib.Path(args.out) / "bench_triton_source.json").write_text(json.dumps(out, indent=2, default=str))


if __name__ == "__main__":
    main()
