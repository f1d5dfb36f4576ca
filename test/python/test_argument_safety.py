"""Launch arguments the interpreter must never silently misuse: arrays that are
not row-major contiguous, read-only arrays, pointers that stray into another
argument's memory or wrap around 64 bits, and tiles that are partly out of
bounds. Each case either runs exactly (checked against numpy float64) or stops
with an error that names the argument, leaving every output untouched."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import assert_equal, assert_untouched, poisoned, random_nonzero


@tz.jit
def copy_contiguous(x_ptr, out_ptr, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    mask = offs < n
    tz.store(out_ptr + offs, tz.load(x_ptr + offs, mask=mask), mask=mask)


@tz.jit
def copy_strided_2d(x_ptr, out_ptr, rows, cols, stride_r, stride_c, BR: tz.constexpr, BC: tz.constexpr):
    r = tz.arange(0, BR)[:, None]
    c = tz.arange(0, BC)[None, :]
    mask = (r < rows) & (c < cols)
    x = tz.load(x_ptr + r * stride_r + c * stride_c, mask=mask)
    tz.store(out_ptr + r * cols + c, x, mask=mask)


def elem_strides(a):
    return tuple(s // a.itemsize for s in a.strides)


@pytest.mark.parametrize("make", [
    lambda base: base[::2],
    lambda base: base.reshape(4, 8).T,
    lambda base: np.asfortranarray(base.reshape(4, 8)),
    lambda base: np.broadcast_to(base[:8], (4, 8)),
], ids=["step-slice", "transpose", "fortran", "broadcast"])
def test_non_contiguous_array_is_refused_naming_the_argument(rng, make):
    base = random_nonzero(rng, 32)
    x = make(base)
    out = poisoned(x.size)
    with pytest.raises(ValueError) as info:
        copy_contiguous[(1,)](x, out, x.size, BLOCK=32)
    msg = str(info.value)
    assert "argument 'x_ptr'" in msg and "not a C-contiguous array" in msg, msg
    assert "tz.strided" in msg and "np.ascontiguousarray" in msg, msg
    assert_untouched(out)


def test_contiguous_views_are_accepted(rng):
    # Row slices, size-1 dimensions with any stride, and empty arrays are
    # row-major: nothing to refuse.
    base = random_nonzero(rng, (6, 8))
    x = base[2:4]
    out = poisoned(16)
    copy_contiguous[(1,)](x, out, 16, BLOCK=16)
    assert_equal(out, x.astype(np.float64).ravel())
    column = base[:, 3:4].T  # shape (1, 6), strides (4, 32): steps by 32 bytes
    with pytest.raises(ValueError):
        copy_contiguous[(1,)](column, poisoned(6), 6, BLOCK=8)
    single = base[1:2, 3:4]  # one element: no dimension is stepped along
    out1 = poisoned(1)
    copy_contiguous[(1,)](single, out1, 1, BLOCK=8)
    assert out1[0] == base[1, 3]


@pytest.mark.parametrize("layout", ["step-slice", "transpose", "fortran", "column-slice"])
def test_strided_array_is_read_exactly_with_its_strides(rng, layout):
    base = random_nonzero(rng, (12, 10), np.float64).astype(np.float32)
    x = {"step-slice": base[::3, ::2], "transpose": base.T, "fortran": np.asfortranarray(base),
         "column-slice": base[:, 2:7]}[layout]
    rows, cols = x.shape
    out = poisoned((rows, cols))
    copy_strided_2d[(1,)](tz.strided(x), out, rows, cols, *elem_strides(x), BR=16, BC=16)
    # The reference is the array's index order, read by numpy in float64.
    assert_equal(out.astype(np.float64), np.array(x, dtype=np.float64))


def test_strided_array_read_as_contiguous_is_an_error(rng):
    base = random_nonzero(rng, 16)
    x = base[::2]
    out = poisoned(8)
    with pytest.raises(tz.CompilationError) as info:
        copy_contiguous[(1,)](tz.strided(x), out, 8, BLOCK=8)
    msg = str(info.value)
    assert "between the elements of strided buffer 'x_ptr'" in msg, msg
    assert "strides (8) bytes" in msg, msg
    assert_untouched(out)


def test_read_only_input_is_fine(rng):
    values = random_nonzero(rng, 12)
    x = np.frombuffer(values.tobytes(), dtype=np.float32)
    assert not x.flags.writeable
    out = poisoned(12)
    copy_contiguous[(1,)](x, out, 12, BLOCK=16)
    assert_equal(out, values.astype(np.float64))


def test_read_only_output_is_refused_and_left_unchanged(rng):
    x = random_nonzero(rng, 12)
    frozen = np.full(12, 7.0, np.float32)
    out = np.frombuffer(frozen.tobytes(), dtype=np.float32)
    with pytest.raises(tz.CompilationError) as info:
        copy_contiguous[(1,)](x, out, 12, BLOCK=16)
    msg = str(info.value)
    assert "store into read-only buffer 'out_ptr'" in msg, msg
    assert (out == 7.0).all()
    guarded = poisoned(12)
    guarded.flags.writeable = False
    with pytest.raises(tz.CompilationError, match="read-only buffer 'out_ptr'"):
        copy_contiguous[(1,)](x, guarded, 12, BLOCK=16)
    assert_untouched(guarded)


@tz.jit
def atomic_into(out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.atomic_add(out_ptr + offs, tz.full((BLOCK,), 1.0, tz.float32))


def test_atomic_into_read_only_is_refused():
    out = np.zeros(8, np.float32)
    out.flags.writeable = False
    with pytest.raises(tz.CompilationError, match="atomic_rmw into read-only buffer 'out_ptr'"):
        atomic_into[(1,)](out, BLOCK=8)
    assert (out == 0).all()


@tz.jit
def store_past(x_ptr, y_ptr, skip, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(y_ptr + offs)
    tz.store(x_ptr + skip + offs, v)


def test_store_through_one_argument_cannot_reach_another(rng):
    # Two arguments that are adjacent halves of one allocation: an index past
    # the end of x is a valid address of y, and must still be refused.
    base = poisoned(32)
    x, y = base[:16], base[16:]
    y[:] = random_nonzero(rng, 16)
    before_y = y.copy()
    with pytest.raises(tz.CompilationError) as info:
        store_past[(1,)](x, y, 16, BLOCK=16)
    msg = str(info.value)
    assert "out-of-bounds store" in msg and "past the end of buffer 'x_ptr'" in msg, msg
    assert "inside buffer 'y_ptr'" in msg, msg
    assert_untouched(x)
    assert_equal(y, before_y.astype(np.float64))


@tz.jit
def load_at(x_ptr, out_ptr, offset):
    tz.store(out_ptr, tz.load(x_ptr + offset))


@pytest.mark.parametrize("offset", [2**62, -2**62, 2**63 - 1, 2**61 + 1])
def test_offset_that_wraps_around_is_caught(rng, offset):
    # 2**62 float32 elements are 2**64 bytes: without the overflow check the
    # address wraps onto element 0 of x.
    x = random_nonzero(rng, 4)
    out = poisoned(1)
    with pytest.raises(tz.CompilationError) as info:
        load_at[(1,)](x, out, offset)
    msg = str(info.value)
    assert "out-of-bounds load" in msg, msg
    assert "overflowed 64 bits" in msg or "buffer 'x_ptr'" in msg, msg
    assert_untouched(out)


def test_in_range_offset_still_loads(rng):
    x = random_nonzero(rng, 4)
    out = poisoned(1)
    load_at[(1,)](x, out, 3)
    assert out[0] == x[3]


@tz.jit
def store_tile(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(out_ptr + offs, tz.load(x_ptr + offs))


@tz.jit
def atomic_tile(out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.atomic_add(out_ptr + offs, tz.full((BLOCK,), 2.0, tz.float32))


def test_partly_out_of_bounds_store_writes_nothing(rng):
    x = random_nonzero(rng, 16)
    out = poisoned(10)  # lanes 10..15 are out of bounds; 0..9 are not
    with pytest.raises(tz.CompilationError, match="out-of-bounds store"):
        store_tile[(1,)](x, out, BLOCK=16)
    assert_untouched(out)


def test_partly_out_of_bounds_atomic_updates_nothing():
    out = np.zeros(10, np.float32)
    with pytest.raises(tz.CompilationError, match="out-of-bounds atomic_rmw"):
        atomic_tile[(1,)](out, BLOCK=16)
    assert (out == 0).all()


def test_torch_cpu_tensors_follow_the_same_rules(rng):
    torch = pytest.importorskip("torch")
    base = torch.from_numpy(random_nonzero(rng, (8, 6)))
    out = poisoned((6, 8))
    with pytest.raises(ValueError, match="argument 'x_ptr' is not a contiguous tensor"):
        copy_contiguous[(1,)](base.T, out, 48, BLOCK=64)
    assert_untouched(out)
    t = base.T
    copy_strided_2d[(1,)](tz.strided(t), out, 6, 8, *t.stride(), BR=8, BC=8)
    assert_equal(out.astype(np.float64), t.numpy().astype(np.float64))


def test_strided_wraps_arrays_only():
    with pytest.raises(TypeError, match="tz.strided wraps an array or tensor; argument 'x_ptr' is a list"):
        copy_contiguous[(1,)](tz.strided([1.0, 2.0]), poisoned(2), 2, BLOCK=2)
