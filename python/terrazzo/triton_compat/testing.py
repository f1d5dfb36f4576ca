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
