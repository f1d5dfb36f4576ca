"""triton.testing's helpers that kernels' test and benchmark code calls."""

import statistics
import time


def _synchronize():
    try:
        import torch
        if torch.cuda.is_available():
            torch.cuda.synchronize()
    except ImportError:
        pass


def _gpu_timer():
    """CUDA-event timing when torch has a GPU, else None (wall clock)."""
    try:
        import torch
        if torch.cuda.is_available():
            return torch
    except ImportError:
        pass
    return None


def _summarize(times, quantiles, return_mode):
    if quantiles is not None:
        ordered = sorted(times)
        picks = [ordered[min(len(ordered) - 1, int(q * len(ordered)))] for q in quantiles]
        return picks[0] if len(picks) == 1 else picks
    if return_mode == "min":
        return min(times)
    if return_mode == "max":
        return max(times)
    if return_mode == "median":
        return statistics.median(times)
    if return_mode == "all":
        return times
    return statistics.fmean(times)


def do_bench(fn, warmup=25, rep=100, grad_to_none=None, quantiles=None, return_mode="mean"):
    """Runs fn for about `warmup` ms, then times it for about `rep` ms; returns
    milliseconds per call (mean, or the given quantiles). On a GPU each call is
    timed with CUDA events; otherwise with the wall clock."""
    if return_mode not in ("min", "max", "mean", "median", "all"):
        raise ValueError(f"return_mode must be min, max, mean, median or all, not {return_mode!r}")
    torch = _gpu_timer()
    fn()
    _synchronize()
    start = time.perf_counter()
    fn()
    _synchronize()
    estimate_ms = max((time.perf_counter() - start) * 1e3, 1e-3)
    n_warmup = max(1, int(warmup / estimate_ms))
    n_repeat = max(1, int(rep / estimate_ms))
    for _ in range(n_warmup):
        fn()
    times = []
    for _ in range(n_repeat):
        if grad_to_none is not None:
            for x in grad_to_none:
                x.grad = None
        if torch is not None:
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            fn()
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return _summarize(times, quantiles, return_mode)


def assert_close(x, y, atol=None, rtol=None, err_msg=""):
    """Asserts that x and y (arrays, tensors or numbers) are elementwise close."""
    import numpy as np

    def host(v):
        if hasattr(v, "detach"):
            v = v.detach().cpu()
            if str(v.dtype) == "torch.bfloat16":
                v = v.float()
            v = v.numpy()
        return np.asarray(v, dtype=np.float64)
    atol = 1e-2 if atol is None else atol
    rtol = 0.0 if rtol is None else rtol
    np.testing.assert_allclose(host(x), host(y), atol=atol, rtol=rtol, err_msg=err_msg)


class Benchmark:
    """One benchmark sweep of triton.testing.perf_report: `x_names` take each
    of `x_vals`, and for each value of `line_arg` in `line_vals` the function
    is called with those plus `args`."""

    def __init__(self, x_names, x_vals, line_arg, line_vals, line_names, plot_name, args, xlabel="", ylabel="",
                 x_log=False, y_log=False, styles=None):
        self.x_names, self.x_vals = list(x_names), list(x_vals)
        self.line_arg, self.line_vals, self.line_names = line_arg, list(line_vals), list(line_names)
        self.plot_name, self.args = plot_name, dict(args)
        self.xlabel, self.ylabel, self.x_log, self.y_log, self.styles = xlabel, ylabel, x_log, y_log, styles


class Mark:
    """What perf_report returns: `.run(print_data=True)` runs the sweeps and
    prints one table per benchmark (plots are not drawn)."""

    def __init__(self, fn, benchmarks):
        self.fn, self.benchmarks = fn, benchmarks

    def _rows(self, bench):
        rows = []
        for x in bench.x_vals:
            xs = list(x) if isinstance(x, (list, tuple)) else [x] * len(bench.x_names)
            values = []
            for line in bench.line_vals:
                result = self.fn(**dict(zip(bench.x_names, xs)), **{bench.line_arg: line}, **bench.args)
                values.append(result[0] if isinstance(result, (list, tuple)) else result)
            rows.append(xs + values)
        return rows

    def run(self, show_plots=False, print_data=False, save_path="", return_df=False, **kwargs):
        benchmarks = self.benchmarks if isinstance(self.benchmarks, (list, tuple)) else [self.benchmarks]
        tables = []
        for bench in benchmarks:
            header = bench.x_names + bench.line_names
            rows = self._rows(bench)
            tables.append((header, rows))
            if print_data:
                print(bench.plot_name + ":")
                print("  ".join(f"{h:>14}" for h in header))
                for row in rows:
                    print("  ".join(f"{v:>14.6g}" if isinstance(v, float) else f"{v!s:>14}" for v in row))
        if return_df:
            return tables if len(tables) > 1 else tables[0]
        return None


def perf_report(benchmarks):
    """Marks a function for benchmarking (Triton's decorator): see Mark.run."""
    return lambda fn: Mark(fn, benchmarks)
