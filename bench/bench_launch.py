"""Launch overhead from Python: the same near-empty kernel (one pointer and
an int; a 32-wide store under a mask that is false) in Terrazzo and in
Triton, launched back to back on grid (1,), and torch.add(x, x, out=y) on
the same 32 elements (torch's own launch cost). Per launch: the wall time of a
loop of `count` launches (time.perf_counter around the loop, then
torch.cuda.synchronize), divided by count. Also the loop alone (host-side
cost, before the drain). Trials alternate between the three; the median of
the trials is reported."""

import statistics
import time

import common

COUNT = 10_000
TRIALS = 3


def _measure(launch, torch, count):
    t0 = time.perf_counter()
    for _ in range(count):
        launch()
    t1 = time.perf_counter()
    torch.cuda.synchronize()
    t2 = time.perf_counter()
    return {"us_per_launch": (t2 - t0) / count * 1e6, "loop_only_us_per_launch": (t1 - t0) / count * 1e6}


def _prepare(name, make_launch, torch, box):
    """Warm up (compile) one launcher and pick a count that fits the box."""
    launch = make_launch()
    launch()
    torch.cuda.synchronize()
    warm = _measure(launch, torch, 200)
    per = warm["us_per_launch"] * 1e-6
    count = int(max(100, min(COUNT, box.left() / 4 / TRIALS / max(per, 1e-7))))
    print(f"    {name}: ~{warm['us_per_launch']:.1f} us/launch in warm-up, {count} launches per trial", flush=True)
    return launch, count


def run(ctx):
    torch = ctx.torch
    buf = torch.full((32,), 7.0, device="cuda")
    res = {"count": COUNT, "trials": TRIALS, "grid": [1], "num_warps": 4}
    launchers = {}

    def tz_launch():
        from tz_kernels import nop
        return lambda: nop[(1,)](buf, 0, num_warps=4)

    def triton_launch():
        from triton_kernels import nop
        return lambda: nop[(1,)](buf, 0, num_warps=4)

    def torch_launch():
        # A torch elementwise op writing into an existing buffer: torch's own
        # launch cost, the bar issue 17 sets.
        other = torch.empty_like(buf)
        return lambda: torch.add(buf, buf, out=other)

    for name, make in (("terrazzo", tz_launch), ("triton", triton_launch), ("torch_add", torch_launch)):
        try:
            launchers[name] = _prepare(name, make, torch, ctx.box)
            res[name] = {"trials": []}
        except Exception as e:
            res[name] = {"error": common.describe(e)}
    if "terrazzo" in launchers:
        import terrazzo as tz
        stats0 = tz._terrazzo.gpu_cache_stats()

    for _ in range(TRIALS):
        for name, (launch, count) in launchers.items():
            if ctx.box.left() < 1:
                break
            res[name]["trials"].append(_measure(launch, torch, count))
            res[name]["count"] = count

    for name in launchers:
        trials = res[name]["trials"]
        if trials:
            for key in ("us_per_launch", "loop_only_us_per_launch"):
                res[name][key] = statistics.median(t[key] for t in trials)
    if "terrazzo" in launchers:
        stats1 = tz._terrazzo.gpu_cache_stats()
        res["terrazzo"]["cache_stats_delta"] = {k: stats1[k] - stats0.get(k, 0) for k in stats1}
    if not bool((buf == 7.0).all()):
        res["warning"] = "the nop kernels wrote to the buffer (the false mask did not hold)"
    res["ratio_terrazzo_over_triton"] = common.ratio(res.get("terrazzo", {}).get("us_per_launch"),
                                                     res.get("triton", {}).get("us_per_launch"))
    res["ratio_terrazzo_over_torch_add"] = common.ratio(res.get("terrazzo", {}).get("us_per_launch"),
                                                        res.get("torch_add", {}).get("us_per_launch"))
    if "terrazzo" in launchers:
        from tz_kernels import nop
        res["terrazzo"]["cached_launch_path"] = nop._fast_stats()
    return res


def markdown(res):
    rows = []
    for name in ("terrazzo", "triton", "torch_add"):
        r = res.get(name, {})
        note = r.get("error", "")
        if name == "terrazzo" and r.get("cache_stats_delta"):
            note = note or "cache during the trials: " + ", ".join(f"{k} +{v}" for k, v in
                                                                    r["cache_stats_delta"].items())
        rows.append([name, common.fmt(r.get("us_per_launch")), common.fmt(r.get("loop_only_us_per_launch")),
                     r.get("count", "-"), len(r.get("trials", [])), note])
    lines = common.table(["kernel", "us per launch (loop + sync)", "us per launch (loop only)", "launches per trial",
                          "trials", "note"], rows)
    lines += ["", f"Terrazzo / Triton (time, lower is better): {common.fmt(res.get('ratio_terrazzo_over_triton'))}",
              f"Terrazzo / torch.add (time, lower is better): {common.fmt(res.get('ratio_terrazzo_over_torch_add'))}"]
    if res.get("warning"):
        lines += ["", f"**Warning:** {res['warning']}"]
    return lines


def summary(res):
    return [["launch overhead, us per launch (lower is better)",
             common.fmt(res.get("terrazzo", {}).get("us_per_launch")),
             common.fmt(res.get("triton", {}).get("us_per_launch")),
             common.fmt(res.get("ratio_terrazzo_over_triton")), "triton"]]
