"""bf16 matmul, C = A @ B with fp32 accumulation and a bf16 result, square
sizes 4096 and 8192: our tiled tz.dot kernel over a few tile configs vs
torch.matmul (cuBLAS). TFLOP/s count 2 * M * N * K.

Each config is first checked at 512^3 against torch.matmul on fp32 copies of
the inputs (||C - ref|| / ||ref|| <= 1e-2). Our dot is a CUDA-core fallback
today, so a call can be slow: sizes are approached by a ladder (512, 1024,
2048, 4096, 8192), each step predicted from the last as time * 8; a size
whose single call is predicted or measured over CAP_S seconds is not timed
further, and every timed size gets a small budget of repetitions."""

import os
import time

import common

SIZES = [4096, 8192]
CHECK_SIZE = 512
LADDER = [1024, 2048, 4096, 8192]
# (BLOCK_M, BLOCK_N, BLOCK_K, num_warps, num_stages[, copies[, persistent]]):
# the largest tiles also with TMA copies (copies True: the `tma` launch
# option), and with TMA copies issued by a producer warpgroup (copies "ws":
# the `warp_specialize` option; 8 consumer warps, 12 in all), right after
# the same tiles copied with cp.async; then persistent (persistent True: the
# `persistent` launch option, one program per resident block walking the
# tiles) with cp.async and with TMA.
CONFIGS = [(64, 64, 32, 4, 2), (128, 128, 32, 4, 2), (128, 128, 32, 4, 3), (128, 128, 64, 4, 3),
           (128, 128, 64, 8, 3), (128, 256, 64, 8, 2), (128, 256, 64, 8, 3), (128, 256, 64, 8, 3, True),
           (128, 256, 64, 8, 4), (128, 256, 64, 8, 4, True), (256, 128, 64, 8, 3), (256, 128, 64, 8, 3, True),
           (256, 128, 64, 8, 4), (256, 128, 64, 8, 4, True), (128, 256, 64, 8, 4, "ws"), (128, 256, 64, 8, 5, "ws"),
           (256, 128, 64, 8, 4, "ws"),
           (128, 128, 64, 8, 3, False, True), (128, 256, 64, 8, 3, False, True), (128, 256, 64, 8, 3, True, True),
           (128, 256, 64, 8, 4, True, True), (256, 128, 64, 8, 3, False, True), (256, 128, 64, 8, 4, True, True)]


def _options(cfg):
    """The launch options of a config (tma / warp_specialize / persistent only where it
    asks for them)."""
    bm, bn, bk, warps, stages = cfg[:5]
    opts = dict(BLOCK_M=bm, BLOCK_N=bn, BLOCK_K=bk, num_warps=warps, num_stages=stages)
    if len(cfg) > 5 and cfg[5] == "ws":
        opts["warp_specialize"] = True
    elif len(cfg) > 5:
        opts["tma"] = cfg[5]
    if len(cfg) > 6 and cfg[6]:
        opts["persistent"] = True
    return opts
CAP_S = 2.0
BUDGET_S = {4096: 4.0, 8192: 6.0}
TOLERANCE = 1e-2


class Inputs:
    """Random bf16 A, B and an output C per size, made once and shared."""

    def __init__(self, torch):
        self.torch, self.by_size, self.refs = torch, {}, {}

    def get(self, s):
        if s not in self.by_size:
            t = self.torch
            a = t.randn(s, s, device="cuda", dtype=t.bfloat16)
            b = t.randn(s, s, device="cuda", dtype=t.bfloat16)
            self.by_size[s] = (a, b, t.empty(s, s, device="cuda", dtype=t.bfloat16))
        return self.by_size[s]


def _launcher(kernel, tz, inputs, s, cfg):
    bm, bn = cfg[:2]
    a, b, c = inputs.get(s)
    grid = (tz.cdiv(s, bm), tz.cdiv(s, bn))
    opts = _options(cfg)
    return lambda: kernel[grid](a, b, c, s, s, s, **opts)


def _compiled_count(tz):
    return tz._terrazzo.gpu_cache_stats().get("compiled", 0)


def _size_result(s, ms, reps_info=None):
    r = {"median_ms": ms, "reps": 1}
    if reps_info:
        r.update(reps_info)
    r["tflops"] = common.tflops(2.0 * s ** 3, r["median_ms"])
    return r


def _run_config(ctx, tz, kernel, inputs, cfg, entry):
    torch = ctx.torch
    a, b, c = inputs.get(CHECK_SIZE)
    try:
        st = kernel.compile_for_gpu(a, b, c, CHECK_SIZE, CHECK_SIZE, CHECK_SIZE, **_options(cfg))
        entry["compile"] = {k: st.get(k) for k in ("arch", "registers", "spill_store_bytes",
                                                    "spill_load_bytes", "shared_bytes")}
    except Exception as e:
        entry["compile"] = {"error": common.describe(e)}

    launch = _launcher(kernel, tz, inputs, CHECK_SIZE, cfg)
    c.fill_(float("nan"))
    t0 = time.perf_counter()
    launch()
    torch.cuda.synchronize()
    entry["first_launch_s"] = time.perf_counter() - t0
    ref = a.float() @ b.float()
    err = common.rel_err(c, ref)
    entry["check"] = {"size": CHECK_SIZE, "rel_err": err, "tolerance": TOLERANCE}
    if not (err <= TOLERANCE) or not bool(c.isfinite().all()):
        entry["error"] = f"wrong result at {CHECK_SIZE}^3: ||C - ref|| / ||ref|| = {err:.3g} (NaN means unwritten)"
        return

    prev_size, prev_s = CHECK_SIZE, common.time_once_ms(launch) / 1e3
    for s in LADDER:
        predicted = prev_s * (s / prev_size) ** 3
        if predicted > CAP_S or ctx.box.left() < 2 * predicted + 1:
            why = "over the cap" if predicted > CAP_S else "more than the time box has left"
            for target in SIZES:
                if target >= s:
                    p = prev_s * (target / prev_size) ** 3
                    entry["sizes"][target] = {"skipped": f"predicted single call {p:.3g} s, {why} "
                                                         f"(cap {CAP_S} s)", "predicted_s": p}
            return
        launch = _launcher(kernel, tz, inputs, s, cfg)
        before = _compiled_count(tz)
        t = common.time_once_ms(launch) / 1e3
        if _compiled_count(tz) != before:  # that call compiled: time it again
            t = common.time_once_ms(launch) / 1e3
        prev_size, prev_s = s, t
        if s not in SIZES:
            continue
        print(f"      {s}^3: one call {t * 1e3:.1f} ms", flush=True)
        if t > CAP_S:
            entry["sizes"][s] = _size_result(s, t * 1e3, {"note": f"single call over the {CAP_S} s cap"})
            for target in SIZES:
                if target > s:
                    entry["sizes"][target] = {"skipped": f"{s}^3 took {t:.2f} s"}
            return
        timing = common.cuda_time(launch, reps=20, warmup=2, min_reps=1, first_ms=t * 1e3,
                                  budget_s=max(0.0, min(BUDGET_S[s], ctx.box.left() - 2)))
        r = _size_result(s, timing["median_ms"], timing)
        r["rel_err_vs_torch"] = common.rel_err(inputs.get(s)[2], inputs.refs[s])
        if not (r["rel_err_vs_torch"] <= TOLERANCE):
            r["error"] = f"result differs from torch.matmul: rel err {r['rel_err_vs_torch']:.3g}"
        entry["sizes"][s] = r


def run(ctx):
    torch = ctx.torch
    inputs = Inputs(torch)
    res = {"sizes": SIZES, "cap_s": CAP_S, "torch": {}, "configs": []}
    for s in SIZES:
        a, b, _ = inputs.get(s)
        out = torch.empty_like(a)
        t = common.cuda_time(lambda: torch.matmul(a, b, out=out), budget_s=2.0, reps=50)
        inputs.refs[s] = out
        res["torch"][s] = {**t, "tflops": common.tflops(2.0 * s ** 3, t["median_ms"])}

    try:
        import terrazzo as tz
        from tz_kernels import matmul
    except Exception as e:
        res["terrazzo_error"] = common.describe(e)
        return res
    # TZ_BENCH_MATMUL_LARGE=1: only the 128x256 and 256x128 tiles (those
    # with TMA and warp-specialised variants), for a short device call.
    large_only = os.environ.get("TZ_BENCH_MATMUL_LARGE") == "1"
    for cfg in CONFIGS:
        bm, bn, bk, warps, stages = cfg[:5]
        if large_only and bm * bn < 128 * 256:
            continue
        entry = {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": bk, "num_warps": warps, "num_stages": stages,
                 "tma": bool(cfg[5]) if len(cfg) > 5 else False,
                 "warp_specialize": len(cfg) > 5 and cfg[5] == "ws",
                 "persistent": bool(cfg[6]) if len(cfg) > 6 else False, "sizes": {}}
        res["configs"].append(entry)
        if ctx.box.left() < 5:
            entry["skipped"] = "time box spent"
            continue
        print(f"    matmul {_name(entry)}", flush=True)
        try:
            _run_config(ctx, tz, matmul, inputs, cfg, entry)
        except Exception as e:
            entry["error"] = common.describe(e)

    res["best"] = {}
    for s in SIZES:
        timed = [(c, c["sizes"][s]) for c in res["configs"]
                 if c["sizes"].get(s, {}).get("tflops") and not c["sizes"][s].get("error")]
        if timed:
            c, r = max(timed, key=lambda cr: cr[1]["tflops"])
            res["best"][s] = {"config": _name(c), "tflops": r["tflops"],
                              "ratio_vs_torch": common.ratio(r["tflops"], res["torch"][s]["tflops"])}
    return res


def _name(c):
    return (f"{c['BLOCK_M']}x{c['BLOCK_N']}x{c['BLOCK_K']} w{c['num_warps']} s{c.get('num_stages', 2)}" +
            (" ws" if c.get("warp_specialize") else " tma" if c.get("tma") else "") +
            (" persistent" if c.get("persistent") else ""))


def _by_size(table, s):
    # Sizes are int keys when measured and str keys once read back from JSON.
    return table.get(s, table.get(str(s)))


def markdown(res):
    lines = [f"terrazzo not run: {res['terrazzo_error']}", ""] if res.get("terrazzo_error") else []
    lines += [f"Correctness at {CHECK_SIZE}^3 (vs torch.matmul on fp32 copies, tolerance {TOLERANCE}) "
             "and the compiler's report for each config:", ""]
    rows = []
    for c in res["configs"]:
        comp = c.get("compile", {})
        chk = c.get("check", {})
        rows.append([_name(c), common.fmt(chk.get("rel_err"), 2), comp.get("registers", "-"),
                     comp.get("spill_store_bytes", "-"), comp.get("shared_bytes", "-"),
                     common.fmt(c.get("first_launch_s")), c.get("error") or c.get("skipped") or comp.get("error", "")])
    lines += common.table(["config (BMxBNxBK, warps)", "rel err", "registers", "spill bytes", "shared bytes",
                           "first launch s (compiles unless cached)", "note"], rows)
    for s in res["sizes"]:
        t = _by_size(res["torch"], s)
        lines += ["", f"**{s}^3** bf16 (fp32 accumulate):", ""]
        rows = []
        for c in res["configs"]:
            r = _by_size(c["sizes"], s) or {}
            rows.append([_name(c), common.fmt(r.get("median_ms")), common.fmt(r.get("tflops")),
                         common.fmt(common.ratio(r.get("tflops"), t["tflops"])), r.get("reps", "-"),
                         r.get("error") or r.get("skipped") or r.get("note") or c.get("error") or c.get("skipped", "")])
        rows.append(["torch.matmul", common.fmt(t["median_ms"]), common.fmt(t["tflops"]), "1", t["reps"], ""])
        lines += common.table(["version", "median ms", "TFLOP/s", "ours / torch", "reps", "note"], rows)
        b = _by_size(res.get("best", {}), s)
        lines += ["", f"Best ours: {b['config']}, {common.fmt(b['tflops'])} TFLOP/s, "
                      f"{common.fmt(b['ratio_vs_torch'])}x torch." if b else "No config of ours produced a number."]
    return lines


def summary(res):
    rows = []
    for s in res["sizes"]:
        b = _by_size(res.get("best", {}), s) or {}
        rows.append([f"matmul bf16 {s}^3, TFLOP/s" + (f" ({b['config']})" if b else ""), common.fmt(b.get("tflops")),
                     common.fmt(_by_size(res["torch"], s)["tflops"]), common.fmt(b.get("ratio_vs_torch")),
                     "torch.matmul"])
    return rows
