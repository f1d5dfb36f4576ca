"""terrazzo.triton_compat's host API with Triton's semantics: launch keywords
that name parameters, cdiv/next_power_of_2, Config, autotune pruning and
reset_to_zero, heuristics, jit options, warmup, testing.do_bench/perf_report,
and the diagnostics of unsupported names."""

import re

import numpy as np
import pytest

import terrazzo
import terrazzo.triton_compat as triton
import terrazzo.triton_compat.language as tl
from conftest import assert_equal, locate, poisoned


@triton.jit
def takes_num_warps(out_ptr, num_warps, BLOCK: tl.constexpr):
    # A run-time parameter spelled like a launch option: the keyword binds here.
    offs = tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, offs * 0 + num_warps)


def test_keyword_naming_a_parameter_binds_to_it():
    out = poisoned(8, np.int32)
    takes_num_warps[(1,)](out, num_warps=5, BLOCK=8)
    assert_equal(out, np.full(8, 5, np.int32))


def test_cdiv_and_next_power_of_2():
    assert [triton.cdiv(n, 16) for n in (0, 1, 16, 17)] == [0, 1, 1, 2]
    assert [triton.next_power_of_2(n) for n in (0, 1, 2, 3, 64, 65, 1000)] == [1, 1, 2, 4, 64, 128, 1024]


def test_config_takes_tritons_arguments():
    c = triton.Config({"BLOCK": 32}, num_warps=8, num_stages=4, num_ctas=1, maxnreg=128)
    assert (c.kwargs, c.num_warps, c.num_stages, c.maxnreg) == ({"BLOCK": 32}, 8, 4, 128)
    assert c.all_kwargs() == {"BLOCK": 32, "num_warps": 8, "num_stages": 4, "num_ctas": 1}
    with pytest.raises(ValueError, match="num_ctas"):
        triton.Config({}, num_ctas=2)


def _drop_blocks_over_64(configs, named_args, **kwargs):
    return [c for c in configs if c.kwargs["BLOCK"] <= 64]


@triton.autotune(configs=[triton.Config({"BLOCK": 128}), triton.Config({"BLOCK": 32})], key=["n"],
                 prune_configs_by={"early_config_prune": _drop_blocks_over_64}, reset_to_zero=["out_ptr"])
@triton.jit
def write_block(out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, offs * 0 + BLOCK, mask=offs < n)


def test_autotune_prunes_then_runs_the_first_candidate_on_the_interpreter():
    n = 100
    out = poisoned(n, np.int32)
    write_block[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](out, n)
    assert_equal(out, np.full(n, 32, np.int32))
    assert write_block.last_source == "interpreter"


@triton.heuristics({"BLOCK": lambda args: triton.next_power_of_2(args["n"])})
@triton.jit
def fill_heuristic(out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, offs + BLOCK * 1000, mask=offs < n)


def test_heuristics_value_reaches_kernel_and_grid():
    n = 20
    out = poisoned(n, np.int32)
    seen = []
    fill_heuristic[lambda meta: seen.append(meta["BLOCK"]) or (1,)](out, n)
    assert seen == [32]
    assert_equal(out, np.arange(n, dtype=np.int32) + 32000)


def test_jit_accepts_tritons_options():
    def body(x_ptr):
        tl.store(x_ptr, 1.0)
    k = triton.jit(noinline=True, do_not_specialize=["x_ptr"], debug=False)(body)
    assert k.options == {"noinline": True, "do_not_specialize": ["x_ptr"], "debug": False}
    x = np.zeros(1, np.float32)
    k[(1,)](x)
    assert x[0] == 1.0


def test_warmup_reports_the_compiled_kernel():
    x = np.zeros(64, np.float32)
    compiled = takes_num_warps.warmup(x, 3, BLOCK=64, grid=(1,))
    compiled._init_handles()
    assert compiled.n_regs > 0 and compiled.metadata.shared >= 0 and ".entry" in compiled.asm["ptx"]


def test_do_bench_and_perf_report_on_the_host():
    calls = []
    ms = triton.testing.do_bench(lambda: calls.append(1), warmup=1, rep=2)
    assert ms > 0 and len(calls) >= 3
    q = triton.testing.do_bench(lambda: None, warmup=1, rep=1, quantiles=[0.5, 0.2, 0.8])
    assert len(q) == 3 and q[1] <= q[0] <= q[2]

    @triton.testing.perf_report(triton.testing.Benchmark(
        x_names=["n"], x_vals=[1, 2], line_arg="provider", line_vals=["a", "b"], line_names=["A", "B"],
        plot_name="toy", args={"scale": 10}))
    def bench(n, provider, scale):
        return n * scale + (1 if provider == "b" else 0)
    header, rows = bench.run(return_df=True)
    assert header == ["n", "A", "B"] and rows == [[1, 10, 11], [2, 20, 21]]


@triton.jit
def uses_inline_asm(x_ptr, BLOCK: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK))
    y = tl.inline_asm_elementwise("mov.b32 $0, $1;", "=r,r", [x], dtype=tl.float32, is_pure=True, pack=1)
    tl.store(x_ptr + tl.arange(0, BLOCK), y)


def test_unsupported_name_points_at_the_line():
    x = np.zeros(8, np.float32)
    with pytest.raises(terrazzo.CompilationError) as info:
        uses_inline_asm[(1,)](x, BLOCK=8)
    filename, line, col, text = locate(uses_inline_asm, "tl.inline_asm_elementwise")
    message = str(info.value)
    assert f"{filename}:{line}:" in message and "tl.inline_asm_elementwise is not supported by terrazzo" in message
    assert text.rstrip("\n") in message


@triton.jit
def python_min_of_one_tile(x_ptr, BLOCK: tl.constexpr):
    x = tl.load(x_ptr + tl.arange(0, BLOCK))
    tl.store(x_ptr, min(x))


@triton.jit
def python_range_with_step_keyword(x_ptr, n):
    for i in range(0, n, step=2):
        tl.store(x_ptr + i, 1.0)


@triton.jit
def range_hint_not_constant(x_ptr, n):
    for i in tl.range(0, n, num_stages=n):
        tl.store(x_ptr + i, 1.0)


@pytest.mark.parametrize("kernel,args,message", [
    (python_min_of_one_tile, {"BLOCK": 8}, "min() of a single tile: use tz.min(x) to reduce it"),
    (python_range_with_step_keyword, {"n": 4}, "range() got an unexpected keyword argument 'step'"),
    (range_hint_not_constant, {"n": 4}, "the range hint 'num_stages' must be a compile-time value"),
])
def test_misuse_is_a_diagnostic(kernel, args, message):
    x = np.zeros(8, np.float32)
    with pytest.raises(terrazzo.CompilationError, match=re.escape(message)):
        kernel[(1,)](x, **args)


def _estimated_time(n, BLOCK, num_warps, num_stages, **rest):
    return abs(BLOCK - 64)  # pretend 64 is best


@triton.autotune(configs=[triton.Config({"BLOCK": b}) for b in (16, 32, 64, 128)], key=["n"],
                 prune_configs_by={"perf_model": _estimated_time, "top_k": 2})
@triton.jit
def write_block_modelled(out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    tl.store(out_ptr + offs, offs * 0 + BLOCK, mask=offs < n)


def test_autotune_perf_model_keeps_the_best_estimates():
    n = 100
    out = poisoned(n, np.int32)
    write_block_modelled[lambda meta: (triton.cdiv(n, meta["BLOCK"]),)](out, n)
    assert_equal(out, np.full(n, 64, np.int32))  # the interpreter runs the best-estimated survivor
    kept = write_block_modelled._candidates((out, n), {})
    assert [c.kwargs["BLOCK"] for c in kept] == [64, 32]


@triton.jit
def tuple_builder(x_ptr, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    pair = tl.tuple([tl.load(x_ptr + offs), 2.0])
    tl.store(x_ptr + offs, pair[0] * pair[1])


def test_tl_tuple_in_a_kernel():
    x = np.arange(8, dtype=np.float32)
    tuple_builder[(1,)](x, BLOCK=8)
    assert_equal(x, np.arange(8, dtype=np.float64) * 2)


def test_kernel_run_with_grid_keyword_as_triton():
    out = poisoned(8, np.int32)
    takes_num_warps.run(out, 7, grid=(1,), warmup=False, BLOCK=8)
    assert_equal(out, np.full(8, 7, np.int32))
    compiled = takes_num_warps.run(out, 7, grid=(1,), warmup=True, BLOCK=8)
    assert compiled.n_regs > 0
    fill = poisoned(20, np.int32)
    fill_heuristic.run(fill, 20, grid=(1,))
    assert_equal(fill, np.arange(20, dtype=np.int32) + 32000)


@triton.jit
def annotated(x_ptr: tl.pointer_type(tl.float32), n: tl.int32, out: tl.tensor, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    tl.store(out + offs, tl.load(x_ptr + offs) * n)


def test_triton_type_annotations_are_accepted():
    x = np.arange(8, dtype=np.float32)
    out = poisoned(8)
    annotated[(1,)](x, 3, out, BLOCK=8)
    assert_equal(out, np.arange(8, dtype=np.float64) * 3)
