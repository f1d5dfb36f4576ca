"""Errors in kernels raise tz.CompilationError with 'file:line:col: error:
message', the source line and a caret under the column, and never crash.
Expected positions are computed from this file's own source (see
conftest.locate), so editing the file does not break the tests."""


import numpy as np
import pytest

import terrazzo as tz
from conftest import assert_diagnostic, locate, poisoned

GLOBAL_DICT = {"a": 1}


class _Opaque:
    pass


GLOBAL_OBJECT = _Opaque()

X = np.ones(64, np.float32)


def _lookup(name):
    return (tz,) if name == "tz" else None


def expect_error(kernel, needle, contains, *args, occurrence=0, col_needle=None, launch=False, **kwargs):
    """Compiles (or launches) `kernel` and checks the diagnostic points at the
    line containing `needle`, at the column where `col_needle` (default:
    `needle`) starts."""
    with pytest.raises(tz.CompilationError) as info:
        if launch:
            kernel[(1,)](*args, **kwargs)
        else:
            kernel.ir(*args, **kwargs)
    filename, line, col, text = locate(kernel, needle, occurrence)
    if col_needle is not None:
        col = text.find(col_needle) + 1
        assert col > 0
    assert_diagnostic(info.value, filename, line, col, text, contains)
    return str(info.value)


# ---------------------------------------------------------------------------
# syntax
# ---------------------------------------------------------------------------

SYNTAX_ERRORS = [
    # (source, line, col, message fragment)
    ("def k(x):\n    y = (x + 1\n    return y\n", 2, 9, "'(' was never closed"),
    ("def k(x):\n    y = x +\n", 2, 12, "expected an expression"),
    ("def k(x):\n    if x > 1\n        y = 2\n", 2, 13, "expected"),
    ("def k(x):\n  y = 1\n    z = 2\n", 3, 5, "unexpected indent"),
    ("def k(x):\n    y = 1 $ 2\n", 2, 11, ""),
    ("def k(x):\n    y = 'abc\n", 2, 9, ""),
    ("def k(x):\nreturn x\n", 2, 1, "indented block"),
    ("def k(x, x):\n    pass\n", 1, 10, "duplicate parameter"),
]


@pytest.mark.parametrize("source,line,col,fragment", SYNTAX_ERRORS)
def test_syntax_error(source, line, col, fragment):
    with pytest.raises(tz.CompilationError) as info:
        tz._terrazzo.Kernel(source, "syntax.py", 0, "k", _lookup)
    assert_diagnostic(info.value, "syntax.py", line, col, source.split("\n")[line - 1], fragment)


def test_syntax_error_line_offset():
    # The decorator hands the frontend the function's source with its first
    # line's offset in the file: positions are those of the file.
    source = "def k(x):\n    y = x +\n"
    with pytest.raises(tz.CompilationError) as info:
        tz._terrazzo.Kernel(source, "big_file.py", 40, "k", _lookup)
    assert_diagnostic(info.value, "big_file.py", 42, 12, "    y = x +", "expected an expression")


def _uses_dict_display(x_ptr):
    y = {1: 2}  # noqa: F841


def _uses_lambda(x_ptr):
    f = lambda v: v  # noqa: E731,F841


def _uses_comprehension(x_ptr):
    y = [i for i in range(4)]  # noqa: F841


@pytest.mark.parametrize("fn,needle,fragment", [
    (_uses_dict_display, "{1: 2}", "dict and set displays are not supported"),
    (_uses_lambda, "lambda v", "'lambda' is not supported"),
    (_uses_comprehension, "for i in", "comprehensions are not supported"),
])
def test_python_syntax_unsupported_in_kernels(fn, needle, fragment):
    # Valid Python, so the test module imports; the kernel frontend rejects it
    # when the decorator parses the function.
    with pytest.raises(tz.CompilationError) as info:
        tz.jit(fn)
    filename, line, col, text = locate(fn, needle)
    assert_diagnostic(info.value, filename, line, col, text, fragment)


# ---------------------------------------------------------------------------
# names and Python objects
# ---------------------------------------------------------------------------

@tz.jit
def unknown_name(x_ptr):
    y = tz.load(x_ptr) + undefined_thing  # noqa: F821


def test_unknown_name():
    expect_error(unknown_name, "undefined_thing", "unknown name 'undefined_thing'", X)


@tz.jit
def unknown_builtin(x_ptr):
    y = tz.no_such_builtin(x_ptr)  # noqa: F841


def test_unknown_module_attribute():
    expect_error(unknown_builtin, "tz.no_such_builtin", "has no attribute 'no_such_builtin'", X)


@tz.jit
def uses_global_dict(x_ptr):
    tz.store(x_ptr, GLOBAL_DICT["a"])


@tz.jit
def uses_global_object(x_ptr):
    v = GLOBAL_OBJECT
    tz.store(x_ptr, v)


def test_python_objects_cannot_live_in_kernels():
    expect_error(uses_global_dict, "GLOBAL_DICT", ["GLOBAL_DICT", "dict", "cannot be used in a kernel"], X)
    expect_error(uses_global_object, "GLOBAL_OBJECT", ["GLOBAL_OBJECT", "_Opaque"], X)


@tz.jit
def takes_anything(x_ptr, thing):
    tz.store(x_ptr, thing)


def test_unsupported_argument_object():
    with pytest.raises(tz.CompilationError) as info:
        takes_anything.ir(X, _Opaque())
    filename, line, col, text = locate(takes_anything, "thing)")
    assert_diagnostic(info.value, filename, line, col, text, ["thing", "_Opaque"])


# ---------------------------------------------------------------------------
# shapes and types
# ---------------------------------------------------------------------------

@tz.jit
def elementwise_mismatch(x_ptr, BLOCK: tz.constexpr):
    a = tz.load(x_ptr + tz.arange(0, BLOCK))
    b = tz.load(x_ptr + tz.arange(0, 2 * BLOCK))
    c = a * b
    tz.store(x_ptr + tz.arange(0, BLOCK), c)


def test_shape_mismatch_elementwise():
    expect_error(elementwise_mismatch, "a * b", ["shape mismatch", "[16]", "[32]"], X, BLOCK=16)


@tz.jit
def dot_mismatch(x_ptr, M: tz.constexpr, K: tz.constexpr, N: tz.constexpr):
    a = tz.zeros((M, K), dtype=tz.float32)
    b = tz.zeros((2 * K, N), dtype=tz.float32)
    c = tz.dot(a, b)
    tz.store(x_ptr + tz.arange(0, M)[:, None] * N + tz.arange(0, N)[None, :], c)


def test_shape_mismatch_dot():
    expect_error(dot_mismatch, "tz.dot", ["shape mismatch in tz.dot", "16", "32"], X, M=16, K=16, N=16)


@tz.jit
def dot_rank(x_ptr, BLOCK: tz.constexpr):
    a = tz.load(x_ptr + tz.arange(0, BLOCK))
    c = tz.dot(a, a)


def test_dot_needs_2d_tiles():
    expect_error(dot_rank, "tz.dot", "2-D", X, BLOCK=16)


@tz.jit
def arange_not_pow2(x_ptr):
    offs = tz.arange(0, 100)
    tz.store(x_ptr + offs, 1.0)


def test_arange_not_power_of_two():
    expect_error(arange_not_pow2, "tz.arange", ["power of two", "100"], X)


@tz.jit
def store_shape_mismatch(x_ptr):
    v = tz.load(x_ptr + tz.arange(0, 16))
    tz.store(x_ptr + tz.arange(0, 32), v)


def test_store_shape_mismatch():
    expect_error(store_shape_mismatch, "tz.store", ["[32]", "[16]"], X)


@tz.jit
def float_bitwise(x_ptr):
    v = tz.load(x_ptr + tz.arange(0, 16))
    w = v & 1


def test_bitwise_on_floats():
    expect_error(float_bitwise, "v & 1", "integer", X)


@tz.jit
def tile_condition(x_ptr):
    v = tz.load(x_ptr + tz.arange(0, 16))
    if v > 0:
        v = -v
    tz.store(x_ptr + tz.arange(0, 16), v)


def test_if_on_a_tile():
    expect_error(tile_condition, "v > 0", "scalar", X)


# ---------------------------------------------------------------------------
# calls to builtins
# ---------------------------------------------------------------------------

@tz.jit
def too_many_args(x_ptr):
    offs = tz.arange(0, 16, 2)


@tz.jit
def missing_arg(x_ptr):
    v = tz.exp()


@tz.jit
def wrong_keyword(x_ptr):
    v = tz.load(x_ptr, maskk=None)


@tz.jit
def keyword_twice(x_ptr):
    v = tz.load(x_ptr, None, mask=None)


def test_builtin_argument_errors():
    expect_error(too_many_args, "tz.arange", ["tz.arange()", "at most 2 positional", "3 were given"], X)
    expect_error(missing_arg, "tz.exp", ["tz.exp()", "missing required argument 'x'"], X)
    expect_error(wrong_keyword, "tz.load", ["tz.load()", "unexpected keyword argument 'maskk'"], X)
    expect_error(keyword_twice, "tz.load", ["multiple values", "mask"], X)


@tz.jit
def bad_dtype_arg(x_ptr):
    v = tz.zeros((16,), dtype=3)


def test_dtype_argument_must_be_a_dtype():
    expect_error(bad_dtype_arg, "tz.zeros", "dtype", X)


@tz.jit
def bad_axis(x_ptr):
    v = tz.sum(tz.load(x_ptr + tz.arange(0, 16)), axis=2)


def test_reduction_axis_out_of_range():
    expect_error(bad_axis, "tz.sum", "axis 2 is out of range", X)


# ---------------------------------------------------------------------------
# control flow
# ---------------------------------------------------------------------------

@tz.jit
def one_branch(x_ptr, n):
    if n > 3:
        y = 1.0
    tz.store(x_ptr, y)


def test_value_defined_in_one_branch():
    msg = expect_error(one_branch, "tz.store(x_ptr, y)", ["'y'", "only one branch"], X, 5,
                       col_needle="y)")
    # the message names the line of the if
    _, if_line, _, _ = locate(one_branch, "if n > 3")
    assert f"line {if_line}" in msg


@tz.jit
def one_branch_ok_if_unused(x_ptr, n):
    if n > 3:
        y = 1.0
        tz.store(x_ptr, y)


def test_value_defined_in_one_branch_unused_is_fine():
    assert "scf.if" in one_branch_ok_if_unused.ir(X, 5)


@tz.jit
def carried_type_changes(x_ptr, n, BLOCK: tz.constexpr):
    acc = tz.zeros((BLOCK,), dtype=tz.float32)
    for i in range(0, n):
        acc = acc.to(tz.float16) + 1
    tz.store(x_ptr + tz.arange(0, BLOCK), acc)


def test_loop_carried_type_change():
    expect_error(carried_type_changes, "for i in range", ["'acc'", "float32", "float16"], X, 5, BLOCK=16)


@tz.jit
def carried_shape_changes(x_ptr, n):
    acc = tz.zeros((16,), dtype=tz.float32)
    i = 0
    while i < n:
        acc = acc[:, None]
        i += 1


def test_loop_carried_shape_change():
    expect_error(carried_shape_changes, "while i < n", ["'acc'", "16x1"], X, 5)


@tz.jit
def return_in_loop(x_ptr, n):
    for i in range(0, n):
        return


def test_return_inside_loop():
    expect_error(return_in_loop, "return\n", "'return' inside a loop", X, 5)


@tz.jit
def break_in_loop(x_ptr, n):
    for i in range(0, n):
        break


def test_break_unsupported():
    # the parser or the code generator may reject it; either way a diagnostic
    with pytest.raises(tz.CompilationError) as info:
        break_in_loop.ir(X, 5)
    filename, line, col, text = locate(break_in_loop, "break\n")
    assert_diagnostic(info.value, filename, line, col, text, "break")


@tz.jit
def defined_in_loop(x_ptr, n):
    for i in range(0, n):
        t = i * 2
    tz.store(x_ptr, t)


def test_name_defined_inside_loop_used_after():
    expect_error(defined_in_loop, "tz.store(x_ptr, t)", ["'t'", "inside the loop"], X, 5, col_needle="t)")


@tz.jit
def runtime_arange(x_ptr, n):
    offs = tz.arange(0, n)


def test_constexpr_required():
    expect_error(runtime_arange, "tz.arange", ["constexpr", "'end'", "run-time"], X, 5)


@tz.jit
def runtime_static_range(x_ptr, n):
    for i in tz.static_range(n):
        tz.store(x_ptr + i, 1.0)


def test_static_range_needs_constexpr():
    expect_error(runtime_static_range, "tz.static_range", "constexpr", X, 5)


@tz.jit
def static_assert_fails(x_ptr, BLOCK: tz.constexpr):
    tz.static_assert(BLOCK >= 32, "BLOCK too small")


def test_static_assert():
    expect_error(static_assert_fails, "tz.static_assert", ["static assertion failed", "BLOCK too small"],
                 X, BLOCK=16)
    assert static_assert_fails.ir(X, BLOCK=64)


# ---------------------------------------------------------------------------
# jit functions calling each other
# ---------------------------------------------------------------------------

@tz.jit
def _helper_with_error(v):
    return v + tz.arange(0, 32)


@tz.jit
def calls_bad_helper(x_ptr):
    v = tz.load(x_ptr + tz.arange(0, 16))
    w = _helper_with_error(v)


def test_error_inside_called_function_points_into_it():
    # the diagnostic names the helper's line, not the call site
    with pytest.raises(tz.CompilationError) as info:
        calls_bad_helper.ir(X)
    filename, line, col, text = locate(_helper_with_error, "v + tz.arange")
    assert_diagnostic(info.value, filename, line, col, text, "shape mismatch")


@tz.jit
def _two_params(a, b):
    return a + b


@tz.jit
def calls_with_wrong_args(x_ptr):
    v = _two_params(1, 2, 3)


@tz.jit
def calls_with_wrong_keyword(x_ptr):
    v = _two_params(1, c=2)


def test_calling_jit_function_with_wrong_arguments():
    expect_error(calls_with_wrong_args, "_two_params", ["takes 2 arguments", "3 were given"], X)
    expect_error(calls_with_wrong_keyword, "_two_params", "no parameter named 'c'", X)


# ---------------------------------------------------------------------------
# launching
# ---------------------------------------------------------------------------

@tz.jit
def simple(x_ptr, n, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, 1.0, mask=offs < n)


def test_calling_a_kernel_directly_raises():
    with pytest.raises(RuntimeError, match=r"simple\[grid\]"):
        simple(X, 4, BLOCK=16)


@pytest.mark.parametrize("grid,exc", [
    ((-1,), ValueError),
    ((1, 2, 3, 4), ValueError),
    ((), ValueError),
    (("1",), TypeError),
    ((1.5,), TypeError),
    (2.0, TypeError),
])
def test_wrong_grid_raises(grid, exc):
    out = poisoned(16)
    with pytest.raises(exc):
        simple[grid](out, 4, BLOCK=16)
    assert np.isnan(out).all()


def test_wrong_number_of_kernel_arguments():
    with pytest.raises(tz.CompilationError) as info:
        simple[(1,)](X, 4, 16, 99)
    assert "takes 3 arguments but 4 were given" in str(info.value)
    with pytest.raises(tz.CompilationError) as info:
        simple[(1,)](X, BLOCK=16)
    filename, line, col, text = locate(simple, "n,")
    assert_diagnostic(info.value, filename, line, col, text, "missing argument 'n'")
    with pytest.raises(tz.CompilationError) as info:
        simple[(1,)](X, 4, BLOCK=16, BLOCKK=3)
    assert "no parameter named 'BLOCKK'" in str(info.value)


def test_tensor_for_constexpr_parameter():
    with pytest.raises(tz.CompilationError) as info:
        simple.ir(X, 4, BLOCK=X)
    filename, line, col, text = locate(simple, "BLOCK: tz.constexpr")
    assert_diagnostic(info.value, filename, line, col, text, "constexpr")


def test_unsupported_array_dtype():
    with pytest.raises(tz.CompilationError) as info:
        simple.ir(np.zeros(16, np.complex64), 4, BLOCK=16)
    assert "complex64" in str(info.value)


def test_errors_do_not_poison_the_kernel():
    # after a failed compile, good launches still work
    with pytest.raises(tz.CompilationError):
        simple.ir(X, 4, BLOCK=X)
    out = poisoned(16)
    simple[(1,)](out, 4, BLOCK=16)
    assert (out[:4] == 1).all() and np.isnan(out[4:]).all()


@tz.jit
def constant_overflow(x_ptr):
    c = 3 ** 100
    tz.store(x_ptr, c)


def test_constant_folding_overflow_is_diagnosed():
    expect_error(constant_overflow, "3 ** 100", "integer overflow in a constant expression", X)


@tz.jit
def static_range_too_long(x_ptr):
    for i in tz.static_range(0, 100000):
        tz.store(x_ptr, 1.0)


def test_static_range_unroll_limit():
    expect_error(static_range_too_long, "tz.static_range", "at most 4096 iterations", X)


def test_long_operator_chain_is_diagnosed():
    # a + a + ... nests to the left; thousands of operators are refused
    # instead of overflowing the stack later
    source = "def k(x):\n    y = x" + " + x" * 5000 + "\n"
    with pytest.raises(tz.CompilationError) as info:
        tz._terrazzo.Kernel(source, "chain.py", 0, "k", _lookup)
    assert "too deeply nested" in str(info.value)
    assert str(info.value).startswith("chain.py:2:")


def test_long_elif_chain_is_diagnosed():
    source = "def k(x, n):\n    if n > 0:\n        x = 0\n" + "".join(
        f"    elif n > {d}:\n        x = {d}\n" for d in range(1, 3000)) + "    tz.store(x, 1.0)\n"
    with pytest.raises(tz.CompilationError) as info:
        tz._terrazzo.Kernel(source, "elif.py", 0, "k", _lookup)
    assert "too many 'elif' branches" in str(info.value)
