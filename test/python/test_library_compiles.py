"""Every kernel of the library compiles for sm_80 (mma.sync, cp.async: no
wgmma, no TMA) and sm_90a (wgmma), and for sm_90a with TMA copies
(tma=True) and with warp specialisation (warp_specialize=True), as the
library launches them: each op is called on host arrays
under tz._terrazzo.ops.compile_library_launches, which compiles every
launch for the target instead of running it (the tile tuner's probe). The
launched kernels must cover every entry kernel of kernels/*.py (found from
their sources), and none may fail to compile (test_tma_compile.py checks
what TMA does to the flash forward). No GPU needed (nvJitLink assembles
when present)."""

import ast
import os

import numpy as np
import pytest

import terrazzo as tz

KERNELS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kernels")


def _entry_kernels():
    """Names of the @tz.jit functions of kernels/*.py that no other function
    of the library calls (the ones the host launches)."""
    defined, called = set(), set()
    for name in os.listdir(KERNELS_DIR):
        if not name.endswith(".py"):
            continue
        tree = ast.parse(open(os.path.join(KERNELS_DIR, name)).read())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and any(
                    (isinstance(d, ast.Attribute) and d.attr == "jit") for d in node.decorator_list):
                defined.add(node.name)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                called.add(node.func.id)
    return defined - called


def _arrays(seed=0):
    rng = np.random.default_rng(seed)

    def t(*shape, dt=np.float16):
        return rng.standard_normal(shape).astype(dt)
    return t


@tz.jit
def _mask_half(b, h, q_idx, kv_idx):
    return kv_idx <= q_idx + 64


def _library_calls():
    t = _arrays()
    B, H, N = 1, 2, 256
    for D in (64, 128):
        q, k, v, do = t(B, H, N, D), t(B, H, N, D), t(B, H, N, D), t(B, H, N, D)
        for causal in (False, True):
            out, lse = tz.ops.flash_attention(q, k, v, causal=causal, return_lse=True)
            tz.ops.flash_attention_backward(q, k, v, out, lse, do, causal=causal)
        out, lse = tz.ops.cosine_sim_attention(q, k, v, causal=True, return_lse=True)
        tz.ops.cosine_sim_attention_backward(q, k, v, out, lse, do, causal=True)
    D = 64
    q, k, v = t(B, H, N, D), t(B, H, N, D), t(B, H, N, D)
    mask = tz.ops.create_block_mask(_mask_half, B, H, N, N, block_size=128)
    out, lse = tz.ops.flash_attention(q, k, v, mask_mod=_mask_half, block_mask=mask, return_lse=True)
    seq_q = np.array([0, 100, 256], np.int32)
    qv, kv_, vv = t(256, H, D), t(256, H, D), t(256, H, D)
    outv, lsev = tz.ops.flash_attention_varlen(qv, kv_, vv, seq_q, seq_q, 156, 156, causal=True, return_lse=True)
    tz.ops.flash_attention_varlen_backward(qv, kv_, vv, outv, lsev, t(256, H, D), seq_q, seq_q, 156, 156, causal=True)
    tz.ops.attention_merge(out.astype(np.float32), lse, out.astype(np.float32), lse)
    ql, kl, vl = t(B, H, N, D), t(B, H, N, D), t(B, H, N, D)
    decay = np.full((H,), 0.05, np.float32)
    tz.ops.lightning_attention(ql, kl, vl, decay=decay)
    tz.ops.lightning_attention_backward(ql, kl, vl, t(B, H, N, D), decay=decay)
    state = np.zeros((B, H, D, D), np.float32)
    tz.ops.lightning_attention_decode(ql[:, :, :1], kl[:, :, :1], vl[:, :, :1], state, decay=decay)
    tz.ops.focused_linear_attention(ql, kl, vl)
    tz.ops.focused_linear_attention_backward(ql, kl, vl, t(B, H, N, D))
    agents = t(B, H, 64, D)
    out_a, saved = tz.ops.agent_attention(q, k, v, agents, return_saved=True)
    tz.ops.agent_attention_backward(q, k, v, agents, saved, t(B, H, N, D))


@pytest.mark.parametrize("arch,tma,ws", [("sm_80", None, None), ("sm_90a", False, False), ("sm_90a", True, False),
                                         ("sm_90a", None, True)],
                         ids=["sm_80", "sm_90a", "sm_90a-tma", "sm_90a-warp-specialize"])
def test_every_library_kernel_compiles(arch, tma, ws):
    kernels = tz._terrazzo.ops.compile_library_launches(arch, tma, _library_calls, ws)
    failed = [(k["kernel_name"], k["compile_error"]) for k in kernels if k["compile_error"]]
    assert not failed, failed
    launched = {k["kernel_name"] for k in kernels}
    entries = _entry_kernels()
    assert len(entries) >= 20, sorted(entries)  # the scan found the library
    missing = entries - launched
    assert not missing, f"library kernels no call compiled: {sorted(missing)}"
