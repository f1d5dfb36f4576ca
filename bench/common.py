"""Helpers shared by the benchmarks: CUDA-event timing, time boxes, error
text and small formatting helpers.

torch is imported inside the functions (run_all.py imports it first and
stops cleanly when it is missing), so this module imports anywhere.
"""

import math
import statistics
import time
import traceback

# L2 flush: zero a buffer larger than any Hopper L2 (50-60 MB) before each
# timed call, outside the events, so every call starts with a cold L2.
FLUSH_BYTES = 256 << 20
_flush_buffer = None


def torch():
    import torch as t
    return t


def flush_l2():
    global _flush_buffer
    t = torch()
    if _flush_buffer is None:
        _flush_buffer = t.empty(FLUSH_BYTES, dtype=t.uint8, device="cuda")
    _flush_buffer.zero_()


class TimeBox:
    """A deadline for one benchmark: steps ask left() before they start."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()

    def expired(self):
        return self.left() <= 0


def time_once_ms(fn, flush=True):
    """One call of fn between two CUDA events (after an optional L2 flush)."""
    t = torch()
    if flush:
        flush_l2()
    start, end = t.cuda.Event(enable_timing=True), t.cuda.Event(enable_timing=True)
    start.record()
    fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end)


def cuda_time(fn, reps=100, warmup=10, budget_s=3.0, flush=True, min_reps=3, first_ms=None):
    """Times fn(), which enqueues GPU work on torch's current stream.

    Unless first_ms (a single-call time already measured after warm-up) is
    given, calls fn once untimed (compilation, module load), then once timed
    to estimate its length. Then warm-up calls, and up to `reps` calls each
    between its own pair of CUDA events, as many as fit in budget_s (at least
    min_reps). With flush, the L2 is flushed before each timed call, outside
    its events. Returns milliseconds: median, min, max, and the count."""
    t = torch()
    if first_ms is None:
        fn()
        t.cuda.synchronize()
        first_ms = time_once_ms(fn, flush)
    est = max(first_ms, 1e-3)
    budget_ms = max(budget_s, 0.0) * 1e3
    for _ in range(max(0, min(warmup, int(0.2 * budget_ms / est)))):
        fn()
    n = max(min_reps, min(reps, int(budget_ms / est)))
    starts = [t.cuda.Event(enable_timing=True) for _ in range(n)]
    ends = [t.cuda.Event(enable_timing=True) for _ in range(n)]
    for i in range(n):
        if flush:
            flush_l2()
        starts[i].record()
        fn()
        ends[i].record()
    t.cuda.synchronize()
    times = [s.elapsed_time(e) for s, e in zip(starts, ends)]
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "reps": n}


def gbps(nbytes, ms):
    return nbytes / (ms * 1e-3) / 1e9 if ms and ms > 0 else None


def tflops(flops, ms):
    return flops / (ms * 1e-3) / 1e12 if ms and ms > 0 else None


def ratio(a, b):
    return a / b if a is not None and b else None


def describe(exc, limit=1500):
    """An exception as text for the results: type, message, and the last
    frame when the message alone says little."""
    text = f"{type(exc).__name__}: {exc}".strip()
    if len(str(exc)) < 20:
        tb = traceback.extract_tb(exc.__traceback__)
        if tb:
            f = tb[-1]
            text += f" (at {f.filename.rsplit('/', 1)[-1]}:{f.lineno})"
    return text if len(text) <= limit else text[:limit] + " ..."


def rel_err(got, ref):
    """||got - ref|| / ||ref|| in float64."""
    g, r = got.double(), ref.double()
    return float((g - r).norm() / r.norm().clamp_min(1e-300))


def fmt(x, digits=3):
    """A number for a table: None as '-', otherwise `digits` significant."""
    if x is None:
        return "-"
    if isinstance(x, float):
        if not math.isfinite(x):
            return str(x)
        if x == 0:
            return "0"
        return f"{x:.{digits}g}" if abs(x) < 10 ** digits else f"{x:.0f}"
    return str(x)


def pct(x):
    return "-" if x is None else f"{100 * x:.0f}%"


def cell(value, limit=300):
    """A table cell: one line, no bare '|', at most `limit` characters (the
    full text of an error stays in bench.json)."""
    text = " ".join(line.strip() for line in str(value).splitlines() if line.strip())
    if len(text) > limit:
        text = text[:limit] + " ..."
    return text.replace("|", "\\|")


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for r in rows:
        lines.append("| " + " | ".join(cell(c) for c in r) + " |")
    return lines


def json_safe(obj):
    """Non-finite floats become None so that bench.json is strict JSON."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj
