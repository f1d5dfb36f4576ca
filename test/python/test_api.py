"""The Python API: kernel.ir(), the specialization cache, the language
namespace outside kernels, and the small host-side helpers."""

import re

import numpy as np
import pytest

import terrazzo as tz
from conftest import poisoned, random_nonzero


@tz.jit
def copy_loop(x_ptr, out_ptr, n, BLOCK: tz.constexpr):
    """Adds x to out `n` times."""
    offs = tz.arange(0, BLOCK)
    for i in range(0, n):
        tz.store(out_ptr + offs, tz.load(out_ptr + offs) + tz.load(x_ptr + offs), mask=offs < n)


@tz.jit
def control_flow(x_ptr, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(x_ptr + offs)
    i = 0
    while i < n:
        if i > 2:
            v = v + 1
        i += 1
    s = tz.sum(v, axis=0)
    old = tz.atomic_add(x_ptr, s)
    d = tz.dot(v[:, None], v[None, :])
    tz.store(x_ptr + offs, tz.cumsum(v) + old + tz.max(d, axis=1))


def _signature(ir, name):
    m = re.search(r"func\.func @" + name + r"\((.*)\) attributes", ir)
    assert m, ir
    return m.group(1)


def test_ir_text():
    x = np.ones(16, np.float32)
    ir = copy_loop.ir(x, x, 5, BLOCK=16)
    for op in ["func.func @copy_loop", "tz.kernel", "tz.load", "tz.store", "tz.make_range", "scf.for",
               "tz.addptr", "arith.addf", "!tz.ptr<f32>", "tensor<16xf32>"]:
        assert op in ir, f"{op} missing from\n{ir}"
    ir2 = control_flow.ir(x, 5, BLOCK=16)
    for op in ["scf.while", "scf.if", "tz.reduce", "tz.atomic_rmw", "tz.scan", "tz.dot", "scf.yield"]:
        assert op in ir2, f"{op} missing from\n{ir2}"


def test_ir_reflects_constexpr_and_dtypes():
    x16 = np.ones(32, np.float16)
    ir = copy_loop.ir(x16, x16, 5, BLOCK=32)
    assert "tensor<32xf16>" in ir and "!tz.ptr<f16>" in ir
    assert "tz.make_range 0, 32" in ir
    # constexpr parameters are not arguments of the kernel function
    assert _signature(ir, "copy_loop").count("%arg") == 3


def test_ir_accepts_keywords():
    x = np.ones(16, np.float32)
    assert copy_loop.ir(x_ptr=x, out_ptr=x, n=5, BLOCK=16) == copy_loop.ir(x, x, 5, BLOCK=16)


def test_specialization_cache():
    k = tz.jit(copy_loop.fn)  # a fresh kernel with an empty cache
    x = random_nonzero(np.random.default_rng(0), 64)
    assert k._kernel.num_specializations == 0
    k.ir(x, x, 5, BLOCK=16)
    assert k._kernel.num_specializations == 1
    # same argument types and constexprs: cached, whatever the values
    k.ir(x.copy(), x.copy(), 7, BLOCK=16)
    k[(1,)](x.copy(), x.copy(), 9, BLOCK=16)
    assert k._kernel.num_specializations == 1
    # a different constexpr value: a new specialization
    k.ir(x, x, 5, BLOCK=32)
    assert k._kernel.num_specializations == 2
    k.ir(x, x, 5, BLOCK=32)
    assert k._kernel.num_specializations == 2
    # a different dtype: a new specialization
    k.ir(x.astype(np.float16), x, 5, BLOCK=16)
    assert k._kernel.num_specializations == 3


def test_int_argument_equal_to_one_is_specialized():
    k = tz.jit(copy_loop.fn)
    x = np.ones(64, np.float32)
    ir5 = k.ir(x, x, 5, BLOCK=16)
    ir3 = k.ir(x, x, 3, BLOCK=16)
    assert k._kernel.num_specializations == 1 and ir3 == ir5
    ir1 = k.ir(x, x, 1, BLOCK=16)
    assert k._kernel.num_specializations == 2
    # n == 1 is folded into the kernel: it is no longer an argument
    assert re.search(r"%arg2: i32", _signature(ir5, "copy_loop"))
    assert _signature(ir5, "copy_loop").count("%arg") == 3
    assert _signature(ir1, "copy_loop").count("%arg") == 2
    assert "scf.for" not in ir1
    # and the specialization computes the same thing
    for n in (1, 3):
        out, ref = np.zeros(16, np.float32), np.zeros(16, np.float32)
        xs = random_nonzero(np.random.default_rng(n), 16)
        k[(1,)](xs, out, n, BLOCK=16)
        for _ in range(n):
            ref[:n] += xs[:n]
        np.testing.assert_array_equal(out, ref)


def test_divisibility_and_width_specializations():
    k = tz.jit(copy_loop.fn)
    x = np.ones(64, np.float32)
    k.ir(x, x, 5, BLOCK=16)
    ir16 = k.ir(x, x, 32, BLOCK=16)  # a multiple of 16
    assert k._kernel.num_specializations == 2
    assert re.search(r"%arg2: i32 \{tz.divisibility = 16", ir16), ir16
    ir64 = k.ir(x, x, 2**40 + 3, BLOCK=16)  # needs 64 bits
    assert k._kernel.num_specializations == 3
    assert "%arg2: i64" in ir64
    # an unaligned pointer loses its divisibility hint
    ir_un = k.ir(x[1:], x, 5, BLOCK=16)
    assert k._kernel.num_specializations == 4
    assert not re.search(r"%arg0: !tz.ptr<f32> \{tz.divisibility", ir_un), ir_un


@tz.jit
def scaled(x_ptr, out_ptr, alpha, FLAG: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(x_ptr + offs) * alpha
    if FLAG:
        v = -v
    tz.store(out_ptr + offs, v)


def test_float_and_bool_arguments():
    k = tz.jit(scaled.fn)
    x = random_nonzero(np.random.default_rng(1), 16)
    out = poisoned(16)
    k[(1,)](x, out, 0.5, True, BLOCK=16)
    np.testing.assert_array_equal(out, -x * np.float32(0.5))
    k[(1,)](x, out, 2.5, False, BLOCK=16)  # a float argument is a run-time f32: same specialization
    np.testing.assert_array_equal(out, x * np.float32(2.5))
    assert k._kernel.num_specializations == 2  # FLAG True and FLAG False
    assert "f32" in _signature(k.ir(x, out, 0.5, True, BLOCK=16), "scaled")


def test_language_functions_outside_kernels():
    assert tz.load.__doc__ and "mask" in tz.load.__doc__
    assert "tz.load" in tz.load.__doc__
    for name in ["load", "store", "dot", "arange", "program_id", "sum", "where", "atomic_add", "static_range"]:
        fn = getattr(tz, name)
        assert fn.__doc__ and fn.__doc__.startswith(f"tz.{name}("), name
    with pytest.raises(RuntimeError, match="inside a @tz.jit kernel"):
        tz.load(None)
    with pytest.raises(RuntimeError):
        tz.program_id(0)


def test_help_shows_the_docstring(capsys):
    help(tz.load)
    out = capsys.readouterr().out
    assert "tz.load(pointer, mask=None" in out


def test_every_exported_name_exists():
    for name in tz.__all__:
        assert hasattr(tz, name), name
    assert tz.language.load is tz.load


def test_host_helpers_and_dtypes():
    assert tz.cdiv(1000, 256) == 4 and tz.cdiv(1024, 256) == 4 and tz.cdiv(1, 256) == 1
    assert tz.float32.primitive_bitwidth == 32 and tz.float32.is_floating()
    assert not tz.int32.is_floating()
    assert tz.fp16 == tz.float16 and hash(tz.bf16) == hash(tz.bfloat16)
    assert tz.float16 != tz.bfloat16
    assert repr(tz.float32) == "tz.float32"
    assert tz.constexpr(tz.constexpr(3)).value == 3
    assert isinstance(tz.CompilationError("x"), Exception)


def test_jit_function_attributes():
    assert copy_loop.__name__ == "copy_loop"
    assert copy_loop.__doc__ == "Adds x to out `n` times."
    assert copy_loop.param_names == ["x_ptr", "out_ptr", "n", "BLOCK"]
    assert repr(copy_loop) == "<terrazzo.JITFunction copy_loop>"
    assert isinstance(copy_loop, tz.JITFunction)


def test_jit_with_parentheses():
    def k(x_ptr):
        tz.store(x_ptr, 1.0)

    jk = tz.jit()(k)
    x = np.zeros(1, np.float32)
    jk[(1,)](x)
    assert x[0] == 1.0


def test_closure_variables_are_visible():
    width = 8

    @tz.jit
    def k(x_ptr):
        tz.store(x_ptr + tz.arange(0, width), 2.0)

    x = poisoned(width + 1)
    k[(1,)](x)
    assert (x[:width] == 2).all() and np.isnan(x[width])


def test_printing_while_compiling(capfd):
    @tz.jit
    def k(x_ptr, BLOCK: tz.constexpr):
        tz.static_print("compiling with BLOCK =", BLOCK)
        tz.store(x_ptr, 1.0)

    k.ir(np.zeros(1, np.float32), BLOCK=64)
    err = capfd.readouterr().err
    assert "compiling with BLOCK = int constexpr 64" in err or "compiling with BLOCK = 64" in err


SCALE_GLOBAL = 2.0


@tz.jit
def scale_by_global(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(out_ptr + offs, tz.load(x_ptr + offs) * SCALE_GLOBAL)


def test_rebinding_a_global_recompiles():
    global SCALE_GLOBAL
    x = random_nonzero(np.random.default_rng(3), 16)
    out = poisoned(16)
    scale_by_global[(1,)](x, out, BLOCK=16)
    np.testing.assert_array_equal(out, x * np.float32(2.0))
    try:
        SCALE_GLOBAL = 3.0
        scale_by_global[(1,)](x, out, BLOCK=16)
        np.testing.assert_array_equal(out, x * np.float32(3.0))
    finally:
        SCALE_GLOBAL = 2.0
    scale_by_global[(1,)](x, out, BLOCK=16)
    np.testing.assert_array_equal(out, x * np.float32(2.0))


def _make_scaler(scale):
    @tz.jit
    def act(v):
        return v * scale

    return act


@tz.jit
def apply_fn(x_ptr, out_ptr, FN: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(out_ptr + offs, FN(tz.load(x_ptr + offs)))


def test_closures_of_one_factory_are_distinct():
    # same source text, different closure values: never the same compiled code
    x = random_nonzero(np.random.default_rng(4), 16)
    by2, by5 = _make_scaler(2.0), _make_scaler(5.0)
    out2, out5 = poisoned(16), poisoned(16)
    apply_fn[(1,)](x, out2, by2, BLOCK=16)
    apply_fn[(1,)](x, out5, by5, BLOCK=16)
    np.testing.assert_array_equal(out2, x * np.float32(2.0))
    np.testing.assert_array_equal(out5, x * np.float32(5.0))


def test_recursion_is_diagnosed():
    @tz.jit
    def rec(x_ptr, n):
        return rec(x_ptr, n)

    with pytest.raises(tz.CompilationError, match="recursive"):
        rec.ir(np.ones(4, np.float32), 3)
