"""Vector add, fp32, n = 2^26: our kernel over a few (BLOCK, num_warps)
configs vs torch.add(x, y, out=out) (the kernel `x + y` runs, without the
allocation). Bytes: 3 * n * 4 (two reads, one write)."""

import common

N = 1 << 26
CONFIGS = [(1024, 4), (2048, 4), (4096, 4), (4096, 8)]


def _launcher(kernel, tz, x, y, out, block, warps):
    grid = (tz.cdiv(N, block),)
    return lambda: kernel[grid](x, y, out, N, BLOCK=block, num_warps=warps)


def run(ctx):
    torch = ctx.torch
    nbytes = 3 * N * 4
    x = torch.randn(N, device="cuda")
    y = torch.randn(N, device="cuda")
    out = torch.empty_like(x)
    ref = x + y
    res = {"n": N, "bytes": nbytes, "configs": []}

    t = common.cuda_time(lambda: torch.add(x, y, out=out), budget_s=2.0)
    res["torch"] = {**t, "gbps": common.gbps(nbytes, t["median_ms"])}
    res["torch"]["pct_copy"] = common.ratio(res["torch"]["gbps"], ctx.copy_gbps)

    try:
        import terrazzo as tz
        from tz_kernels import vector_add
    except Exception as e:
        res["terrazzo_error"] = common.describe(e)
        return res
    for block, warps in CONFIGS:
        entry = {"BLOCK": block, "num_warps": warps}
        res["configs"].append(entry)
        if ctx.box.left() < 3:
            entry["skipped"] = "time box spent"
            continue
        print(f"    vector_add BLOCK={block} num_warps={warps}", flush=True)
        try:
            launch = _launcher(vector_add, tz, x, y, out, block, warps)
            out.fill_(float("nan"))
            launch()
            torch.cuda.synchronize()
            if not torch.equal(out, ref):
                bad = int((out != ref).sum())
                entry["error"] = f"wrong result: {bad} of {N} elements differ from x + y"
                continue
            entry.update(common.cuda_time(launch, budget_s=min(2.0, ctx.box.left())))
            entry["gbps"] = common.gbps(nbytes, entry["median_ms"])
            entry["pct_copy"] = common.ratio(entry["gbps"], ctx.copy_gbps)
        except Exception as e:  # a compile or launch error: record it, try the next config
            entry["error"] = common.describe(e)

    timed = [c for c in res["configs"] if c.get("gbps")]
    if timed:
        best = max(timed, key=lambda c: c["gbps"])
        res["best"] = {"BLOCK": best["BLOCK"], "num_warps": best["num_warps"], "gbps": best["gbps"],
                       "pct_copy": best["pct_copy"],
                       "ratio_vs_torch": common.ratio(best["gbps"], res["torch"]["gbps"])}
    return res


def markdown(res):
    rows = []
    for c in res["configs"]:
        note = c.get("error") or c.get("skipped") or ""
        rows.append([f"terrazzo BLOCK={c['BLOCK']} num_warps={c['num_warps']}", common.fmt(c.get("median_ms")),
                     common.fmt(c.get("gbps"), 4), common.pct(c.get("pct_copy")),
                     common.fmt(common.ratio(c.get("gbps"), res["torch"]["gbps"])), note])
    t = res["torch"]
    rows.append(["torch.add", common.fmt(t["median_ms"]), common.fmt(t["gbps"], 4), common.pct(t["pct_copy"]),
                 "1", ""])
    lines = [f"n = 2^26 fp32, {res['bytes'] >> 20} MiB moved per call.", ""]
    lines += common.table(["version", "median ms", "GB/s", "% of copy", "ours / torch (throughput)", "note"], rows)
    b = res.get("best")
    if res.get("terrazzo_error"):
        lines += ["", f"terrazzo not run: {res['terrazzo_error']}"]
    lines += ["", f"**Best ours:** BLOCK={b['BLOCK']} num_warps={b['num_warps']}, {common.fmt(b['gbps'], 4)} GB/s, "
                  f"{common.pct(b['pct_copy'])} of copy, {common.fmt(b['ratio_vs_torch'])}x torch."
              if b else "**No config of ours produced a number.**"]
    return lines


def summary(res):
    b = res.get("best") or {}
    return [["vector add 2^26 fp32, GB/s", common.fmt(b.get("gbps"), 4), common.fmt(res["torch"]["gbps"], 4),
             common.fmt(b.get("ratio_vs_torch")), "torch.add"]]
