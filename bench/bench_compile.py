"""Cold compile time of the matmul kernel (64x64x32 tiles, 4 warps, bf16,
launched at 512^3), each in a fresh process (sys.executable):

- terrazzo cold: a new empty TZ_CACHE_DIR, set before terrazzo is imported;
  the first launch compiles. Nothing is subtracted: the time runs from the
  launch call to torch.cuda.synchronize() after it.
- terrazzo disk: a second process on the same TZ_CACHE_DIR; its first launch
  loads the binary from the disk cache.
- triton cold / disk: the same with a fresh TRITON_CACHE_DIR (Triton's first
  launch also builds its host-side launcher, cached in the same directory).

Each process also reports a second launch (in-memory cache hit)."""

import json
import os
import subprocess
import sys
import tempfile

import common

CONFIG = (64, 64, 32, 4)
SIZE = 512
HERE = os.path.dirname(os.path.abspath(__file__))
CHILD_TIMEOUT_S = 120


def _child(ctx, which, env):
    left = ctx.box.left()
    if left < 15:
        return {"skipped": "time box spent"}
    cmd = [sys.executable, os.path.join(HERE, "compile_child.py"), which] + [str(v) for v in CONFIG] + [str(SIZE)]
    print(f"    {which} in a fresh process ({os.path.basename(env.get('TZ_CACHE_DIR') or env.get('TRITON_CACHE_DIR', ''))})",
          flush=True)
    try:
        p = subprocess.run(cmd, env=env, cwd=HERE, capture_output=True, text=True,
                           timeout=min(CHILD_TIMEOUT_S, left - 5))
    except subprocess.TimeoutExpired as e:
        return {"error": f"the process ran past {e.timeout:.0f} s and was killed"}
    for line in reversed(p.stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    tail = (p.stderr or p.stdout).strip().splitlines()[-8:]
    return {"error": f"exit status {p.returncode}: " + " | ".join(tail)}


def _env(ctx, **extra):
    """The parent's environment plus the cache dir; PYTHONPATH leads with
    bench/ and the directory terrazzo was imported from here."""
    env = dict(os.environ, **extra)
    paths = [HERE] + ([ctx.tz_path] if ctx.tz_path else [])
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def _count_files(d):
    return sum(len(files) for _, _, files in os.walk(d))


def run(ctx):
    res = {"config": {"BLOCK_M": CONFIG[0], "BLOCK_N": CONFIG[1], "BLOCK_K": CONFIG[2], "num_warps": CONFIG[3]},
           "size": SIZE}
    with tempfile.TemporaryDirectory(prefix="tz-bench-cache-") as d:
        env = _env(ctx, TZ_CACHE_DIR=d)
        res["terrazzo_cold"] = _child(ctx, "terrazzo", env)
        res["terrazzo_cache_files"] = _count_files(d)
        res["terrazzo_disk"] = _child(ctx, "terrazzo", env)
    if ctx.triton_version:
        with tempfile.TemporaryDirectory(prefix="triton-bench-cache-") as d:
            env = _env(ctx, TRITON_CACHE_DIR=d)
            res["triton_cold"] = _child(ctx, "triton", env)
            res["triton_disk"] = _child(ctx, "triton", env)
    else:
        res["triton_cold"] = res["triton_disk"] = {"error": f"triton does not import: {ctx.triton_error}"}
    for r in (res["terrazzo_cold"], res["terrazzo_disk"], res.get("triton_cold", {}), res.get("triton_disk", {})):
        if "rel_err" in r and not (r["rel_err"] <= 1e-2):
            r["warning"] = f"wrong result: rel err {r['rel_err']:.3g}"
    cold = res["terrazzo_cold"].get("cache_stats", {})
    disk = res["terrazzo_disk"].get("cache_stats", {})
    if cold and not cold.get("compiled"):
        res["terrazzo_cold"]["warning"] = "the cold process compiled nothing (compiled=0): was the cache dir used?"
    if disk and (disk.get("compiled") or not disk.get("disk_hits")):
        res["terrazzo_disk"]["warning"] = (f"expected a disk-cache hit and no compile, got compiled="
                                           f"{disk.get('compiled')} disk_hits={disk.get('disk_hits')}")
    res["ratio_cold_terrazzo_over_triton"] = common.ratio(res["terrazzo_cold"].get("first_launch_ms"),
                                                          res["triton_cold"].get("first_launch_ms"))
    return res


def markdown(res):
    c = res["config"]
    lines = [f"matmul {c['BLOCK_M']}x{c['BLOCK_N']}x{c['BLOCK_K']}, num_warps={c['num_warps']}, bf16, "
             f"launched at {res['size']}^3; each row is a fresh process.", ""]
    rows = []
    for key, label in (("terrazzo_cold", "terrazzo, empty cache dir"), ("terrazzo_disk", "terrazzo, disk cache"),
                       ("triton_cold", "triton, empty cache dir"), ("triton_disk", "triton, disk cache")):
        r = res.get(key, {})
        stats = r.get("cache_stats")
        note = "; ".join(x for x in (r.get("error"), r.get("skipped"), r.get("warning"),
                                      ", ".join(f"{k}={v}" for k, v in (stats or {}).items())) if x)
        rows.append([label, common.fmt(r.get("first_launch_ms"), 4), common.fmt(r.get("second_launch_ms")),
                     common.fmt(r.get("import_s")), common.fmt(r.get("rel_err"), 2), note])
    lines += common.table(["process", "first launch ms", "second launch ms", "import s", "rel err", "note"], rows)
    lines += ["", f"The terrazzo cache dir held {res.get('terrazzo_cache_files', '-')} files after the cold run.",
              "", f"Cold compile terrazzo / triton (time, lower is better): "
                  f"{common.fmt(res.get('ratio_cold_terrazzo_over_triton'))}"]
    return lines


def summary(res):
    return [["matmul cold compile + first launch, ms (lower is better)",
             common.fmt(res["terrazzo_cold"].get("first_launch_ms"), 4),
             common.fmt(res["triton_cold"].get("first_launch_ms"), 4),
             common.fmt(res.get("ratio_cold_terrazzo_over_triton")), "triton"],
            ["matmul first launch from disk cache, ms", common.fmt(res["terrazzo_disk"].get("first_launch_ms"), 4),
             common.fmt(res["triton_disk"].get("first_launch_ms"), 4),
             common.fmt(common.ratio(res["terrazzo_disk"].get("first_launch_ms"),
                                     res["triton_disk"].get("first_launch_ms"))), "triton"]]
