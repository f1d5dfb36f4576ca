"""The linear-attention kernels (lightning, focused, agent) compiled to cubins
for sm_80 and sm_90a at the GPU tile sizes of their host wrappers, with
head dims 128 (no GPU needed: PTX and nvJitLink). On sm_90a (the H100 the
tiles were chosen for) lightning's kernels must not spill; sm_80's mma.sync
path may spill a little in the output pass (~160 bytes measured)."""

import os

import numpy as np
import pytest

import terrazzo as tz

KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "kernels")
ARCHS = ["sm_80", "sm_90a"]
B, H, N, D = 1, 2, 256, 128


def st(a):
    return tuple(s // a.itemsize for s in a.strides)


def compile_kernel(file, name, args, kw, arch, num_warps=4):
    kernel = tz._terrazzo.Kernel.from_file(os.path.join(KERNELS, file), name)
    info = kernel.compile_for_gpu(args, dict(kw, arch=arch, num_warps=num_warps))
    assert info["cubin_bytes"] > 0 and ".entry" in info["ptx"], f"{name}: no cubin for {arch}"
    return info


def spills(info):
    return info["spill_store_bytes"] + info["spill_load_bytes"]


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
def test_lightning(arch, reverse):
    q = np.zeros((B, H, N, D), np.float16)
    states = np.zeros((B * H, N // 64, D, D), np.float16)
    totals = np.zeros((B * H, 2, D, D), np.float32)
    fin = np.zeros((B, H, D, D), np.float32)
    decay = np.zeros(H, np.float32)
    tiles = dict(BLOCK_A=32, BLOCK_B=64, CHUNK=64, HAS_DECAY=True, HAS_INITIAL=True)
    info = compile_kernel("lightning_attention.py", "lightning_chunk_states",
                          (q, q, fin, states, totals, decay) + st(q) * 2 + st(fin) + (H, N, 1.0, 2),
                          dict(tiles, DA=D, DB=D, REVERSE=reverse), arch)
    assert spills(info) == 0, f"states: {info['registers']} registers, {spills(info)} spill bytes"
    compile_kernel("lightning_attention.py", "lightning_segment_scan",
                   (totals, totals, fin, fin, decay) + st(fin) * 2 + (H, N, 2),
                   dict(tiles, DA=D, DB=D, REVERSE=reverse, STORE_FINAL=True), arch)
    info = compile_kernel("lightning_attention.py", "lightning_chunk_output",
                          (q, q, q, states, totals, q, decay) + st(q) * 3 + (D, 1) + st(q) + (H, N, 0.1, 0.1, 2),
                          dict(D_QK=D, D_V=D, BLOCK_K=128, BLOCK_V=64, CHUNK=64, REVERSE=reverse, HAS_DECAY=True),
                          arch)
    assert spills(info) == 0 or arch != "sm_90a", f"output: {info['registers']} registers, {spills(info)} spills"


@pytest.mark.parametrize("arch", ARCHS)
def test_lightning_backward_states(arch):
    q = np.zeros((B, H, N, D), np.float16)
    states = np.zeros((B * H, N // 64, D, D), np.float16)
    totals = np.zeros((B * H, 2, D, D), np.float32)
    st4 = np.zeros((B, H, D, D), np.float32)
    info = compile_kernel("lightning_attention.py", "lightning_backward_states",
                          (q, q, st4, states, totals, q, q, st4, states, totals, np.zeros(H, np.float32))
                          + st(q) * 2 + st(st4) + st(q) * 2 + st(st4) + (H, N, 0.1, 2),
                          dict(DK=D, DV=D, BLOCK_A=32, BLOCK_B=64, CHUNK=64, HAS_DECAY=True, HAS_INITIAL=True,
                               HAS_DFINAL=True), arch)
    assert spills(info) == 0, f"backward states: {info['registers']} registers, {spills(info)} spill bytes"


@pytest.mark.parametrize("arch", ARCHS)
def test_lightning_dqdk(arch):
    q = np.zeros((B, H, N, D), np.float16)
    states = np.zeros((B * H, N // 64, D, D), np.float16)
    entries = np.zeros((B * H, 2, D, D), np.float32)
    info = compile_kernel("lightning_attention.py", "lightning_chunk_dqdk",
                          (q, q, q, q, states, entries, states, entries, q, q, np.zeros(H, np.float32))
                          + st(q) * 6 + (H, N, 0.1, 2),
                          dict(DK=D, DV=D, BLOCK_O=64, BLOCK_V=128, CHUNK=64, HAS_DECAY=True), arch)
    assert spills(info) == 0 or arch != "sm_90a", f"dq/dk: {info['registers']} registers, {spills(info)} spills"


@tz.jit
def elu_plus_one(x):
    return tz.where(x > 0.0, x + 1.0, tz.exp(x))


@tz.jit
def elu_plus_one_grad(x, g):
    return tz.where(x > 0.0, g, g * tz.exp(x))


@pytest.mark.parametrize("arch", ARCHS)
def test_lightning_feature_map(arch):
    q = np.zeros((B, H, N, D), np.float16)
    states = np.zeros((B * H, N // 64, D, D), np.float16)
    entries = np.zeros((B * H, 2, D, D), np.float32)
    decay = np.zeros(H, np.float32)
    compile_kernel("lightning_attention.py", "lightning_chunk_output",
                   (q, q, q, states, entries, q, decay) + st(q) * 3 + (D, 1) + st(q) + (H, N, 0.1, 0.1, 2),
                   dict(D_QK=D, D_V=D, BLOCK_K=128, BLOCK_V=64, CHUNK=64, HAS_DECAY=True,
                        FEATURE_MAP=elu_plus_one), arch)
    compile_kernel("lightning_attention.py", "lightning_chunk_dqdk",
                   (q, q, q, q, states, entries, states, entries, q, q, decay) + st(q) * 6 + (H, N, 0.1, 2),
                   dict(DK=D, DV=D, BLOCK_O=64, BLOCK_V=128, CHUNK=64, HAS_DECAY=True, FEATURE_MAP=elu_plus_one,
                        FEATURE_MAP_GRAD=elu_plus_one_grad), arch)


@pytest.mark.parametrize("arch", ARCHS)
def test_lightning_decode(arch):
    q = np.zeros((B, H, 1, D), np.float16)
    state = np.zeros((B, H, D, D), np.float32)
    s3 = (H * D, D, 1)
    compile_kernel("lightning_attention.py", "lightning_decode",
                   (q, q, q, state, state, q, np.zeros(H, np.float32)) + s3 * 3 + st(state) * 2 + s3 + (H, 0.1),
                   dict(DK=D, DV=D, BLOCK_V=32, HAS_DECAY=True), arch)


@pytest.mark.parametrize("arch", ARCHS)
def test_focused_and_agent(arch):
    q = np.zeros((B, H, N, D), np.float16)
    kv = np.zeros((B * H, D, D), np.float32)
    ks = np.zeros((B * H, D), np.float32)
    kw = dict(DK=D, DV=D, BLOCK_M=32, POWER=3.0)
    f = "focused_linear_attention.py"
    compile_kernel(f, "focused_kv_state", (q, q, kv, ks) + st(q) * 2 + (H, N, 1e-6, 64), dict(kw, BLOCK_V=64), arch, 8)
    compile_kernel(f, "focused_sum_splits", (kv, kv, 2, kv.size, 0.5), dict(BLOCK=1024), arch)
    compile_kernel(f, "focused_output", (q, kv, ks, q) + st(q) * 2 + (H, N, 1e-6), kw, arch, 8)
    compile_kernel(f, "focused_bwd_query", (q, q, kv, ks, q, kv, ks) + st(q) * 3 + (H, N, 1e-6, 64), kw, arch, 8)
    compile_kernel(f, "focused_bwd_kv", (q, q, kv, ks, q, q) + st(q) * 4 + (H, N, 1e-6), kw, arch, 8)
    compile_kernel("agent_attention.py", "agent_grad_sum", (q, q, q) + st(q) * 3 + (H, N, D),
                   dict(BLOCK_N=16, BLOCK_D=64), arch)
