"""Where a cold GPU compile spends its time, phase by phase (no GPU needed).

Each case runs in fresh processes (sys.executable), so nothing is cached:
the process imports terrazzo, then calls compile_for_gpu once ("cold": the
first compile of the process, which also pays the one-time costs: reading
the kernel's source file, LLVM's target setup, loading nvJitLink) and then
compiles another specialization of the same kernel ("warm process": the
one-time costs are paid). compile_for_gpu's `stage_seconds` gives the
phases; `other` is the rest of the call's wall time (argument conversion,
printing the IR texts compile_for_gpu returns, one-time setup outside the
phases). A launch does not print the IR texts, so its compile is about the
sum of the phases.

    python3 bench/bench_compile_phases.py [--repeat 3] [--arch sm_90a] [--out DIR] [--case NAME ...]
                                          [--llvm-levels default,3]

--llvm-levels runs every case once per LLVM middle-end level (the
environment variable TZ_LLVM_OPT_LEVEL; `default` leaves it unset: O1 with
GVN and O3's unroller), to compare the default pipeline with O3.

Cases: the flash-attention forward at head dim 128 (128x64 tiles, 8 warps,
causal and not: the library's tiles for that head dim) and the benchmark
matmul (bench/tz_kernels.py, 128x256x64, 8 warps, 3 stages, and the
64x64x32 / 4 warps of bench_compile.py). Reports the minimum and the median
over the repeats of each phase; the minimum is the best estimate of the
work on a machine shared with other jobs.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ["flash_fwd_d128", "flash_fwd_d128_causal", "matmul_128x256x64", "matmul_64x64x32"]


def _flash(tz, np, causal, arch):
    n, d = 1024, 128
    q = np.zeros((1, 2, n, d), np.float16)
    lse = np.zeros((1, 2, n), np.float32)
    strides = [2 * n * d, n * d, d, 1]
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    args = (q, q, q, q, lse, None, *strides * 4, 2, 2, n, n, 0.125)

    def compile_once(store_lse):
        return fwd.compile_for_gpu(args, dict(HEAD_DIM=d, BLOCK_M=128, BLOCK_N=64, CAUSAL=causal,
                                              STORE_LSE=store_lse, arch=arch, num_warps=8))
    # The library's forward stores the row statistics when autograd needs
    # them; the second specialization is the other variant.
    return compile_once(True), lambda: compile_once(False)


def _matmul(tz, np, config, arch):
    sys.path.insert(0, HERE)
    from tz_kernels import matmul
    bm, bn, bk, warps, stages = config
    size = 512
    a = np.zeros((size, size), np.float16)
    c = np.zeros((size, size), np.float16)

    def compile_once(k):
        return matmul.compile_for_gpu(a, a, c, size, size, k, BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, num_warps=warps,
                                      num_stages=stages, arch=arch)
    # A second K makes a second specialization (K is specialized on its
    # divisibility by 16, so 520 = 8 mod 16 differs from 512).
    return compile_once(size), lambda: compile_once(size + 8)


def child(case, arch):
    """One fresh process: the cold compile and a warm-process one."""
    t = time.perf_counter()
    import numpy as np
    import terrazzo as tz
    import_s = time.perf_counter() - t
    builders = {
        "flash_fwd_d128": lambda: _flash(tz, np, False, arch),
        "flash_fwd_d128_causal": lambda: _flash(tz, np, True, arch),
        "matmul_128x256x64": lambda: _matmul(tz, np, (128, 256, 64, 8, 3), arch),
        "matmul_64x64x32": lambda: _matmul(tz, np, (64, 64, 32, 4, 2), arch),
    }
    t = time.perf_counter()
    info, again = builders[case]()
    cold_s = time.perf_counter() - t
    t = time.perf_counter()
    info2 = again()
    warm_s = time.perf_counter() - t
    return {"case": case, "arch": arch, "import_s": import_s,
            "cold": {"call_s": cold_s, "stages": info["stage_seconds"], "compile_s": info.get("compile_seconds")},
            "warm_process": {"call_s": warm_s, "stages": info2["stage_seconds"],
                             "compile_s": info2.get("compile_seconds")},
            "registers": info["registers"], "spill_bytes": info["spill_store_bytes"] + info["spill_load_bytes"],
            "cubin_bytes": info["cubin_bytes"]}


def run_child(case, arch, level):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", case, "--arch", arch]
    env = dict(os.environ)
    env.pop("TZ_LLVM_OPT_LEVEL", None)
    if level != "default":
        env["TZ_LLVM_OPT_LEVEL"] = level
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise RuntimeError(f"{case}: exit status {p.returncode}: " + (p.stderr or p.stdout)[-2000:])


def summarize(runs, which):
    """Phase -> (min, median) over the runs; adds `sum of phases` and `other`."""
    phases = list(runs[0][which]["stages"])
    table = {}
    for phase in phases:
        values = [r[which]["stages"][phase] for r in runs]
        table[phase] = (min(values), statistics.median(values))
    sums = [sum(r[which]["stages"].values()) for r in runs]
    calls = [r[which]["call_s"] for r in runs]
    others = [c - s for c, s in zip(calls, sums)]
    table["sum of phases"] = (min(sums), statistics.median(sums))
    if all(r[which].get("compile_s") is not None for r in runs):
        compiles = [r[which]["compile_s"] for r in runs]
        table["compile_seconds (C++, with IR texts)"] = (min(compiles), statistics.median(compiles))
    table["other (outside the phases)"] = (min(others), statistics.median(others))
    table["compile_for_gpu call"] = (min(calls), statistics.median(calls))
    return table


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--arch", default="sm_90a")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per case (default 3)")
    parser.add_argument("--case", action="append", choices=CASES, help="run only these cases")
    parser.add_argument("--out", help="directory for compile_phases.json and compile_phases.txt")
    parser.add_argument("--llvm-levels", default="default",
                        help="comma-separated TZ_LLVM_OPT_LEVEL values to run each case with (default: unset)")
    opts = parser.parse_args()
    if opts.child:
        print("RESULT " + json.dumps(child(opts.child, opts.arch)), flush=True)
        return

    results, lines = {}, []
    levels, cases = opts.llvm_levels.split(","), opts.case or CASES
    # Interleaved (every case and level once per round), so that a change in
    # the machine's load during the run falls on all of them alike.
    rounds = [{(case, level): run_child(case, opts.arch, level) for level in levels for case in cases}
              for _ in range(opts.repeat)]
    for level in levels:
        for case in cases:
            runs = [r[(case, level)] for r in rounds]
            results[f"{case} llvm={level}"] = runs
            lines.append(f"{case}, LLVM middle end {'O' + level if level != 'default' else 'default (O1 + GVN + O3 unroller)'} "
                         f"({opts.arch}, {opts.repeat} fresh processes; seconds, min / median; "
                         f"{runs[0]['registers']} registers, {runs[0]['spill_bytes']} spill bytes)")
            cold, warm = summarize(runs, "cold"), summarize(runs, "warm_process")
            lines.append(f"  {'phase':32s} {'cold':>17s} {'warm process':>17s}")
            for phase in cold:
                c, w = cold[phase], warm.get(phase, (float("nan"),) * 2)
                lines.append(f"  {phase:32s} {c[0]:8.3f} {c[1]:8.3f} {w[0]:8.3f} {w[1]:8.3f}")
            imports = [r["import_s"] for r in runs]
            lines.append(f"  {'import terrazzo':32s} {min(imports):8.3f} {statistics.median(imports):8.3f}")
    text = "\n".join(lines)
    print(text)
    if opts.out:
        os.makedirs(opts.out, exist_ok=True)
        with open(os.path.join(opts.out, "compile_phases.json"), "w") as f:
            json.dump(results, f, indent=1)
        with open(os.path.join(opts.out, "compile_phases.txt"), "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
