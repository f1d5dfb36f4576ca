"""Before/after evidence for a change to the LLVM pipeline: what every
library kernel compiles to (no GPU needed).

    python3 bench/codegen_compare.py collect OUT.json     # with the build to measure on PYTHONPATH
    python3 bench/codegen_compare.py compare BEFORE.json AFTER.json [--markdown]

`collect` compiles, for sm_90a (and sm_80 where the tests do), every kernel
that the GPU compile tests compile (test_gpu_compile.py,
test_linear_attention_gpu_compile.py, test_block_sparse_varlen_compile.py,
test_tma_compile.py where present: the library's flash, block-sparse,
varlen, block-mask, lightning, focused and agent kernels at their GPU tiles;
and test_library_compiles.py where present: every launch the library makes,
for sm_80, sm_90a and sm_90a with TMA, registers and spills only) plus the
cases below (the flash forward
and backward at head dims 64 and 128, cosine-sim attention, attention merge
and every matmul config of bench_matmul.py), and records per compilation the
assembler's registers and spill bytes, the PTX instructions in all and inside
loops (bench/ptx_stats.py), and the SASS instruction count of the cubin
(ptxas on the PTX, when ptxas is on PATH or in /usr/local/cuda/bin).
`compare` prints one row per compilation and flags any that got worse
(more registers, spills, loop instructions or SASS).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTS = ["test_gpu_compile.py", "test_linear_attention_gpu_compile.py", "test_block_sparse_varlen_compile.py",
         "test_tma_compile.py", "test_library_compiles.py"]  # those present in the checkout
sys.path.insert(0, HERE)

import ptx_stats  # noqa: E402


def _ptxas():
    return shutil.which("ptxas") or next((p for p in ("/usr/local/cuda/bin/ptxas",) if os.path.exists(p)), None)


def _sass(ptx, arch):
    tool = _ptxas()
    if not tool:
        return None
    with tempfile.TemporaryDirectory() as d:
        src, out = os.path.join(d, "k.ptx"), os.path.join(d, "k.cubin")
        with open(src, "w") as f:
            f.write(ptx)
        p = subprocess.run([tool, f"-arch={arch}", "-O3", src, "-o", out], capture_output=True, text=True)
        if p.returncode != 0:
            return None
        with open(out, "rb") as f:
            return ptx_stats.sass_instructions(f.read())


class Recorder:
    """Wraps Kernel.compile_for_gpu: every successful compilation is
    recorded under the current label (the test's node id) and its index."""

    def __init__(self, tz):
        self.records, self.label, self.index = {}, "", 0
        kernel_type = tz._terrazzo.Kernel
        original = kernel_type.compile_for_gpu
        recorder = self

        def compile_for_gpu(kernel, *args, **kwargs):
            info = original(kernel, *args, **kwargs)
            recorder.add(info)
            return info
        kernel_type.compile_for_gpu = compile_for_gpu
        # The library's own launches compiled for a target (the tile tuner's
        # probe; test_library_compiles.py): registers and spills only.
        ops = getattr(tz._terrazzo, "ops", None)
        if ops is not None and hasattr(ops, "compile_library_launches"):
            original_launches = ops.compile_library_launches

            def compile_library_launches(arch, tma, calls):
                kernels = original_launches(arch, tma, calls)
                for k in kernels:
                    if not k["compile_error"]:
                        recorder.add_resources(k, arch + (" tma" if tma else ""))
                return kernels
            ops.compile_library_launches = compile_library_launches

    def start(self, label):
        self.label, self.index = label, 0

    def add_resources(self, kernel, target):
        key = f"{self.label}#{self.index} {kernel['kernel_name']} {target}"
        self.index += 1
        self.records[key] = {"registers": kernel["registers"], "spill_bytes": kernel["spill_store_bytes"],
                             "ptx": None, "loop_ptx": None, "loop_opcodes": {}, "sass": None, "llvm_seconds": 0.0}

    def add(self, info):
        key = f"{self.label}#{self.index} {info['kernel_name']} {info['arch']}"
        self.index += 1
        stats = ptx_stats.ptx_stats(info["ptx"])
        self.records[key] = {
            "registers": info["registers"], "spill_bytes": info["spill_store_bytes"] + info["spill_load_bytes"],
            "ptx": stats["instructions"], "loop_ptx": stats["loop_instructions"],
            "loop_opcodes": stats["loop_opcodes"], "sass": _sass(info["ptx"], info["arch"]),
            "llvm_seconds": sum(v for k, v in info["stage_seconds"].items()
                                if k in ("LLVM O3", "LLVM optimisation", "NVPTX codegen")),
        }


def _extra_cases(tz, np):
    """(label, thunk) for kernels and configurations the tests do not compile."""
    cases = []

    def st(a):
        return tuple(s // a.itemsize for s in a.strides)
    for d, (bm, bn, warps, min_blocks) in ((128, (128, 64, 8, 0)), (64, (128, 64, 8, 2))):
        n = 1024
        q = np.zeros((1, 2, n, d), np.float16)
        lse = np.zeros((1, 2, n), np.float32)
        s4 = list(st(q))
        fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
        for causal in (False, True):
            cases.append((f"flash_fwd d{d} causal={causal}", lambda fwd=fwd, q=q, lse=lse, s4=s4, causal=causal, d=d,
                          bm=bm, bn=bn, warps=warps, mb=min_blocks: fwd.compile_for_gpu(
                              (q, q, q, q, lse, None, *s4 * 4, 2, 2, n, n, 0.125),
                              dict(HEAD_DIM=d, BLOCK_M=bm, BLOCK_N=bn, CAUSAL=causal, STORE_LSE=True, arch="sm_90a",
                                   num_warps=warps, min_blocks_per_sm=mb))))
        pre = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_bwd_preprocess")
        dkdv = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_bwd_dkdv")
        dq = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_bwd_dq")
        cases.append((f"flash_bwd_preprocess d{d}", lambda pre=pre, q=q, lse=lse, s4=s4, d=d: pre.compile_for_gpu(
            (q, q, lse, *s4 * 2, 2, n), dict(HEAD_DIM=d, BLOCK_M=64, arch="sm_90a"))))
        for causal in (False, True):
            cases.append((f"flash_bwd_dkdv d{d} causal={causal}", lambda dkdv=dkdv, q=q, lse=lse, s4=s4, d=d,
                          causal=causal: dkdv.compile_for_gpu(
                              (q, q, q, q, lse, lse, q, q, None, *s4 * 6, 2, 2, n, n, 0.125),
                              dict(HEAD_DIM=d, BLOCK_M=64, BLOCK_N=64, CAUSAL=causal, arch="sm_90a",
                                   num_warps=4 if d == 64 else 8))))
            cases.append((f"flash_bwd_dq d{d} causal={causal}", lambda dq=dq, q=q, lse=lse, s4=s4, d=d,
                          causal=causal: dq.compile_for_gpu(
                              (q, q, q, q, lse, lse, q, None, *s4 * 5, 2, 2, n, n, 0.125),
                              dict(HEAD_DIM=d, BLOCK_M=64, BLOCK_N=64, CAUSAL=causal, arch="sm_90a",
                                   num_warps=4 if d == 64 else 8))))

    n, d = 1024, 64
    q = np.zeros((1, 2, n, d), np.float16)
    lse = np.zeros((1, 2, n), np.float32)
    s4 = list(st(q))
    cos_fwd = tz._terrazzo.Kernel.from_library("cosine_sim_attention.py", "cosine_sim_attention_fwd")
    for causal in (False, True):
        cases.append((f"cosine_sim_fwd d{d} causal={causal}", lambda causal=causal: cos_fwd.compile_for_gpu(
            (q, q, q, None, None, None, q, lse, lse, *s4 * 3, 0, 0, 0, 0, 0, 0, *s4, 2, 2, n, n, 1e-6),
            dict(CAUSAL=causal, HAS_BIAS=False, HAS_KEY_MASK=False, HAS_KEY_LENS=False, GROUPS=1, BLOCK_M=64,
                 BLOCK_N=64, HEAD_DIM=d, arch="sm_90a", num_warps=4))))

    from tz_kernels import matmul
    from bench_matmul import CONFIGS
    a = np.zeros((512, 512), np.float16)
    for cfg in CONFIGS:
        bm, bn, bk, warps, stages = cfg[:5]
        extra = {"tma": True} if len(cfg) > 5 and cfg[5] else {}  # configs with TMA copies, where the build has them
        if len(cfg) > 6 and cfg[6]:  # persistent configs, likewise
            extra["persistent"] = True
        cases.append((f"bench matmul {bm}x{bn}x{bk} w{warps} s{stages}" + (" tma" if extra.get("tma") else "") +
                      (" persistent" if extra.get("persistent") else ""),
                      lambda bm=bm, bn=bn, bk=bk, warps=warps, stages=stages, extra=extra: matmul.compile_for_gpu(
                          a, a, a, 512, 512, 512, BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, num_warps=warps,
                          num_stages=stages, arch="sm_90a", **extra)))
    return cases


def collect(out):
    import numpy as np
    import pytest
    import terrazzo as tz
    recorder = Recorder(tz)
    started = time.time()
    errors = {}
    for label, thunk in _extra_cases(tz, np):
        recorder.start(label)
        try:
            thunk()
        except Exception as e:  # a case that does not compile is reported, not fatal
            errors[label] = f"{type(e).__name__}: {str(e)[:300]}"

    class Plugin:
        def pytest_runtest_setup(self, item):
            recorder.start(item.nodeid)

    tests = [p for p in (os.path.join(ROOT, "test", "python", t) for t in TESTS) if os.path.exists(p)]
    code = pytest.main(["-q", "-p", "no:cacheprovider", *tests], plugins=[Plugin()])
    with open(out, "w") as f:
        json.dump({"records": recorder.records, "errors": errors, "pytest_exit": int(code),
                   "seconds": time.time() - started}, f, indent=1, sort_keys=True)
    print(f"{len(recorder.records)} compilations recorded in {out}; {len(errors)} extra cases failed")
    for label, e in errors.items():
        print(f"  {label}: {e}")


def compare(before_path, after_path, markdown):
    before = json.load(open(before_path))["records"]
    after = json.load(open(after_path))["records"]
    fields = ("registers", "spill_bytes", "loop_ptx", "ptx", "sass")
    worse, rows = [], []
    for key in sorted(set(before) | set(after)):
        b, a = before.get(key), after.get(key)
        if not b or not a:
            rows.append((key, "only in " + ("after" if a else "before")))
            continue
        cells = []
        for f in fields:
            x, y = b[f], a[f]
            cells.append(f"{x}" if x == y else f"{x} -> {y}")
            if f != "ptx" and x is not None and y is not None and y > x:
                worse.append(f"{key}: {f} {x} -> {y}")
        rows.append((key, cells, b["llvm_seconds"], a["llvm_seconds"]))
    header = ["compilation", "registers", "spill bytes", "PTX in loops", "PTX", "SASS", "LLVM s before", "after"]
    if markdown:
        # Per-row times are left out: single compilations on a shared machine
        # vary too much to compare (the total is below).
        print("One number where both agree, `before -> after` where they differ.\n")
        print("| " + " | ".join(header[:-2]) + " |")
        print("|" + "---|" * (len(header) - 2))
    for row in rows:
        if len(row) == 2:
            print(f"{row[0]}: {row[1]}")
            continue
        key, cells, tb, ta = row
        if markdown:
            print("| " + " | ".join([key, *cells]) + " |")
        else:
            print(f"{key}\n    " + "  ".join(f"{h}={c}" for h, c in zip(header[1:], cells)) + f"  LLVM s {tb:.3f} -> {ta:.3f}")
    timed = [r for r in rows if len(r) == 4]
    if timed:
        tb, ta = sum(r[2] for r in timed), sum(r[3] for r in timed)
        # Wall clock, each collect at its own time: on a shared machine only
        # a rough hint (bench_compile_phases.py interleaves its runs).
        print(f"\n{len(timed)} compilations; LLVM optimisation + codegen {tb:.2f} s before, {ta:.2f} s after "
              f"({ta / tb:.2f}x; wall clock of separate runs, a rough hint)")
    print(f"{len(worse)} got worse" + (":\n  " + "\n  ".join(worse) if worse else ""))
    return 1 if worse else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("collect")
    c.add_argument("out")
    d = sub.add_parser("compare")
    d.add_argument("before")
    d.add_argument("after")
    d.add_argument("--markdown", action="store_true")
    opts = parser.parse_args()
    if opts.what == "collect":
        collect(opts.out)
    else:
        sys.exit(compare(opts.before, opts.after, opts.markdown))


if __name__ == "__main__":
    main()
