"""tz.autotune on the GPU: it times the 9 matmul configurations (those not
pruned before timing) on the real arguments, launches the fastest, stores
the choice on disk, and a second process reuses the stored choice without
timing anything. Skipped without a CUDA GPU."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

CHILD = textwrap.dedent("""
    import json, torch, terrazzo as tz

    CONFIGS = [tz.Config({"BM": bm, "BN": bn, "BK": 32}, num_warps=w)
               for bm, bn, w in [(32, 32, 4), (64, 32, 4), (32, 64, 4), (64, 64, 4),
                                 (64, 64, 8), (128, 64, 4), (64, 128, 4), (128, 128, 8)]]
    # A register-bounded candidate goes through the same launch path.
    CONFIGS.append(tz.Config({"BM": 128, "BN": 128, "BK": 32}, num_warps=8, min_blocks_per_sm=2))

    @tz.autotune(configs=CONFIGS, key=["M", "N", "K"])
    @tz.jit
    def matmul(a, b, c, M, N, K, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr):
        rm = tz.program_id(0) * BM + tz.arange(0, BM)
        rn = tz.program_id(1) * BN + tz.arange(0, BN)
        rk = tz.arange(0, BK)
        acc = tz.zeros((BM, BN), dtype=tz.float32)
        for k in range(0, K, BK):
            x = tz.load(a + rm[:, None] * K + (k + rk)[None, :], mask=(rm[:, None] < M) & ((k + rk)[None, :] < K), other=0.0)
            y = tz.load(b + (k + rk)[:, None] * N + rn[None, :], mask=((k + rk)[:, None] < K) & (rn[None, :] < N), other=0.0)
            acc = tz.dot(x, y, acc)
        tz.store(c + rm[:, None] * N + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))

    M, N, K = 512, 384, 256
    torch.manual_seed(0)
    a = torch.randn(M, K, device="cuda", dtype=torch.float16)
    b = torch.randn(K, N, device="cuda", dtype=torch.float16)
    c = torch.full((M, N), float("nan"), device="cuda")
    matmul[lambda meta: (tz.cdiv(M, meta["BM"]), tz.cdiv(N, meta["BN"]))](a, b, c, M, N, K)
    torch.cuda.synchronize()
    ref = a.double() @ b.double()
    err = ((c.double() - ref).abs().max() / ref.abs().max()).item()
    timings = list(matmul.timings.values())[0] if matmul.timings else {}
    pruned = list(matmul.pruned.values())[0] if matmul.pruned else {}
    print(json.dumps({"source": matmul.last_source, "best": repr(matmul.best_config(a, b, c, M, N, K)),
                      "timed": sum(isinstance(v, float) for v in timings.values()), "pruned": len(pruned),
                      "err": err,
                      "stats": tz._terrazzo.gpu_cache_stats()}))
""")


def run_child(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = dict(os.environ, TZ_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_autotune_times_the_nine_configs_left_after_pruning_and_a_second_process_reuses_the_choice(tmp_path):
    first = run_child(tmp_path)
    assert first["source"] == "timed"
    # Each configuration is either timed or pruned before timing (spills).
    assert first["timed"] + first["pruned"] == 9 and first["timed"] >= 1, first
    assert first["err"] < 1e-3
    second = run_child(tmp_path)
    assert second["source"] == "disk", second
    assert second["best"] == first["best"]
    # Only the chosen configuration was compiled (or loaded) in the second process.
    assert second["stats"]["compiled"] + second["stats"]["disk_hits"] == 1, second
    assert second["err"] < 1e-3
