"""Inputs that used to reach the MLIR verifier, LLVM or pybind11 and leak an
internal error now stop with a diagnostic at the kernel line
(tz.CompilationError, 'file:line:col: error:' plus the source line) or, for
launch options, a plain exception naming the option. Nothing here needs a
GPU: compile_for_gpu builds PTX on the CPU."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import assert_diagnostic, locate, poisoned


def expect_diagnostic(kernel, needle, contains, *args, gpu=False, **kwargs):
    with pytest.raises(tz.CompilationError) as info:
        if gpu:
            kernel.compile_for_gpu(*args, **kwargs)
        else:
            kernel.ir(*args, **kwargs)
    filename, line, col, text = locate(kernel, needle)
    assert_diagnostic(info.value, filename, line, col, text, contains)
    msg = str(info.value)
    for leak in ("op operand #", "failed to legalize", "'math.", "'llvm.", "LLVM ERROR"):
        assert leak not in msg, msg
    return msg


@tz.jit
def abs_of_pointer(x_ptr, out_ptr):
    tz.store(out_ptr, tz.load(tz.abs(x_ptr)))


def test_abs_of_a_pointer():
    expect_diagnostic(abs_of_pointer, "tz.abs(", "tz.abs needs a number", np.ones(4, np.float32),
                      poisoned(1))


@tz.jit
def fma_of_ints(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    tz.store(out_ptr + offs, tz.fma(x, x, x))


def test_fma_of_integers():
    expect_diagnostic(fma_of_ints, "tz.fma(", "tz.fma needs floating-point operands", np.ones(8, np.int32),
                      np.zeros(8, np.int32), BLOCK=8)


@tz.jit
def cas_on(p_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(p_ptr + offs)
    tz.atomic_cas(p_ptr + offs, v, v)


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.int16, np.bool_])
def test_atomic_cas_needs_32_or_64_bit_integers(dtype):
    expect_diagnostic(cas_on, "tz.atomic_cas(", "tz.atomic_cas works on int32 and int64 memory",
                      np.zeros(8, dtype), BLOCK=8)


@pytest.mark.parametrize("dtype", [np.int32, np.int64])
def test_atomic_cas_on_integers_still_compiles_for_the_gpu(dtype):
    info = cas_on.compile_for_gpu(np.zeros(8, dtype), BLOCK=8, arch="sm_90a")
    assert "atom" in info["ptx"]


@tz.jit
def atomic_add_bool(p_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.atomic_or(p_ptr + offs, tz.load(p_ptr + offs))


def test_atomics_refuse_bool_memory():
    expect_diagnostic(atomic_add_bool, "tz.atomic_or(", "does not work on bool (int1) memory",
                      np.zeros(8, np.bool_), BLOCK=8)


@tz.jit
def dot_into(a_ptr, acc_ptr, out_ptr, N: tz.constexpr):
    r = tz.arange(0, N)
    idx = r[:, None] * N + r[None, :]
    a = tz.load(a_ptr + idx)
    acc = tz.load(acc_ptr + idx)
    tz.store(out_ptr + idx, tz.dot(a, a, acc=acc))


@pytest.mark.parametrize("inputs,acc", [("float16", "bfloat16"), ("bfloat16", "float16")])
def test_dot_accumulator_of_another_16_bit_type(inputs, acc):
    from conftest import BF16
    if BF16 is None:
        pytest.skip("ml_dtypes is needed for bfloat16 arrays")
    dt = {"float16": np.dtype(np.float16), "bfloat16": BF16}
    msg = expect_diagnostic(dot_into, "tz.dot(", "cannot accumulate into", np.ones((16, 16), dt[inputs]),
                            np.zeros((16, 16), dt[acc]), np.zeros((16, 16), dt[acc]), N=16)
    assert "float32 accumulator" in msg


@tz.jit
def big_tile(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(out_ptr + offs, tz.load(x_ptr + offs) * 2.0)


def test_gpu_tile_size_limit_is_a_diagnostic():
    n = 1 << 16
    x, out = np.ones(n, np.float32), np.zeros(n, np.float32)
    msg = expect_diagnostic(big_tile, "tz.arange(", "per thread with num_warps=4", x, out, BLOCK=n, gpu=True,
                            num_warps=4)
    assert "65536 elements" in msg and "more warps" in msg


def test_tile_at_the_limit_compiles():
    n = 1 << 13  # 64 elements per thread on 4 warps: well inside the limit
    info = big_tile.compile_for_gpu(np.ones(n, np.float32), np.zeros(n, np.float32), BLOCK=n, num_warps=4)
    assert info["ptx"]


def test_big_tiles_still_run_on_the_interpreter(rng):
    # The limit is the GPU compiler's: the interpreter runs the same tile.
    n = 1 << 16
    x = rng.standard_normal(n).astype(np.float32)
    out = poisoned(n)
    big_tile[(1,)](x, out, BLOCK=n)
    np.testing.assert_array_equal(out.astype(np.float64), x.astype(np.float64) * 2.0)


# ---------------------------------------------------------------------------
# launch options
# ---------------------------------------------------------------------------

@tz.jit
def copy(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(out_ptr + offs, tz.load(x_ptr + offs))


def copy_args():
    return np.ones(64, np.float32), np.zeros(64, np.float32)


@pytest.mark.parametrize("warps", [0, 3, 6, 64, -4])
def test_num_warps_must_be_a_power_of_two_up_to_32(warps):
    with pytest.raises(ValueError, match=r"num_warps must be a power of two from 1 to 32, got " + str(warps)):
        copy.compile_for_gpu(*copy_args(), BLOCK=64, num_warps=warps)


def test_num_warps_is_not_truncated():
    with pytest.raises(ValueError, match="num_warps is out of range: 4294967300"):
        copy.compile_for_gpu(*copy_args(), BLOCK=64, num_warps=2**32 + 4)


@pytest.mark.parametrize("name,value,message", [
    ("num_stages", 0, "num_stages must be from 1 to 8"),
    ("num_stages", 2**31, "num_stages is out of range"),
    ("min_blocks_per_sm", -1, "min_blocks_per_sm must be from 0 to 32"),
])
def test_other_options_are_range_checked(name, value, message):
    with pytest.raises(ValueError, match=message):
        copy.compile_for_gpu(*copy_args(), BLOCK=64, **{name: value})


def test_unknown_arch_is_named():
    with pytest.raises(ValueError, match=r"arch 'bogus' is not a GPU architecture terrazzo compiles for \(sm_80"):
        copy.compile_for_gpu(*copy_args(), BLOCK=64, arch="bogus")


@pytest.mark.parametrize("arch", [None, 90, b"sm_90a"])
def test_arch_must_be_a_string(arch):
    with pytest.raises(TypeError, match="arch must be a string such as 'sm_90a'"):
        copy.compile_for_gpu(*copy_args(), BLOCK=64, arch=arch)


@pytest.mark.parametrize("grid", [(2**63,), (1, -2**70), (2**64, 1, 1)])
def test_grid_beyond_64_bits_is_a_value_error(grid):
    with pytest.raises(ValueError, match="does not fit in 64 bits"):
        copy[grid](*copy_args(), BLOCK=64)


def test_grid_of_bools_is_refused():
    with pytest.raises(TypeError, match="grid dimensions must be integers"):
        copy[(True,)](*copy_args(), BLOCK=64)


# ---------------------------------------------------------------------------
# long interpreter runs can be interrupted (Ctrl-C is a signal like this one)
# ---------------------------------------------------------------------------

@tz.jit
def spin(out_ptr, n):
    while n > 0:
        tz.store(out_ptr, n)


@tz.jit
def touch(x_ptr):
    tz.load(x_ptr)


class Alarm(Exception):
    pass


def interrupted_after(seconds, launch):
    import signal
    import time

    def ring(signum, frame):
        raise Alarm()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        with pytest.raises(Alarm):
            launch()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return time.monotonic() - start


def test_endless_kernel_loop_can_be_interrupted():
    out = np.zeros(1, np.int32)
    elapsed = interrupted_after(0.5, lambda: spin[(1,)](out, 5))
    assert elapsed < 5, elapsed
    assert out[0] == 5  # it did run


def test_huge_grid_can_be_interrupted():
    x = np.ones(1, np.float32)
    elapsed = interrupted_after(0.5, lambda: touch[(2**31 - 1,)](x))
    assert elapsed < 5, elapsed


# ---------------------------------------------------------------------------
# compiling and running release the GIL
# ---------------------------------------------------------------------------

@tz.jit
def count_up(out_ptr, n):
    acc = 0
    for i in range(n):
        acc += i % 7
    tz.store(out_ptr, acc)


def test_interpreter_run_releases_the_gil():
    import threading
    ticks = [0]
    stop = threading.Event()

    def count():
        while not stop.is_set():
            ticks[0] += 1

    out = np.zeros(1, np.int64)
    n = 200000
    count_up[(1,)](out, n)  # compile first: only the run is measured
    counter = threading.Thread(target=count)
    counter.start()
    try:
        before = ticks[0]
        count_up[(1,)](out, n)
        during = ticks[0] - before
    finally:
        stop.set()
        counter.join()
    assert out[0] == sum(i % 7 for i in range(n))
    assert during > 1000, f"the other thread ran only {during} times while the kernel ran"


@tz.jit
def scaled_copy(x_ptr, out_ptr, factor, n, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    tz.store(out_ptr + offs, tz.load(x_ptr + offs, mask=mask) * factor, mask=mask)


def test_threads_launch_the_same_kernel_at_once(rng):
    import threading
    xs = [rng.standard_normal(3000).astype(np.float32) for _ in range(4)]
    outs = [poisoned(3000) for _ in range(4)]
    errors = []

    def work(t):
        try:
            for _ in range(5):
                scaled_copy[(tz.cdiv(3000, 256),)](xs[t], outs[t], float(t + 2), 3000, BLOCK=256)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    for t in range(4):
        np.testing.assert_array_equal(outs[t].astype(np.float64),
                                      (xs[t] * np.float32(t + 2)).astype(np.float64))


@tz.jit
def dot_out_dtype(a_ptr, out_ptr, N: tz.constexpr, OUT: tz.constexpr):
    r = tz.arange(0, N)
    idx = r[:, None] * N + r[None, :]
    a = tz.load(a_ptr + idx)
    tz.store(out_ptr + idx, tz.dot(a, a, out_dtype=OUT))


@pytest.mark.parametrize("out", [tz.int32, tz.int8])
def test_dot_out_dtype_must_be_a_float(out):
    expect_diagnostic(dot_out_dtype, "tz.dot(", "tz.dot out_dtype must be a floating-point type",
                      np.ones((16, 16), np.float16), np.zeros((16, 16), np.float32), N=16, OUT=out)


# --- found by the fuzzing campaign (test/fuzz/fuzz_frontend.py) -------------

@tz.jit
def store_none(x_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, None)


@tz.jit
def atomic_add_none(x_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.atomic_add(x_ptr + offs, None)


def test_store_of_none_is_a_diagnostic():
    # used to dereference a null value and kill the process (SIGSEGV)
    expect_diagnostic(store_none, "tz.store(", "argument 'value' must be a number or a tile, not None",
                      np.zeros(8, np.float32), BLOCK=8)
    expect_diagnostic(atomic_add_none, "tz.atomic_add(", "argument 'val' must be a number or a tile, not None",
                      np.zeros(8, np.float32), BLOCK=8)


@tz.jit
def assert_with_nul(x_ptr, BLOCK: tz.constexpr):
    tz.static_assert(BLOCK >= 32, "too\x00small")


def test_nul_in_a_static_assert_message_keeps_the_diagnostic_whole():
    # the NUL used to end the diagnostic (what() is a C string): no source
    # line, no caret, and the rest of the message lost
    msg = expect_diagnostic(assert_with_nul, "tz.static_assert(", ["static assertion failed", "too\u2400small"],
                            np.zeros(8, np.float32), BLOCK=8)
    assert "\x00" not in msg


def test_raw_nul_in_a_string_literal_keeps_the_diagnostic_whole():
    src = 'def k(x_ptr, BLOCK: tz.constexpr):\n    tz.static_assert(BLOCK >= 32, "too\x00small")\n'
    kernel = tz._terrazzo.Kernel(src, "nul.py", 0, "k", lambda n: (tz,) if n == "tz" else None)
    with pytest.raises(tz.CompilationError) as info:
        kernel.ir((np.zeros(8, np.float32), 8), {})
    lines = str(info.value).split("\n")
    assert lines[0] == "nul.py:2:5: error: static assertion failed: too\u2400small", lines
    assert lines[1] == '    tz.static_assert(BLOCK >= 32, "too\u2400small")' and lines[2] == "    ^", lines
