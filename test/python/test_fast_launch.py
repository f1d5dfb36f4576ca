"""The cached launch path (python/src/FastLaunch.h) on the CPU: the launch
key it computes from the Python objects of a call, what it watches of a
kernel's globals, and that every call it does not cache goes through the full
path unchanged (the interpreter, errors). Launches from the cache need a GPU:
test_gpu_runtime.py checks those.

CUDA tensors are stood in for by FakeCudaTensor, registered with
_terrazzo._read_as_tensor so that the key reads it through its attributes
(data_ptr(), dtype, is_cuda, get_device()) as it reads torch's tensors
through their C getters."""

import numpy as np
import pytest

import terrazzo as tz
from conftest import poisoned


class FakeDtype:
    def __init__(self, name):
        self.name = name


F32, F16 = FakeDtype("float32"), FakeDtype("float16")


class FakeCudaTensor:
    def __init__(self, ptr, dtype=F32, device=0, is_cuda=True):
        self.ptr, self.dtype, self.device, self.is_cuda = ptr, dtype, device, is_cuda

    def data_ptr(self):
        return self.ptr

    def get_device(self):
        return self.device if self.is_cuda else -1


tz._terrazzo._read_as_tensor(FakeCudaTensor)


@tz.jit
def add4(a_ptr, b_ptr, c_ptr, out_ptr, n, scale, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    s = tz.load(a_ptr + offs, mask=mask) + tz.load(b_ptr + offs, mask=mask) + tz.load(c_ptr + offs, mask=mask)
    tz.store(out_ptr + offs, s * scale, mask=mask)


def key(kernel, *args, **kwargs):
    return kernel._launch_key(args, kwargs)


def tensors(base=0x10000, dtype=F32, device=0):
    return [FakeCudaTensor(base + i * 0x1000, dtype, device) for i in range(4)]


def test_key_of_a_launch_is_a_tuple_of_words():
    k = key(add4, *tensors(), 1000, 0.5, BLOCK=256)
    assert isinstance(k, tuple) and all(isinstance(w, int) for w in k)
    # Two words per parameter (7) and one of launch options.
    assert len(k) == 2 * 7 + 1


def test_key_ignores_addresses_but_not_alignment():
    base = key(add4, *tensors(0x10000), 1000, 0.5, BLOCK=256)
    assert key(add4, *tensors(0x90000), 1000, 0.5, BLOCK=256) == base
    moved = tensors(0x10000)
    moved[2] = FakeCudaTensor(0x20004)  # 4-byte aligned only
    assert key(add4, *moved, 1000, 0.5, BLOCK=256) != base


def test_key_tells_dtypes_and_devices_apart():
    base = key(add4, *tensors(), 1000, 0.5, BLOCK=256)
    assert key(add4, *tensors(dtype=F16), 1000, 0.5, BLOCK=256) != base
    assert key(add4, *tensors(device=1), 1000, 0.5, BLOCK=256) != base


@pytest.mark.parametrize("a,b,same", [(1000, 3000, True),   # both divisible by 8 only, fit in 32 bits
                                      (17, 33, True),
                                      (16, 17, False),      # divisibility by 16
                                      (1, 17, False),       # == 1
                                      (17, 2**40 + 1, False),  # width
                                      (-16, 32, True)])
def test_key_of_run_time_ints_is_their_specialization(a, b, same):
    ka = key(add4, *tensors(), a, 0.5, BLOCK=256)
    kb = key(add4, *tensors(), b, 0.5, BLOCK=256)
    assert (ka == kb) == same


def test_key_of_constexprs_is_their_value():
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256) != key(add4, *tensors(), 1000, 0.5, BLOCK=128)
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256) == key(add4, *tensors(), 1000, 0.5, BLOCK=256)


def test_key_of_run_time_floats_and_bools_is_their_kind():
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256) == key(add4, *tensors(), 1000, 2.0, BLOCK=256)
    assert key(add4, *tensors(), 1000, True, BLOCK=256) == key(add4, *tensors(), 1000, False, BLOCK=256)
    assert key(add4, *tensors(), 1000, True, BLOCK=256) != key(add4, *tensors(), 1000, 1, BLOCK=256)
    assert key(add4, *tensors(), 1000, 2, BLOCK=256) != key(add4, *tensors(), 1000, 2.0, BLOCK=256)


def test_keywords_bind_like_positions_in_any_order():
    a, b, c, d = tensors()
    base = key(add4, a, b, c, d, 1000, 0.5, BLOCK=256)
    assert key(add4, a, b, c, d, scale=0.5, n=1000, BLOCK=256) == base
    assert key(add4, BLOCK=256, out_ptr=d, c_ptr=c, b_ptr=b, a_ptr=a, scale=0.5, n=1000) == base


def test_launch_options_are_part_of_the_key():
    base = key(add4, *tensors(), 1000, 0.5, BLOCK=256)
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256, num_warps=4) == base  # the default
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256, num_warps=8) != base
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256, num_stages=3) != base
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256, min_blocks_per_sm=2) != base
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256, stream=7) != base
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256, stream=None) == base
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256, persistent=None) == base  # TZ_PERSISTENT
    persistent = key(add4, *tensors(), 1000, 0.5, BLOCK=256, persistent=True)
    assert persistent != base
    assert key(add4, *tensors(), 1000, 0.5, BLOCK=256, persistent=False) not in (base, persistent)
    assert persistent != key(add4, *tensors(), 1000, 0.5, BLOCK=256, tma=True)


@pytest.mark.parametrize("call", [
    lambda: key(add4, *tensors(), 1000, 0.5, BLOCK=256, bogus=1),               # unknown keyword
    lambda: key(add4, *tensors(), 1000, 0.5, 256, BLOCK=256),                   # given twice
    lambda: key(add4, *tensors(), 1000, 0.5, 256, 7),                           # too many
    lambda: key(add4, *tensors(), 2**70, 0.5, BLOCK=256),                       # beyond 64 bits
    lambda: key(add4, *tensors(), 1000, 0.5, BLOCK=FakeCudaTensor(0x1000)),     # tensor as constexpr
    lambda: key(add4, *tensors()[:3], FakeCudaTensor(0x1000, is_cuda=False), 1000, 0.5, BLOCK=256),  # host
    lambda: key(add4, *tensors()[:3], FakeCudaTensor(0x1000, device=1), 1000, 0.5, BLOCK=256),  # two devices
    lambda: key(add4, *tensors(), 1000, 0.5, BLOCK=256, num_warps=True),        # option not an int
    lambda: key(add4, *tensors(), 1000, 0.5, BLOCK=256, num_warps=1024),        # option out of range
    lambda: key(add4, *tensors(), 1000, 0.5, BLOCK=256, persistent=1),          # persistent not a bool
])
def test_unusual_calls_are_left_to_the_full_path(call):
    assert call() is None


def test_other_objects_are_keyed_by_identity():
    k16 = key(add4, *tensors(), 1000, 0.5, BLOCK=tz.float16)
    assert k16 == key(add4, *tensors(), 1000, 0.5, BLOCK=tz.float16)
    assert k16 != key(add4, *tensors(), 1000, 0.5, BLOCK=tz.float32)


SCALE = 3


@tz.jit
def scaled(x_ptr, out_ptr, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(out_ptr + offs, tz.load(x_ptr + offs, mask=offs < n) * SCALE, mask=offs < n)


def test_watch_sees_a_rebound_global():
    global SCALE
    x, out = np.ones(16, np.float32), np.zeros(16, np.float32)
    watch = tz._terrazzo._watch(scaled._kernel, (x, out, 16), {"BLOCK": 16})
    assert watch is not None and watch.num_probes >= 2  # `tz` and SCALE
    assert watch.valid()
    try:
        SCALE = 4
        assert not watch.valid()
    finally:
        SCALE = 3
    assert watch.valid()


def make_scaled_by(factor):
    @tz.jit
    def scaled_by(x_ptr, out_ptr, BLOCK: tz.constexpr):
        offs = tz.arange(0, BLOCK)
        tz.store(out_ptr + offs, tz.load(x_ptr + offs) * factor)

    def set_factor(value):
        nonlocal factor
        factor = value
    return scaled_by, set_factor


def test_watch_sees_a_changed_closure_variable():
    kernel, set_factor = make_scaled_by(2)
    x, out = np.ones(8, np.float32), np.zeros(8, np.float32)
    watch = tz._terrazzo._watch(kernel._kernel, (x, out), {"BLOCK": 8})
    assert watch.valid()
    set_factor(5)
    assert not watch.valid()


BLOCK_DEFAULT = 32


@tz.jit
def with_global_default(x_ptr, n, BLOCK: tz.constexpr = BLOCK_DEFAULT):
    offs = tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, tz.load(x_ptr + offs, mask=offs < n) + 1.0, mask=offs < n)


def test_watch_covers_a_global_named_as_a_default():
    global BLOCK_DEFAULT
    x = np.zeros(32, np.float32)
    watch = tz._terrazzo._watch(with_global_default._kernel, (x, 32), {})
    assert watch.valid()
    try:
        BLOCK_DEFAULT = 16
        assert not watch.valid()
    finally:
        BLOCK_DEFAULT = 32


EPSILON = np.float32(0.25)  # a numpy scalar: equal values, new objects; not watched by identity


@tz.jit
def with_numpy_global(x_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, tz.load(x_ptr + offs) + EPSILON)


def test_globals_that_identity_cannot_vouch_for_are_not_cached():
    x = np.zeros(8, np.float32)
    assert tz._terrazzo._watch(with_numpy_global._kernel, (x,), {"BLOCK": 8}) is None


def test_interpreter_launches_go_through_the_full_path(rng):
    n = 1000
    a, b, c = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    out = poisoned((n,), np.float32)
    before = add4._fast_stats()
    grid = lambda meta: (tz.cdiv(meta["n"], meta["BLOCK"]),)
    add4[grid](a, b, c, out, n, 0.5, BLOCK=256)
    ref = (a.astype(np.float64) + b + c) * 0.5
    assert np.allclose(out, ref, rtol=1e-6, atol=1e-6)
    after = add4._fast_stats()
    assert after["misses"] == before["misses"] + 1 and after["hits"] == before["hits"]
    assert after["entries"] == 0  # nothing is planned for the interpreter


def test_kernel_subscript_is_a_cpp_callable():
    launch = add4[(1,)]
    assert type(launch).__name__ == "BoundLaunch"
    assert isinstance(add4, tz._terrazzo.Launcher)


def test_errors_of_the_full_path_come_through():
    x = np.zeros(4, np.float32)
    with pytest.raises(tz.CompilationError, match="missing argument 'n'"):
        add4[(1,)](x, x, x, x, scale=1.0, BLOCK=4)
    with pytest.raises(tz.CompilationError, match="no parameter named 'bogus'"):
        add4[(1,)](x, x, x, x, 4, 1.0, BLOCK=4, bogus=1)
    with pytest.raises(TypeError, match="grid dimensions must be integers"):
        add4[(1.5,)](x, x, x, x, 4, 1.0, BLOCK=4)
    with pytest.raises(ZeroDivisionError):
        add4[lambda meta: (1 // 0,)](x, x, x, x, 4, 1.0, BLOCK=4)


def test_autotuned_kernel_on_the_interpreter(rng):
    @tz.autotune(configs=[tz.Config({"BLOCK": 64}), tz.Config({"BLOCK": 128})], key=["n"])
    @tz.jit
    def tuned(x_ptr, out_ptr, n, BLOCK: tz.constexpr):
        offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
        tz.store(out_ptr + offs, tz.load(x_ptr + offs, mask=offs < n) * 2.0, mask=offs < n)

    n = 300
    x = rng.standard_normal(n).astype(np.float32)
    out = poisoned((n,), np.float32)
    tuned[lambda meta: (tz.cdiv(n, meta["BLOCK"]),)](x, out, n)
    assert np.allclose(out, 2.0 * x.astype(np.float64), rtol=1e-6, atol=0)
    assert tuned.last_source == "interpreter"
    # The tuning key's values join the launch key.
    assert tuned._launch_key((FakeCudaTensor(0x1000), FakeCudaTensor(0x2000), 1000), {}) != \
        tuned._launch_key((FakeCudaTensor(0x1000), FakeCudaTensor(0x2000), 3000), {})


def test_tensor_reader_state_is_reported():
    state = tz._terrazzo._tensor_reader_state()
    assert set(state) == {"torch_found", "direct_types", "device_count", "direct_calls"}
    # test_gpu_fast_launch.py checks that torch's tensors are read directly.
    assert isinstance(state["direct_types"], list) and isinstance(state["device_count"], int)
