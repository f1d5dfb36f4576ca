"""The kernel library's tile autotuner on the GPU: the first flash-attention
(and cosine-sim) forward, and the first flash-attention backward, of a
(head dim, dtype, causal, device) times the candidate tiles and stores the
fastest; a second process loads the choice
without timing; a damaged entry is tuned again; TZ_LIBRARY_AUTOTUNE=0 turns
it off. Every run's output is checked against float64 math. Skipped
without a CUDA GPU."""

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
    import json, math, sys, torch, terrazzo as tz
    from terrazzo import _terrazzo
    torch.manual_seed(0)
    q, k, v = (torch.randn(1, 2, 200, 64, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    out = torch.full_like(q, float("nan"))  # poisoned: every element must be written
    _terrazzo.ops.flash_attention_forward(q, k, v, True, None, None, None, None, False, out=out, lse_out=None)
    s = (q.double() @ k.double().transpose(-1, -2)) / math.sqrt(64)
    keep = torch.ones(200, 200, device="cuda", dtype=torch.bool).tril()
    ref = torch.softmax(s.masked_fill(~keep, float("-inf")), -1) @ v.double()
    err = ((out.double() - ref).abs().max() / ref.abs().max()).item()
    cos = tz.ops.cosine_sim_attention(q, k, v)
    # The backward: the tuner runs dK/dV and dQ once per candidate; the
    # gradients it leaves must still be right.
    qg, kg, vg = (t.detach().clone().requires_grad_() for t in (q, k, v))
    dout = torch.randn_like(q)
    tz.ops.flash_attention(qg, kg, vg, causal=True).backward(dout)
    qd, kd, vd = (t.detach().double().requires_grad_() for t in (q, k, v))
    sd = (qd @ kd.transpose(-1, -2)) / math.sqrt(64)
    (torch.softmax(sd.masked_fill(~keep, float("-inf")), -1) @ vd).backward(dout.double())
    grad_err = max(((a.grad.double() - b.grad).norm() / b.grad.norm()).item() for a, b in ((qg, qd), (kg, kd), (vg, vd)))
    stats = _terrazzo.ops.library_tuning_stats()
    if "damage" in sys.argv:  # replace each stored choice by a well-formed entry with a bad payload
        for key in stats["choices"]:
            _terrazzo.disk_cache_put(key, b"not tiles")
    print(json.dumps(dict(stats, err=err, grad_err=grad_err, cos_finite=bool(torch.isfinite(cos).all()))))
""")


def run_child(cache, *args, **env):
    e = dict(os.environ, TZ_CACHE_DIR=str(cache), **env)
    r = subprocess.run([sys.executable, "-c", CHILD, *args], env=e, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_tiles_are_tuned_once_then_loaded(tmp_path):
    first = run_child(tmp_path)
    assert first["err"] < 2e-2 and first["grad_err"] < 2e-2 and first["cos_finite"]
    assert first["timed"] == 4 and first["loaded"] == 0, first
    keys = sorted(first["choices"])
    assert any("flash_attention_fwd|d=64|bfloat16|causal|q<=256" in key for key in keys), keys
    # Four choices: the forward, the forward that also stores the
    # log-sum-exp (autograd's, a variant of its own), the backward, and
    # the cosine-sim forward.
    assert any("flash_attention_fwd|d=64|bfloat16|causal|q<=256|lse," in key for key in keys), keys
    assert any("flash_attention_bwd|d=64|bfloat16|causal|q<=256" in key for key in keys), keys
    assert any("cosine_sim_attention_fwd|d=64|bfloat16|full" in key for key in keys), keys

    second = run_child(tmp_path)
    assert second["timed"] == 0 and second["loaded"] == 4, second
    assert second["choices"] == first["choices"]
    assert second["err"] < 2e-2 and second["grad_err"] < 2e-2


def test_a_damaged_choice_is_tuned_again(tmp_path):
    run_child(tmp_path)
    damaged = run_child(tmp_path, "damage")
    assert damaged["loaded"] == 4
    again = run_child(tmp_path)
    assert again["timed"] == 4 and again["loaded"] == 0, again
    assert again["err"] < 2e-2


def test_autotune_can_be_turned_off(tmp_path):
    off = run_child(tmp_path, TZ_LIBRARY_AUTOTUNE="0")
    assert off["timed"] == 0 and off["loaded"] == 0 and off["choices"] == {}
    assert off["err"] < 2e-2 and off["grad_err"] < 2e-2
