"""Copy bandwidth: torch y.copy_(x) on a 2^28-byte fp32 buffer, the ceiling
the memory-bound benchmarks are compared with (bytes read + bytes written)."""

import common

NBYTES = 1 << 28


def run(ctx):
    torch = ctx.torch
    n = NBYTES // 4
    x = torch.rand(n, device="cuda")
    y = torch.empty_like(x)
    t = common.cuda_time(lambda: y.copy_(x), reps=100, budget_s=min(3.0, ctx.box.left()))
    if not torch.equal(x, y):
        raise RuntimeError("y.copy_(x) did not copy")
    moved = 2 * NBYTES
    res = {"buffer_bytes": NBYTES, "bytes_moved": moved, **t, "gbps": common.gbps(moved, t["median_ms"])}
    ctx.copy_gbps = res["gbps"]
    return res


def markdown(res):
    return common.table(
        ["buffer", "bytes moved (read+write)", "median ms", "GB/s", "reps"],
        [[f"{res['buffer_bytes'] >> 20} MiB fp32", f"{res['bytes_moved'] >> 20} MiB",
          common.fmt(res["median_ms"]), common.fmt(res["gbps"], 4), res["reps"]]])


def summary(res):
    return [["copy bandwidth (read+write), GB/s", "-", common.fmt(res["gbps"], 4), "-", "torch copy_"]]
