"""Pruning before timing, on the GPU (skipped without one): tz.autotune and
the library's tile tuner compile every candidate for the device, never
launch the pruned ones, time the rest without compiling them again, and
the winner computes the right result (float64 reference, NaN-poisoned
outputs). Each check runs in a child process with an empty kernel cache, so
what it compiles is what this run compiled."""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

AUTOTUNE_CHILD = textwrap.dedent("""
    import json, math, torch, terrazzo as tz
    import prune_kernels

    launches = {}

    def counting(name):
        def hook(named):
            launches[name] = launches.get(name, 0) + 1
        return hook

    CONFIGS = [
        tz.Config({"BLOCK": 256}, num_warps=8, pre_hook=counting("too_big")),  # 256 KB of shared memory
        tz.Config({"BLOCK": 128}, num_warps=8, pre_hook=counting("spills")),   # 64 values per thread
        tz.Config({"BLOCK": 32}, num_warps=4, pre_hook=counting("fits32")),
        tz.Config({"BLOCK": 64}, num_warps=4, pre_hook=counting("fits64")),
    ]

    sin_transpose = tz.autotune(configs=CONFIGS, key=["n"])(prune_kernels.sin_transpose)

    n, iters = 1024, 5
    torch.manual_seed(1)
    x = torch.randn(n, n, device="cuda")
    y = torch.full((n, n), float("nan"), device="cuda")
    before = tz._terrazzo.gpu_cache_stats()
    sin_transpose[lambda meta: (n // meta["BLOCK"], n // meta["BLOCK"])](x, y, n, iters)
    torch.cuda.synchronize()
    after = tz._terrazzo.gpu_cache_stats()
    ref = torch.zeros(n, n, dtype=torch.float64, device="cuda")
    for i in range(iters):
        ref = ref * 0.5 + torch.sin(x.double() * (i + 1))
    err = (y.double() - ref.T).abs().max().item()
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    (pruned,) = sin_transpose.pruned.values()
    (timings,) = sin_transpose.timings.values()
    print(json.dumps({
        "source": sin_transpose.last_source,
        "pruned": pruned, "timings": timings, "launches": launches, "err": err,
        "best": repr(sin_transpose.best_config(x, y, n, iters)),
        "compiled": after["compiled"] - before["compiled"], "disk_hits": after["disk_hits"] - before["disk_hits"],
        "shared_limit": tz._terrazzo.gpu_shared_memory_limit(),
        "torch_shared_limit": getattr(props, "shared_memory_per_block_optin", None)}))
""")

LIBRARY_CHILD = textwrap.dedent("""
    import json, torch, terrazzo as tz

    torch.manual_seed(2)
    B, H, N, D = 2, 4, 1024, 64
    q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.float16) for _ in range(3))
    # Warm up torch's own kernels so the counters below are ours.
    qd, kd, vd = q.double(), k.double(), v.double()
    s = qd @ kd.transpose(-1, -2) / D ** 0.5
    ref = torch.softmax(s, dim=-1) @ vd
    out = torch.full_like(q, float("nan"))  # poisoned: every element must be written
    before = tz._terrazzo.gpu_cache_stats()
    tz._terrazzo.ops.flash_attention_forward(q, k, v, out=out)
    torch.cuda.synchronize()
    after = tz._terrazzo.gpu_cache_stats()
    stats = tz._terrazzo.ops.library_tuning_stats()
    err = ((out.double() - ref).abs().max() / ref.abs().max()).item()
    print(json.dumps({"pruned": stats["pruned"], "choices": stats["choices"], "err": err,
                      "compiled": after["compiled"] - before["compiled"],
                      "disk_hits": after["disk_hits"] - before["disk_hits"]}))
""")


def run_child(tmp_path, source, **env):
    script = tmp_path / "child.py"
    script.write_text(source)
    # The child imports the tuned kernel from this folder (prune_kernels.py).
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH", "")) if p)
    full_env = dict(os.environ, TZ_CACHE_DIR=str(tmp_path / "cache"), PYTHONPATH=path, **env)
    r = subprocess.run([sys.executable, str(script)], env=full_env, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1]), r.stderr


def test_autotune_never_launches_pruned_configs_and_the_winner_is_right(tmp_path):
    result, _ = run_child(tmp_path, AUTOTUNE_CHILD)
    pruned, launches = result["pruned"], result["launches"]
    too_big = [c for c in pruned if "BLOCK=256" in c]
    spills = [c for c in pruned if "BLOCK=128" in c]
    assert len(too_big) == 1 and pruned[too_big[0]].startswith("shared memory:"), pruned
    assert len(spills) == 1 and pruned[spills[0]].startswith("spills:"), pruned
    # Pruned: never launched, not timed. Kept: launched (timed, then run).
    assert "too_big" not in launches and "spills" not in launches, launches
    assert launches.get("fits32", 0) > 0 and launches.get("fits64", 0) > 0, launches
    assert len(result["timings"]) == 2, result["timings"]
    assert all("BLOCK=32" in c or "BLOCK=64" in c for c in result["timings"]), result["timings"]
    assert all(isinstance(ms, float) for ms in result["timings"].values()), result["timings"]
    assert "BLOCK=32" in result["best"] or "BLOCK=64" in result["best"]
    # Compiled once each while pruning (the 256 one fails), never again for timing.
    assert result["compiled"] == 3 and result["disk_hits"] == 0, result
    assert result["err"] < 1e-4, result
    if result["torch_shared_limit"] is not None:
        assert result["shared_limit"] == result["torch_shared_limit"]
    assert result["shared_limit"] >= 48 * 1024
    # A second process takes the stored choice (and its pruning record)
    # from disk: nothing compiled, pruned or timed; only the choice runs.
    again, _ = run_child(tmp_path, AUTOTUNE_CHILD)
    assert again["source"] == "disk" and again["best"] == result["best"], again
    assert again["pruned"] == pruned
    assert again["compiled"] == 0 and again["disk_hits"] == 1, again
    assert sum(again["launches"].values()) == 1, again["launches"]
    assert again["err"] < 1e-4, again


def test_library_tuner_prunes_before_timing_and_the_choice_is_right(tmp_path):
    result, log = run_child(tmp_path, LIBRARY_CHILD, TZ_LIBRARY_TUNING_LOG="1")
    (key,) = [k for k in result["choices"] if "flash_attention_fwd" in k]
    pruned = result["pruned"][key]
    lines = [line for line in log.splitlines() if line.startswith(f"terrazzo tuning {key}: ")]
    timed = [line for line in lines if line.endswith(" ms") or line.endswith("could not run")]
    pruned_lines = [line for line in lines if ": pruned: " in line]
    # Every candidate is either pruned or timed, never both.
    assert len(pruned_lines) == len(pruned)
    for tiles in pruned:
        assert not any(line.startswith(f"terrazzo tuning {key}: {tiles}: ") for line in timed), tiles
    assert result["choices"][key] not in pruned
    # Each candidate's kernel compiled once, while pruning.
    assert result["compiled"] == len(timed) + len(pruned) - sum(
        why.startswith("does not compile") or "a block may use at most" in why for why in pruned.values()), result
    assert result["disk_hits"] == 0
    assert result["err"] < 1e-2, result


def test_library_tuner_prunes_by_the_device_limit_and_never_launches_those(tmp_path):
    # With a pretend device limit of one byte every candidate is pruned: the
    # call fails naming each candidate and the bytes it needs.
    script = tmp_path / "child.py"
    script.write_text(LIBRARY_CHILD)
    env = dict(os.environ, TZ_CACHE_DIR=str(tmp_path / "cache"), TZ_LIBRARY_TUNING_SHARED_LIMIT="1")
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=900)
    assert r.returncode != 0
    needs = {m.group(1): int(m.group(2)) for m in re.finditer(
        r"\n  (.+): shared memory: 'flash_attention_fwd' needs (\d+) bytes, the device allows at most 1 per block",
        r.stderr)}
    assert len(needs) >= 3, r.stderr
    assert "tile tuning of flash_attention_fwd: every candidate was pruned before timing:" in r.stderr
    # A limit just under the largest need: those are pruned, never timed,
    # and the result is still right.
    limit = max(needs.values()) - 1
    result, log = run_child(tmp_path, LIBRARY_CHILD, TZ_LIBRARY_TUNING_LOG="1",
                            TZ_LIBRARY_TUNING_SHARED_LIMIT=str(limit))
    (key,) = [k for k in result["choices"] if "flash_attention_fwd" in k]
    pruned = result["pruned"][key]
    too_big = {tiles for tiles, b in needs.items() if b > limit}
    assert too_big <= set(pruned), (too_big, pruned)
    for tiles in too_big:
        assert pruned[tiles] == (f"shared memory: 'flash_attention_fwd' needs {needs[tiles]} bytes, "
                                 f"the device allows at most {limit} per block")
    for tiles in pruned:
        assert not any(line.startswith(f"terrazzo tuning {key}: {tiles}: ") and line.endswith(" ms")
                       for line in log.splitlines()), tiles
    assert result["choices"][key] not in pruned
    assert result["err"] < 1e-2, result
