"""tz.autotune's and the library tile tuner's pruning by resources, without
a GPU: every candidate is compiled for sm_90a (PTX, then a cubin through
nvJitLink, whose assembler statistics give registers and spills) and the
rules of terrazzo/ResourcePruning.h decide which may be timed. The GPU path
runs the same code with the device's own limit (test_gpu_autotune_prune.py
checks there that pruned configurations are never launched)."""

import re

import numpy as np
import pytest

import terrazzo as tz
import terrazzo.triton_compat as triton
from terrazzo import _terrazzo
from prune_kernels import sin_transpose




N = 512
ARGS = (np.zeros((N, N), np.float32), np.zeros((N, N), np.float32), N, 5)

FITS = tz.Config({"BLOCK": 32}, num_warps=4)            # 4 KB of shared memory, no spills
MEDIUM = tz.Config({"BLOCK": 64}, num_warps=4)          # 16 KB
SPILLS = tz.Config({"BLOCK": 128}, num_warps=8)         # 64 KB, 64 values per thread: spills
TOO_BIG = tz.Config({"BLOCK": 256}, num_warps=8)        # 256 KB > 227 KB: does not compile
TOO_MANY_PER_THREAD = tz.Config({"BLOCK": 512}, num_warps=16)  # 1024 elements per thread: refused


def tuner(configs):
    return tz.autotune(configs=configs, key=["n"])(sin_transpose)


def report(config):
    return sin_transpose.compile_for_gpu(*ARGS, **config.kwargs, **config.launch_options(), arch="sm_90a")


def test_a_config_over_the_shared_memory_limit_is_pruned_and_one_that_fits_is_kept():
    kept, pruned = tuner([TOO_BIG, FITS]).prune_by_resources(ARGS, arch="sm_90a")
    assert kept == [FITS]
    assert list(pruned) == [repr(TOO_BIG)]
    why = pruned[repr(TOO_BIG)]
    # 256 * 256 floats of transpose scratch against sm_90a's 227 KB.
    assert why.startswith("shared memory:"), why
    assert "'sin_transpose' needs 262144 bytes" in why and "at most 232448" in why, why


def test_the_device_limit_prunes_what_the_target_limit_allows():
    medium = report(MEDIUM)["shared_bytes"]
    fits = report(FITS)["shared_bytes"]
    assert fits < medium
    limit = (fits + medium) // 2
    kept, pruned = tuner([MEDIUM, FITS]).prune_by_resources(ARGS, arch="sm_90a", shared_limit=limit)
    assert kept == [FITS]
    assert pruned == {repr(MEDIUM): f"shared memory: 'sin_transpose' needs {medium} bytes, "
                                    f"the device allows at most {limit} per block"}


def test_a_spilling_config_loses_to_one_that_does_not_spill():
    spilling, clean = report(SPILLS), report(FITS)
    if spilling["registers"] < 0:
        pytest.skip("no assembler statistics (nvJitLink missing)")
    assert spilling["spill_store_bytes"] + spilling["spill_load_bytes"] > 0, spilling
    assert clean["spill_store_bytes"] + clean["spill_load_bytes"] == 0, clean
    kept, pruned = tuner([SPILLS, FITS]).prune_by_resources(ARGS, arch="sm_90a")
    assert kept == [FITS]
    why = pruned[repr(SPILLS)]
    assert why.startswith("spills:") and "while another candidate spills none" in why, why
    assert f"stores {spilling['spill_store_bytes']} and loads {spilling['spill_load_bytes']}" in why
    # Alone, a spilling config is timed: there is nothing better to run.
    kept, pruned = tuner([SPILLS]).prune_by_resources(ARGS, arch="sm_90a")
    assert kept == [SPILLS] and pruned == {}
    # A register bound asks to spill for more warps per multiprocessor: kept.
    bounded = tz.Config({"BLOCK": 128}, num_warps=8, min_blocks_per_sm=1)
    kept, pruned = tuner([bounded, FITS]).prune_by_resources(ARGS, arch="sm_90a")
    assert kept == [bounded, FITS] and pruned == {}


def test_when_every_config_is_pruned_the_error_names_each_one_and_why():
    with pytest.raises(tz.AutotuneError) as info:
        tuner([TOO_BIG, TOO_MANY_PER_THREAD]).prune_by_resources(ARGS, arch="sm_90a")
    message = str(info.value)
    assert message.startswith("autotune of sin_transpose: every configuration was pruned before timing:")
    lines = message.splitlines()[1:]
    assert len(lines) == 2, message
    assert lines[0].startswith(f"  {TOO_BIG!r}: shared memory: 'sin_transpose' needs 262144 bytes")
    assert lines[1].startswith(f"  {TOO_MANY_PER_THREAD!r}: does not compile:")
    assert "per thread" in lines[1], lines[1]


def test_the_prepared_compilation_is_reused():
    before = _terrazzo.gpu_cache_stats()
    first = sin_transpose._kernel.prepare_launch(ARGS, dict(BLOCK=32, num_warps=2, num_stages=2, arch="sm_90a"))
    middle = _terrazzo.gpu_cache_stats()
    again = sin_transpose._kernel.prepare_launch(ARGS, dict(BLOCK=32, num_warps=2, num_stages=2, arch="sm_90a"))
    after = _terrazzo.gpu_cache_stats()
    # The first call compiled (or found the disk cache's copy); the second
    # found the binary it kept and neither compiled nor read the disk.
    assert (middle["compiled"] - before["compiled"]) + (middle["disk_hits"] - before["disk_hits"]) == 1
    assert after == middle
    assert first == again
    assert first["kernel_name"] == "sin_transpose" and first["arch"] == "sm_90a"
    assert first["num_warps"] == 2 and first["shared_bytes"] > 0


def kernel_report(**fields):
    return dict({"kernel_name": "k", "num_warps": 4, "min_blocks_per_sm": 0, "registers": 32,
                 "spill_store_bytes": 0, "spill_load_bytes": 0, "shared_bytes": 0}, **fields)


def test_register_rules():
    reasons = _terrazzo.resource_prune_reasons([
        [kernel_report(registers=40)],
        [kernel_report(registers=300)],
        # 200 registers = 6400 per warp; 16 warps need 102400 of the 65536.
        [kernel_report(registers=200, num_warps=16)],
        # 128 registers on 16 warps fill the 65536 exactly.
        [kernel_report(registers=128, num_warps=16)],
        # 121 rounds up to 128 per thread (registers go to warps by 256).
        [kernel_report(registers=121, num_warps=16)],
    ], 0)
    assert reasons[0] == "" and reasons[3] == ""
    assert reasons[1] == "registers: 'k' uses 300 per thread, at most 255"
    assert reasons[2] == "registers: 'k' uses 200 per thread, 102400 for a block of 16 warps; a multiprocessor has 65536"
    assert reasons[4] == ""


def test_spill_rules_over_candidates_of_several_kernels():
    clean = [kernel_report(), kernel_report(kernel_name="k2")]
    one_spills = [kernel_report(), kernel_report(kernel_name="k2", spill_store_bytes=8, spill_load_bytes=4)]
    unknown = [kernel_report(registers=-1)]
    # A candidate spills when any of its kernels does; unknown statistics
    # neither count as clean nor get pruned.
    assert _terrazzo.resource_prune_reasons([one_spills, clean, unknown], 0) == [
        "spills: 'k2' stores 8 and loads 4 bytes of spilled registers (32 registers per thread), "
        "while another candidate spills none", "", ""]
    assert _terrazzo.resource_prune_reasons([one_spills, unknown], 0) == ["", ""]
    # A candidate that cannot run does not make the spilling one lose.
    broken = [kernel_report(compile_error="x.py:1:1: error: something\n  source")]
    assert _terrazzo.resource_prune_reasons([one_spills, broken], 0) == [
        "", "does not compile: x.py:1:1: error: something"]


@triton.autotune(configs=[triton.Config({"BLOCK": 256}, num_warps=8), triton.Config({"BLOCK": 32}, num_warps=4)],
                 key=["n"])
@triton.heuristics({"ITERS_IS_ODD": lambda args: args["iters"] % 2 == 1})
@triton.jit
def scaled_transpose(x, y, n, iters, BLOCK: tz.constexpr, ITERS_IS_ODD: tz.constexpr):
    rows = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    cols = tz.program_id(1) * BLOCK + tz.arange(0, BLOCK)
    t = tz.load(x + rows[:, None] * n + cols[None, :])
    if ITERS_IS_ODD:
        t = -t
    tz.store(y + cols[:, None] * n + rows[None, :], tz.trans(t))


def test_triton_autotune_over_heuristics_prunes_with_the_heuristic_values():
    kept, pruned = scaled_transpose.prune_by_resources(ARGS, arch="sm_90a")
    assert [c.kwargs for c in kept] == [{"BLOCK": 32}]
    (why,) = pruned.values()
    assert "'scaled_transpose' needs 262144 bytes" in why


def test_autotune_on_the_interpreter_still_runs_the_first_config_without_compiling(rng):
    x = rng.standard_normal((64, 64)).astype(np.float32)
    y = np.full_like(x, np.nan)
    t = tuner([tz.Config({"BLOCK": 32}, num_warps=4), TOO_BIG])
    before = _terrazzo.gpu_cache_stats()
    t[(2, 2)](x, y, 64, 2)
    assert _terrazzo.gpu_cache_stats() == before
    ref = np.zeros((64, 64))
    xd = x.astype(np.float64)
    for i in range(2):
        ref = ref * 0.5 + np.sin(xd * (i + 1))
    np.testing.assert_allclose(y, ref.T, rtol=1e-5, atol=1e-5)


def flash_inputs(rng, queries=128, head_dim=32):
    q, k, v = (rng.standard_normal((1, 1, queries, head_dim)).astype(np.float16) for _ in range(3))
    return q, k, v


def test_library_tile_tuner_prunes_its_candidates_by_shared_memory(rng, monkeypatch):
    # The interpreter call compiles every GPU forward candidate for sm_90a.
    # With a one-byte "device" limit every candidate is pruned: the error
    # names the kernel, each candidate and its shared bytes.
    monkeypatch.setenv("TZ_LIBRARY_TUNING_PROBE_ARCH", "sm_90a")
    monkeypatch.setenv("TZ_LIBRARY_TUNING_SHARED_LIMIT", "1")
    q, k, v = flash_inputs(rng)
    with pytest.raises(RuntimeError) as info:
        tz.ops.flash_attention(q, k, v)
    message = str(info.value)
    assert message.startswith("tile tuning of flash_attention_fwd: every candidate was pruned before timing:")
    needs = {}
    for line in message.splitlines()[1:]:
        m = re.fullmatch(r"  (.+): shared memory: 'flash_attention_fwd' needs (\d+) bytes, "
                         r"the device allows at most 1 per block", line)
        assert m, line
        needs[m.group(1)] = int(m.group(2))
    assert len(needs) >= 3, message
    # A limit between the candidates' needs keeps exactly those that fit,
    # and the call then runs (on the interpreter) and is right.
    sizes = sorted(set(needs.values()))
    assert len(sizes) >= 2, needs
    limit = sizes[-1] - 1
    monkeypatch.setenv("TZ_LIBRARY_TUNING_SHARED_LIMIT", str(limit))
    out = tz.ops.flash_attention(q, k, v)
    stats = tz._terrazzo.ops.library_tuning_stats()["pruned"]
    (pruned,) = [p for key, p in stats.items() if key.endswith("|sm_90a") and "flash_attention_fwd|d=32" in key]
    assert set(pruned) == {tiles for tiles, b in needs.items() if b > limit}
    for tiles, why in pruned.items():
        assert why == (f"shared memory: 'flash_attention_fwd' needs {needs[tiles]} bytes, "
                       f"the device allows at most {limit} per block")
    qd, kd, vd = (a.astype(np.float64)[0, 0] for a in (q, k, v))
    s = qd @ kd.T / np.sqrt(qd.shape[-1])
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    ref = (p / p.sum(axis=-1, keepdims=True)) @ vd
    np.testing.assert_allclose(np.asarray(out)[0, 0].astype(np.float64), ref, rtol=1e-2, atol=2e-3)


def test_library_tile_tuner_probes_the_backwards_kernels_and_prunes_its_stages(rng, monkeypatch):
    # The backward's candidates (64x64 blocks over stages and register
    # bounds) each run two kernels; a 3-stage pipeline needs more shared
    # memory than the 2-stage ones and is the one a tighter device drops.
    q, k, v = flash_inputs(rng)
    out, lse = tz.ops.flash_attention(q, k, v, return_lse=True)
    dout = rng.standard_normal(q.shape).astype(np.float16)
    monkeypatch.setenv("TZ_LIBRARY_TUNING_PROBE_ARCH", "sm_90a")
    monkeypatch.setenv("TZ_LIBRARY_TUNING_SHARED_LIMIT", "1")
    with pytest.raises(RuntimeError) as info:
        tz.ops.flash_attention_backward(q, k, v, out, lse, dout)
    needs = {}
    for line in str(info.value).splitlines()[1:]:
        m = re.fullmatch(r"  (.+): shared memory: 'flash_attention_bwd_dkdv' needs (\d+) bytes, "
                         r"the device allows at most 1 per block", line)
        assert m, line
        needs[m.group(1)] = int(m.group(2))
    three_stages = [tiles for tiles in needs if "3 stages" in tiles]
    assert len(needs) >= 3 and len(three_stages) == 1, needs
    assert needs[three_stages[0]] == max(needs.values()) > min(needs.values())
    limit = max(needs.values()) - 1
    monkeypatch.setenv("TZ_LIBRARY_TUNING_SHARED_LIMIT", str(limit))
    dq, dk, dv = tz.ops.flash_attention_backward(q, k, v, out, lse, dout)
    stats = tz._terrazzo.ops.library_tuning_stats()["pruned"]
    (pruned,) = [p for key, p in stats.items() if key.endswith("|sm_90a") and "flash_attention_bwd|d=32" in key]
    assert pruned == {three_stages[0]: f"shared memory: 'flash_attention_bwd_dkdv' needs {needs[three_stages[0]]} "
                                       f"bytes, the device allows at most {limit} per block"}
    # The gradients (run on the interpreter) from the definition, in float64.
    qd, kd, vd, dod = (a.astype(np.float64)[0, 0] for a in (q, k, v, dout))
    scale = 1 / np.sqrt(qd.shape[-1])
    s = qd @ kd.T * scale
    p = np.exp(s - s.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    dp = dod @ vd.T
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    for got, ref in ((dq, ds @ kd * scale), (dk, ds.T @ qd * scale), (dv, p.T @ dod)):
        got = np.asarray(got)[0, 0].astype(np.float64)
        np.testing.assert_allclose(got, ref, rtol=2e-2, atol=2e-2 * np.abs(ref).max())
