"""Fused row softmax, fp32, one program per row, BLOCK = next power of two
of n_cols: our kernel vs torch.softmax(x, dim=1). Bytes: 2 * rows * cols * 4
(read x once, write the result once). Each config is checked against torch
(allclose, rtol 1e-5) before it is timed; a wrong result is recorded, not
timed."""

import common

SHAPES = [(4096, 4096), (8192, 1024)]


def next_pow2(n):
    return 1 << (n - 1).bit_length()


def default_warps(block):
    return 4 if block < 2048 else 8 if block < 4096 else 16


def warp_candidates(block):
    w = default_warps(block)
    return [c for c in (w, w // 2, w * 2) if 1 <= c <= 32]


def run(ctx):
    torch = ctx.torch
    res = {"shapes": []}
    kernel = tz_error = None
    try:
        from tz_kernels import row_softmax as kernel
    except Exception as e:
        tz_error = common.describe(e)
    for rows, cols in SHAPES:
        nbytes = 2 * rows * cols * 4
        x = torch.randn(rows, cols, device="cuda")
        out = torch.empty_like(x)
        ref = torch.softmax(x, dim=1)
        ref64 = torch.softmax(x.double(), dim=1)
        shape = {"rows": rows, "cols": cols, "bytes": nbytes, "BLOCK": next_pow2(cols), "configs": []}
        res["shapes"].append(shape)
        t = common.cuda_time(lambda: torch.softmax(x, dim=1), budget_s=2.0)
        shape["torch"] = {**t, "gbps": common.gbps(nbytes, t["median_ms"]),
                          "rel_err_vs_fp64": common.rel_err(ref, ref64)}
        shape["torch"]["pct_copy"] = common.ratio(shape["torch"]["gbps"], ctx.copy_gbps)
        if kernel is None:
            shape["error"] = tz_error
            continue
        block = shape["BLOCK"]
        for warps in warp_candidates(block):
            entry = {"num_warps": warps}
            shape["configs"].append(entry)
            if ctx.box.left() < 3:
                entry["skipped"] = "time box spent"
                continue
            print(f"    softmax {rows}x{cols} BLOCK={block} num_warps={warps}", flush=True)
            try:
                def launch(w=warps):
                    kernel[(rows,)](out, x, x.stride(0), out.stride(0), cols, BLOCK=block, num_warps=w)
                out.fill_(float("nan"))
                launch()
                torch.cuda.synchronize()
                entry["rel_err_vs_fp64"] = common.rel_err(out, ref64)
                if not torch.allclose(out, ref, rtol=1e-5):
                    diff = (out - ref).abs()
                    entry["error"] = (f"wrong result: not allclose to torch.softmax (rtol 1e-5); "
                                      f"max abs diff {float(diff.nan_to_num(float('inf')).max()):.3g}, "
                                      f"{int(out.isnan().sum())} NaN")
                    continue
                entry.update(common.cuda_time(launch, budget_s=min(2.0, ctx.box.left())))
                entry["gbps"] = common.gbps(nbytes, entry["median_ms"])
                entry["pct_copy"] = common.ratio(entry["gbps"], ctx.copy_gbps)
            except Exception as e:
                entry["error"] = common.describe(e)
        timed = [c for c in shape["configs"] if c.get("gbps")]
        if timed:
            best = max(timed, key=lambda c: c["gbps"])
            shape["best"] = {"num_warps": best["num_warps"], "gbps": best["gbps"], "pct_copy": best["pct_copy"],
                             "ratio_vs_torch": common.ratio(best["gbps"], shape["torch"]["gbps"])}
    return res


def markdown(res):
    lines = []
    for s in res["shapes"]:
        t = s["torch"]
        lines += [f"**{s['rows']} x {s['cols']}** fp32, BLOCK={s['BLOCK']}, "
                  f"{s['bytes'] >> 20} MiB moved per call.", ""]
        rows = []
        for c in s["configs"]:
            note = c.get("error") or c.get("skipped") or ""
            rows.append([f"terrazzo num_warps={c['num_warps']}", common.fmt(c.get("median_ms")),
                         common.fmt(c.get("gbps"), 4), common.pct(c.get("pct_copy")),
                         common.fmt(common.ratio(c.get("gbps"), t["gbps"])),
                         common.fmt(c.get("rel_err_vs_fp64"), 2), note])
        rows.append(["torch.softmax", common.fmt(t["median_ms"]), common.fmt(t["gbps"], 4),
                     common.pct(t["pct_copy"]), "1", common.fmt(t["rel_err_vs_fp64"], 2), ""])
        lines += common.table(["version", "median ms", "GB/s", "% of copy", "ours / torch (throughput)",
                               "rel err vs fp64", "note"], rows)
        if s.get("error"):
            lines += ["", f"terrazzo not run: {s['error']}"]
        b = s.get("best")
        lines += ["", f"Best ours: num_warps={b['num_warps']}, {common.fmt(b['gbps'], 4)} GB/s, "
                      f"{common.pct(b['pct_copy'])} of copy, {common.fmt(b['ratio_vs_torch'])}x torch."
                  if b else "No config of ours produced a number.", ""]
    return lines


def summary(res):
    rows = []
    for s in res["shapes"]:
        b = s.get("best") or {}
        rows.append([f"softmax {s['rows']}x{s['cols']} fp32, GB/s", common.fmt(b.get("gbps"), 4),
                     common.fmt(s["torch"]["gbps"], 4), common.fmt(b.get("ratio_vs_torch")), "torch.softmax"])
    return rows
