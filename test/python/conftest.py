"""Shared helpers for the terrazzo Python tests.

Run with the extension built, e.g.::

    PYTHONPATH=build/python python3 -m pytest test/python -q

Helpers are plain functions (``from conftest import poisoned, ...``) so that
kernels and checks stay readable; ``rng`` is a fixture seeded from the test's
node id, so every test draws fresh but reproducible inputs.
"""

import inspect
import os
import sys
import zlib

import numpy as np
import pytest

import terrazzo as tz

try:  # bfloat16 numpy dtype
    import ml_dtypes

    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - ml_dtypes is a test dependency
    ml_dtypes = None
    BF16 = None

# Unit roundoff of each float type: the largest relative error of one
# correctly rounded operation.
UNIT_ROUNDOFF = {
    np.dtype(np.float64): 2.0**-53,
    np.dtype(np.float32): 2.0**-24,
    np.dtype(np.float16): 2.0**-11,
}
if BF16 is not None:
    UNIT_ROUNDOFF[BF16] = 2.0**-8

# Relative-error bound for one rounding step in each dtype: a few units of
# roundoff for f16/bf16, and a looser 1e-5 for f32 (whose math functions need
# not be correctly rounded).
_RTOL = {
    np.dtype(np.float64): 1e-12,
    np.dtype(np.float32): 1e-5,
    np.dtype(np.float16): 1e-3,
}
if BF16 is not None:
    _RTOL[BF16] = 1e-2

FLOAT_DTYPES = [np.float32, np.float16] + ([BF16] if BF16 is not None else [])
FLOAT_IDS = ["f32", "f16"] + (["bf16"] if BF16 is not None else [])


def rtol(dtype, roundings=1):
    """Relative-error bound for a result that went through `roundings`
    successive roundings in `dtype`."""
    return _RTOL[np.dtype(dtype)] * roundings


def tz_dtype(dtype):
    """The terrazzo dtype matching a numpy dtype."""
    d = np.dtype(dtype)
    if BF16 is not None and d == BF16:
        return tz.bfloat16
    return {
        np.dtype(np.float16): tz.float16,
        np.dtype(np.float32): tz.float32,
        np.dtype(np.float64): tz.float64,
        np.dtype(np.int8): tz.int8,
        np.dtype(np.int16): tz.int16,
        np.dtype(np.int32): tz.int32,
        np.dtype(np.int64): tz.int64,
        np.dtype(np.bool_): tz.int1,
    }[d]


def is_float(dtype):
    d = np.dtype(dtype)
    return d.kind == "f" or (BF16 is not None and d == BF16)


INT_SENTINEL = -123456789


def sentinel(dtype):
    """The poison value `poisoned` fills a buffer of `dtype` with."""
    d = np.dtype(dtype)
    if is_float(d):
        return np.nan
    if d == np.bool_:
        return True
    info = np.iinfo(d)
    return max(info.min + 3, INT_SENTINEL) if info.min < 0 else info.max - 3


def poisoned(shape, dtype=np.float32):
    """An output buffer filled with NaN (floats) or a sentinel (integers), so
    that an element the kernel forgot to write fails the comparison."""
    return np.full(shape, sentinel(dtype), dtype=np.dtype(dtype))


def is_poison(a):
    """Elementwise: does `a` still hold the value `poisoned` filled it with?"""
    a = np.asarray(a)
    if is_float(a.dtype):
        return np.isnan(a.astype(np.float64))
    return a == sentinel(a.dtype)


def assert_untouched(a, what="buffer"):
    """Every element of `a` (a view into a poisoned buffer) is still poison."""
    bad = ~is_poison(a)
    assert not bad.any(), f"{what}: {int(bad.sum())} element(s) written that must stay untouched, " \
                          f"first at {tuple(int(i) for i in np.argwhere(bad)[0])}"


def random_nonzero(rng, shape, dtype=np.float32, low=0.5, high=2.0, signed=True):
    """Random values with magnitude in [low, high) and, when `signed`, a random
    sign; never zero. Rounded to `dtype` (the kernel sees exactly these)."""
    mag = rng.uniform(low, high, size=shape)
    if signed:
        mag = mag * rng.choice([-1.0, 1.0], size=shape)
    return mag.astype(np.dtype(dtype))


def random_ints(rng, shape, low, high, dtype=np.int32, nonzero=True):
    """Random integers in [low, high); zeros replaced when `nonzero`."""
    v = rng.integers(low, high, size=shape, dtype=np.int64)
    if nonzero:
        v[v == 0] = high - 1 if high - 1 != 0 else low
    return v.astype(np.dtype(dtype))


def as_f64(a):
    return np.asarray(a).astype(np.float64)


def assert_close(actual, expected, rtol, scale=None, what="result"):
    """|actual - expected| <= rtol * scale elementwise (scale defaults to
    |expected|; pass e.g. |A| @ |B| for a matrix product, whose error bound is
    relative to the sum of magnitudes). NaN anywhere in `actual` (an unwritten
    poisoned element) fails, unless `expected` is NaN at the same place."""
    a = as_f64(actual)
    e = as_f64(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    assert np.array_equal(nan_a, nan_e), (
        f"{what}: NaN mismatch (unwritten or wrong element) at "
        f"{tuple(int(i) for i in np.argwhere(nan_a != nan_e)[0])}")
    inf = np.isinf(e)
    assert np.array_equal(a[inf], e[inf]), f"{what}: infinities differ"
    ok = ~(nan_e | inf)
    s = np.abs(e) if scale is None else np.broadcast_to(as_f64(scale), e.shape)
    err = np.abs(a - e)
    bound = rtol * s
    bad = ok & (err > bound)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        rel = np.max(np.where(ok, err / np.where(s > 0, s, 1), 0))
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {a.size} elements exceed rtol {rtol:g}; "
            f"first at {idx}: got {a[idx]!r}, expected {e[idx]!r}; max relative error {rel:.3g}")


def assert_equal(actual, expected, what="result"):
    """Exact elementwise equality (NaN equal to NaN), with a readable failure."""
    a, e = np.asarray(actual), np.asarray(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    if is_float(a.dtype) or is_float(e.dtype):
        eq = (as_f64(a) == as_f64(e)) | (np.isnan(as_f64(a)) & np.isnan(as_f64(e)))
    else:
        eq = a == e
    if not eq.all():
        idx = tuple(int(i) for i in np.argwhere(~eq)[0])
        raise AssertionError(f"{what}: {int((~eq).sum())} of {a.size} elements differ; "
                             f"first at {idx}: got {a[idx]!r}, expected {e[idx]!r}")


# --- source locations ------------------------------------------------------

def source_of(fn):
    """(lines, first_line, filename) of a kernel (a JITFunction or a plain
    function), as Python's inspect sees them."""
    f = getattr(fn, "fn", fn)
    lines, first = inspect.getsourcelines(f)
    return lines, first, inspect.getsourcefile(f)


def locate(fn, needle, occurrence=0):
    """(filename, line, col, line_text) of the `occurrence`-th line of the
    kernel source containing `needle`; col (1-based) is where `needle` starts.
    Expected diagnostic positions are computed from the source itself so the
    tests survive edits of this file."""
    lines, first, filename = source_of(fn)
    seen = 0
    for i, text in enumerate(lines):
        col = text.find(needle)
        if col >= 0:
            if seen == occurrence:
                return filename, first + i, col + 1, text.rstrip("\n")
            seen += 1
    raise LookupError(f"{needle!r} not found in the source of {fn!r}")


def assert_diagnostic(message, filename, line, col, line_text, contains=()):
    """A terrazzo diagnostic: 'file:line:col: error: msg', then the source
    line, then a caret under column `col`."""
    message = str(message)
    head = f"{filename}:{line}:{col}: error: "
    assert message.startswith(head), f"expected a diagnostic starting with {head!r}, got:\n{message}"
    rendered = message.split("\n")
    assert len(rendered) >= 3, f"diagnostic lacks the source line and caret:\n{message}"
    assert rendered[1] == line_text, f"source line {rendered[1]!r} != {line_text!r}\n{message}"
    caret = rendered[2]
    assert caret.strip() == "^", f"no caret line:\n{message}"
    assert caret == " " * (col - 1) + "^", f"caret at column {len(caret)} instead of {col}:\n{message}"
    for piece in ([contains] if isinstance(contains, str) else contains):
        assert piece in rendered[0], f"{piece!r} not in the message {rendered[0]!r}"


@pytest.fixture
def rng(request):
    """A numpy Generator seeded from the test's id: fresh inputs per test,
    reproducible across runs (TZ_TEST_SEED shifts every seed)."""
    seed = zlib.crc32(request.node.nodeid.encode()) ^ int(os.environ.get("TZ_TEST_SEED", "0"))
    return np.random.default_rng(seed)


def pytest_report_header(config):
    return f"terrazzo {tz.__version__} from {os.path.dirname(tz.__file__)}; python {sys.version.split()[0]}"


# ---------------------------------------------------------------------------
# GPU mode: TZ_TEST_DEVICE=cuda runs the numerics suites on the GPU.
# ---------------------------------------------------------------------------
#
# The tests launch kernels on numpy arrays. In GPU mode every launch copies
# the memory behind each array argument (its whole base buffer, so views,
# strides and the poisoned margins around them survive) to the GPU, launches
# there with pointers into those copies, and copies every buffer back. The
# same kernels and the same float64 checks then hold for the GPU backend.

TEST_DEVICE = os.environ.get("TZ_TEST_DEVICE", "cpu")

# Suites whose launches are routed to the GPU in GPU mode. Other suites test
# the interpreter itself (its bounds checks, device_print) and stay there.
GPU_SUITES = ("test_interpreter_numerics", "test_triton_ported")


def _base_buffer(a):
    """The array owning a's memory, and a's byte offset inside it."""
    base = a
    while isinstance(base.base, np.ndarray):
        base = base.base
    offset = a.__array_interface__["data"][0] - base.__array_interface__["data"][0]
    return base, offset


def _gpu_launch(kernel_run):
    import torch

    torch_dtypes = {np.dtype(np.float32): torch.float32, np.dtype(np.float16): torch.float16,
                    np.dtype(np.float64): torch.float64, np.dtype(np.int32): torch.int32,
                    np.dtype(np.int64): torch.int64, np.dtype(np.int8): torch.int8,
                    np.dtype(np.int16): torch.int16, np.dtype(np.bool_): torch.bool,
                    np.dtype(np.uint8): torch.uint8}
    if BF16 is not None:
        torch_dtypes[BF16] = torch.bfloat16

    def run(grid, args, kwargs):
        copies = {}  # id(base) -> (base, device bytes)

        def to_device(a):
            if not isinstance(a, np.ndarray):
                return a
            base, offset = _base_buffer(a)
            if id(base) not in copies:
                host = np.ascontiguousarray(base).view(np.uint8).reshape(-1)
                copies[id(base)] = (base, torch.from_numpy(host.copy()).cuda())
            dev = copies[id(base)][1]
            size = a.dtype.itemsize
            usable = (dev.numel() - offset) // size * size
            return dev[offset:offset + usable].view(torch_dtypes[a.dtype])

        dargs = tuple(to_device(a) for a in args)
        dkwargs = {k: to_device(v) for k, v in kwargs.items()}
        kernel_run(grid, dargs, dkwargs)
        torch.cuda.synchronize()
        for base, dev in copies.values():
            if base.flags.writeable and base.flags.c_contiguous:
                base.view(np.uint8).reshape(-1)[:] = dev.cpu().numpy()

    return run


def pytest_configure(config):
    config.addinivalue_line("markers", "interpreter_only(reason): a test of the interpreter itself; "
                                       "skipped when the suite runs on the GPU")


def pytest_terminal_summary(terminalreporter):
    if COMPILED:
        kernels = {k for k, *_ in COMPILED}
        spills = sum(1 for *_, s in COMPILED if s)
        terminalreporter.write_line(f"compiled {len(COMPILED)} cubins ({len(kernels)} kernels x {COMPILE_ARCHS}); "
                                    f"{spills} with spills")


def pytest_collection_modifyitems(config, items):
    if TEST_DEVICE != "cuda":
        return
    for item in items:
        mark = item.get_closest_marker("interpreter_only")
        if mark:
            item.add_marker(pytest.mark.skip(reason="interpreter only: " + (mark.args[0] if mark.args else "")))


# TZ_TEST_DEVICE=compile (CI, no GPU): every launch of the suites is also
# compiled to a cubin for each of these targets (PTX, then nvJitLink) before
# it runs on the interpreter.
COMPILE_ARCHS = ("sm_80", "sm_90a")
COMPILED = []  # (kernel, arch, registers, spill bytes) of every compilation


def _compile_then_run(kernel_run, kernel, args, kwargs):
    def run(grid, a, kw):
        for arch in COMPILE_ARCHS:
            info = kernel.compile_for_gpu(a, dict(kw, arch=arch))
            assert info["cubin_bytes"] > 0, f"{info['kernel_name']}: no cubin for {arch}"
            assert ".entry" in info["ptx"]
            COMPILED.append((info["kernel_name"], arch, info["registers"],
                             info["spill_store_bytes"] + info["spill_load_bytes"]))
        kernel_run(grid, a, kw)
    return run


@pytest.fixture(autouse=True)
def _route_launches_to_gpu(request, monkeypatch):
    if (TEST_DEVICE not in ("cuda", "compile") or request.module.__name__ not in GPU_SUITES
            or request.node.get_closest_marker("interpreter_only")):
        yield
        return
    tzjit = sys.modules["terrazzo.jit"]  # the package's `jit` name is the decorator

    def launch_with(self, grid, args, kwargs):
        g = tzjit.resolve_grid(grid, self.param_names, args, kwargs)
        args = tuple(args)
        if TEST_DEVICE == "cuda":
            _gpu_launch(self._kernel.run)(g, args, kwargs)
        else:
            _compile_then_run(self._kernel.run, self._kernel, args, kwargs)(g, args, kwargs)

    def getitem(self, grid):
        return lambda *args, **kwargs: launch_with(self, grid, args, kwargs)

    # Launches through kernel[grid](...) and through kernel.launch_with(...),
    # which kernel.run, the autotuner and triton_compat.heuristics use.
    monkeypatch.setattr(tzjit.JITFunction, "__getitem__", getitem)
    monkeypatch.setattr(tzjit.JITFunction, "launch_with", launch_with)
    yield
