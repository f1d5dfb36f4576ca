#!/usr/bin/env python3
"""Runs every Terrazzo GPU benchmark in one process, side by side with torch
(and Triton where it applies), and writes OUT/bench.json and OUT/bench.md.

    python3 bench/run_all.py --out bench/results/<date>-<device> [--only softmax,matmul]

Each benchmark runs in its own try/except and its own time box; its result
or its error is written as soon as it ends, so a crash or the watchdog
(--time-limit plus a grace period) leaves the results so far. See README.md.
"""

import argparse
import datetime
import faulthandler
import importlib
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import common  # noqa: E402

# name, module, time box in seconds, section title
BENCHMARKS = [
    ("copy", "bench_copy", 15, "Copy bandwidth (the memory ceiling)"),
    ("vector_add", "bench_vector_add", 30, "Vector add"),
    ("softmax", "bench_softmax", 40, "Fused row softmax"),
    ("launch", "bench_launch", 30, "Launch overhead"),
    ("compile", "bench_compile", 100, "Cold compile (matmul kernel)"),
    ("matmul", "bench_matmul", 150, "bf16 matmul"),
    ("attention", "bench_attention", 240, "bf16 attention (flash, cosine-sim)"),
]

METHOD = ("Kernel times are medians over many calls, each call between its own pair of CUDA events on "
          "torch's current stream, after an untimed first call (compilation) and warm-up calls; before each "
          "timed call a 256 MiB buffer is zeroed outside the events, so every call starts with a cold L2. "
          "The number of calls is capped by a time budget (the `reps` columns). Inputs are random, never "
          "zeros. GB/s counts the fewest bytes the operation must move (each input read once, each output "
          "written once) in units of 1e9. Launch overhead and compile times are wall-clock instead "
          "(see those sections). Ratios are ours / baseline: for GB/s and TFLOP/s above 1 is faster, for "
          "times below 1 is faster.")


class Context:
    """What the benchmarks share: torch, the copy bandwidth, the time box."""

    def __init__(self, torch):
        self.torch = torch
        self.copy_gbps = None
        self.box = None
        self.tz_path = None
        self.triton_version = None
        self.triton_error = None


def log(started, msg):
    print(f"[{time.monotonic() - started:6.1f}s] {msg}", flush=True)


def import_terrazzo():
    """terrazzo from sys.path, else from a build folder of this checkout."""
    try:
        import terrazzo
        return terrazzo, None
    except ImportError as e:
        first = common.describe(e)
    for cand in ("build-gpu/python", "build/python"):
        d = os.path.join(REPO, cand)
        if os.path.isdir(os.path.join(d, "terrazzo")):
            sys.path.insert(0, d)
            try:
                import terrazzo
                return terrazzo, None
            except ImportError:
                sys.path.remove(d)
    return None, (f"{first}. Build the Python module first (scripts/gpu-check.sh builds build-gpu/) "
                  "and put its python/ folder on PYTHONPATH")


def environment(torch, tz, tz_error, triton_version, triton_error):
    props = torch.cuda.get_device_properties(0)
    env = {
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": torch.cuda.get_device_name(0),
        "capability": "%d.%d" % torch.cuda.get_device_capability(0),
        "multiprocessors": props.multi_processor_count,
        "l2_bytes": getattr(props, "L2_cache_size", None),
        "memory_bytes": props.total_memory,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "triton": triton_version or f"not available ({triton_error})",
        "terrazzo": getattr(tz, "__version__", None) if tz else f"not available ({tz_error})",
        "python": platform.python_version(),
        "host": platform.node(),
    }
    if tz is not None and hasattr(tz._terrazzo, "gpu_available"):
        env["terrazzo_gpu_available"] = bool(tz._terrazzo.gpu_available())
        if not env["terrazzo_gpu_available"]:
            env["terrazzo_gpu_unavailable_reason"] = tz._terrazzo.gpu_unavailable_reason()
    return env


def write(out_dir, results):
    with open(os.path.join(out_dir, "bench.json"), "w") as f:
        json.dump(common.json_safe(results), f, indent=2)
        f.write("\n")
    with open(os.path.join(out_dir, "bench.md"), "w") as f:
        f.write("\n".join(markdown(results)) + "\n")


def markdown(results):
    env = results.get("environment", {})
    lines = ["# Terrazzo GPU benchmarks", ""]
    if results.get("status") == "skipped":
        return lines + [f"Nothing measured: {results['reason']}"]
    l2 = env.get("l2_bytes")
    lines += [f"- device: **{env.get('device')}** (sm_{env.get('capability', '').replace('.', '')}, "
              f"{env.get('multiprocessors')} SMs, L2 {l2 / 2**20:.0f} MiB, "
              f"{env.get('memory_bytes', 0) / 2**30:.0f} GiB)" if l2 else f"- device: **{env.get('device')}**",
              f"- date (UTC): {env.get('date_utc')}",
              f"- torch {env.get('torch')} (CUDA {env.get('cuda')}), triton {env.get('triton')}, "
              f"terrazzo {env.get('terrazzo')}, Python {env.get('python')}",
              f"- total run time: {common.fmt(results.get('total_seconds'))} s", "",
              METHOD, "", "## Summary", ""]
    rows = []
    for name, module_name, _, _ in BENCHMARKS:
        r = results["benchmarks"].get(name)
        if not r:
            continue
        if r.get("status") != "ok":
            rows.append([name, "-", "-", "-", f"{r.get('status')}: {r.get('error', r.get('reason', ''))[:120]}"])
            continue
        mod = sys.modules.get(module_name)
        try:
            rows += mod.summary(r["result"]) if mod and hasattr(mod, "summary") else []
        except Exception as e:
            rows.append([name, "-", "-", "-", f"summary failed: {common.describe(e)}"])
    lines += common.table(["measure", "ours (terrazzo)", "baseline", "ours / baseline", "baseline is"], rows)
    for name, module_name, _, title in BENCHMARKS:
        r = results["benchmarks"].get(name)
        if not r:
            continue
        lines += ["", f"## {title}", ""]
        if r.get("status") == "ok":
            lines += [f"_{common.fmt(r.get('seconds'))} s_", ""]
            try:
                lines += sys.modules[module_name].markdown(r["result"])
            except Exception as e:
                lines += [f"(could not format: {common.describe(e)}; see bench.json)"]
        elif r.get("status") == "error":
            lines += [f"**Failed** after {common.fmt(r.get('seconds'))} s:", "", "```", r.get("error", ""), "```"]
        else:
            lines += [f"Skipped: {r.get('reason')}"]
    if results.get("terrazzo_cache_stats"):
        lines += ["", "terrazzo GPU cache counters at the end of the run: "
                  + ", ".join(f"{k}={v}" for k, v in results["terrazzo_cache_stats"].items())]
    return lines


def skip_everything(out_dir, reason):
    print(f"run_all.py: nothing measured: {reason}", flush=True)
    write(out_dir, {"status": "skipped", "reason": reason,
                    "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")})
    print(f"wrote {out_dir}/bench.json and bench.md", flush=True)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="folder for bench.json and bench.md (created)")
    ap.add_argument("--only", help="comma-separated subset of: " + ", ".join(b[0] for b in BENCHMARKS))
    ap.add_argument("--time-limit", type=float, default=420.0,
                    help="seconds for all benchmarks together (default 420); a watchdog ends the process "
                         "120 s after it")
    args = ap.parse_args(argv)
    started = time.monotonic()
    os.makedirs(args.out, exist_ok=True)
    selected = [b for b in BENCHMARKS if not args.only or b[0] in args.only.split(",")]
    if not selected:
        ap.error(f"--only names none of: {', '.join(b[0] for b in BENCHMARKS)}")

    try:
        import torch
    except ImportError as e:
        return skip_everything(args.out, f"torch is not installed here ({e}); run this on the GPU machine")
    if not torch.cuda.is_available():
        return skip_everything(args.out, "torch sees no CUDA GPU here; run this on the GPU machine")

    tz, tz_error = import_terrazzo()
    ctx = Context(torch)
    if tz is not None:
        ctx.tz_path = os.path.dirname(os.path.dirname(os.path.abspath(tz.__file__)))
    else:
        log(started, f"terrazzo does not import: {tz_error}")
    try:
        import triton
        ctx.triton_version = triton.__version__
    except Exception as e:
        ctx.triton_error = common.describe(e)
        log(started, f"triton does not import: {ctx.triton_error}")

    results = {"status": "running", "environment": environment(torch, tz, tz_error, ctx.triton_version,
                                                                ctx.triton_error),
               "benchmarks": {}}
    env = results["environment"]
    log(started, f"{env['device']}, torch {env['torch']}, triton {env['triton']}, terrazzo {env['terrazzo']}")
    write(args.out, results)

    faulthandler.dump_traceback_later(args.time_limit + 120, exit=True)
    deadline = started + args.time_limit
    broken = None
    for name, module_name, box_s, _ in selected:
        entry = results["benchmarks"][name] = {}
        seconds = min(box_s, deadline - time.monotonic())
        if broken:
            entry.update(status="skipped", reason=f"the CUDA context is unusable: {broken}")
        elif seconds < 3:
            entry.update(status="skipped", reason=f"the run's time limit ({args.time_limit:.0f} s) is spent")
        if entry:
            log(started, f"{name}: {entry['reason']}")
            write(args.out, results)
            continue
        log(started, f"{name} (time box {seconds:.0f} s)")
        ctx.box = common.TimeBox(seconds)
        t0 = time.monotonic()
        try:
            module = importlib.import_module(module_name)
            entry.update(status="ok", result=module.run(ctx))
        except Exception as e:
            entry.update(status="error", error=common.describe(e))
            log(started, f"{name} FAILED: {entry['error']}")
        entry["seconds"] = time.monotonic() - t0
        try:  # a faulting kernel leaves the context unusable for everything after it
            torch.cuda.synchronize()
        except Exception as e:
            broken = f"after {name}: {common.describe(e)}"
            log(started, broken)
        write(args.out, results)
    faulthandler.cancel_dump_traceback_later()

    if tz is not None and hasattr(tz._terrazzo, "gpu_cache_stats"):
        results["terrazzo_cache_stats"] = dict(tz._terrazzo.gpu_cache_stats())
    results["status"] = "done"
    results["total_seconds"] = time.monotonic() - started
    write(args.out, results)
    md = markdown(results)
    start = md.index("## Summary")
    end = next((i for i in range(start + 2, len(md)) if md[i].startswith("## ")), len(md))
    print("\n".join(md[start:end]), flush=True)
    log(started, f"wrote {args.out}/bench.json and bench.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
