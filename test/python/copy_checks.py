"""What the TMA and warp-specialisation tests share: host buffers for
compile-only checks of the masked matmul, a child interpreter run with a
copy mode switched on in its environment, and the flash-forward check those
children run (both attention layouts, causal and not, a key count no
multiple of the block; float64 reference; each launch passes its tensor
maps, none falls back)."""

import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def masked_matmul_host_buffers():
    """Host arrays standing in for device ones: compile_for_gpu only reads
    their dtypes and alignment (skips the test without numpy or ml_dtypes)."""
    import pytest
    np = pytest.importorskip("numpy")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.zeros((320, 336), dtype=ml_dtypes.bfloat16)
    b = np.zeros((336, 512), dtype=ml_dtypes.bfloat16)
    c = np.zeros((320, 512), dtype=np.float32)
    return a, b, c


def compile_masked_matmul(**options):
    """The masked matmul (128x128x64 tiles, 8 warps, 4 stages) compiled for
    sm_90a with `options`, from host buffers."""
    from matmul_kernels import masked_matmul
    a, b, c = masked_matmul_host_buffers()
    return masked_matmul.compile_for_gpu(a, b, c, 320, 512, 336, BM=128, BN=128, BK=64, num_warps=8,
                                         num_stages=4, arch="sm_90a", **options)


def run_child(env, code_or_args, timeout=900):
    """Runs python with `code_or_args` in test/python, `env` added to the
    environment."""
    return subprocess.run([sys.executable] + code_or_args, env=dict(os.environ, **env), cwd=HERE,
                          capture_output=True, text=True, timeout=timeout)


def run_sm90_check(env, code, needs):
    """Runs `code` in a child with `env` where the GPU is sm_90 (skips the
    test elsewhere: `needs` names the feature); the child must end by
    printing ok."""
    import pytest
    import torch
    if torch.cuda.get_device_capability() != (9, 0):
        pytest.skip(f"{needs} needs sm_90a")
    out = run_child(env, ["-c", code])
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stdout[-6000:] + out.stderr[-6000:]


def run_sm90_gpu_suites(env, needs):
    """The GPU matmul and attention suites, rerun in a child with `env`."""
    import pytest
    import torch
    if torch.cuda.get_device_capability() != (9, 0):
        pytest.skip(f"{needs} needs sm_90a")
    out = run_child(env, ["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "test_gpu_matmul.py",
                          "test_gpu_attention.py"])
    assert out.returncode == 0, out.stdout[-6000:] + out.stderr[-3000:]


FLASH_FORWARD_CHECK = r"""
import math
import terrazzo as tz
import torch
for layout in ("bhsd", "bshd"):
    for causal in (False, True):
        B, H, NQ, NK, D = 2, 3, 384, 1000, 128
        shape_q, shape_k = ((B, H, NQ, D), (B, H, NK, D)) if layout == "bhsd" else ((B, NQ, H, D), (B, NK, H, D))
        q = torch.randn(shape_q, device="cuda", dtype=torch.bfloat16)
        k = torch.randn(shape_k, device="cuda", dtype=torch.bfloat16)
        v = torch.randn(shape_k, device="cuda", dtype=torch.bfloat16)
        qt, kt, vt = (x if layout == "bhsd" else x.transpose(1, 2) for x in (q, k, v))
        before = tz._terrazzo.gpu_cache_stats()
        out = tz.ops.flash_attention(qt, kt, vt, causal=causal)
        torch.cuda.synchronize()
        after = tz._terrazzo.gpu_cache_stats()
        s = qt.double() @ kt.double().transpose(-1, -2) / math.sqrt(D)
        if causal:
            i = torch.arange(NQ, device="cuda")[:, None]
            j = torch.arange(NK, device="cuda")[None, :]
            s = s.masked_fill(j > i + (NK - NQ), float("-inf"))
        ref = torch.softmax(s, dim=-1) @ vt.double()
        err = ((out.double() - ref).abs().max() / ref.abs().max()).item()
        assert err < 2e-2, (layout, causal, err)
        print(layout, causal, "tma launches", after["tma_launches"] - before["tma_launches"],
              "fallbacks", after["tma_fallbacks"] - before["tma_fallbacks"])
        assert after["tma_launches"] > before["tma_launches"], (layout, causal, before, after)
        assert after["tma_fallbacks"] == before["tma_fallbacks"], (layout, causal, before, after)
print("ok")
"""
