"""Persistent kernels compiled without a GPU: the persistent=True launch
option reaches the GPU compile (the masked matmul and the flash attention
forward take the launch grid as three more u32 parameters and loop over
tiles by %nctaid.x), keeps what makes them fast (wgmma and pipelined copies
on sm_90a, TMA with tma=True, mma.sync on sm_80), assembles where nvJitLink
is present, and never shares a cached binary with the plain kernel."""

import numpy as np
import pytest

import terrazzo as tz
from copy_checks import compile_masked_matmul, masked_matmul_host_buffers
from matmul_kernels import masked_matmul


def _compile_matmul(arch, **options):
    # compile_masked_matmul's kernel and tiles, for `arch`.
    if arch == "sm_90a":
        return compile_masked_matmul(**options)
    a, b, c = masked_matmul_host_buffers()
    return masked_matmul.compile_for_gpu(a, b, c, 320, 512, 336, BM=128, BN=128, BK=64, num_warps=8,
                                         num_stages=4, arch=arch, **options)


def _u32_params(ptx, name):
    return ptx.count(f".param .u32 {name}_param_")


@pytest.mark.parametrize("tma", [False, True])
def test_persistent_matmul_sm90a(tma):
    plain = _compile_matmul(arch="sm_90a", tma=tma)
    persistent = _compile_matmul(arch="sm_90a", tma=tma, persistent=True)
    ptx = persistent["ptx"]
    # M, N, K, then the grid's three dimensions.
    assert _u32_params(plain["ptx"], "masked_matmul") == 3
    assert _u32_params(ptx, "masked_matmul") == 6
    assert "%nctaid.x" in ptx and "%nctaid.x" not in plain["ptx"]
    assert "tz.persistent_grid = 6 : i32" in persistent["tzgpu"]
    assert "wgmma.mma_async" in ptx
    if tma:
        assert "cp.async.bulk.tensor.2d" in ptx and "mbarrier.try_wait.parity" in ptx
        assert ptx.count(".param .align 64 .b8 masked_matmul_param_") == 2
    else:
        assert "cp.async.cg.shared.global" in ptx
    if persistent["cubin_bytes"]:
        assert persistent["spill_store_bytes"] == 0
        assert persistent["shared_bytes"] == plain["shared_bytes"]


def test_warp_specialize_leaves_persistent_kernels_to_tma():
    # tzgpu-pipeline gives a producer warpgroup only to loops directly in
    # the kernel: in the tile loop the copies stay TMA copies the consumer
    # warps issue, never a producer loop without its own warps (that would
    # wait forever for slots nobody frees).
    plain_ws = _compile_matmul(arch="sm_90a", warp_specialize=True)
    assert "setmaxnreg" in plain_ws["ptx"]
    r = _compile_matmul(arch="sm_90a", warp_specialize=True, persistent=True)
    ptx = r["ptx"]
    assert "tzgpu.warp_specialize" not in r["tzgpu"] and "setmaxnreg" not in ptx
    assert "cp.async.bulk.tensor.2d" in ptx and "%nctaid.x" in ptx and "wgmma.mma_async" in ptx


def test_persistent_matmul_sm80():
    ptx = _compile_matmul(arch="sm_80", persistent=True)["ptx"]
    assert "mma.sync.aligned" in ptx and "%nctaid.x" in ptx and "wgmma" not in ptx


@pytest.mark.parametrize("causal", [False, True])
def test_persistent_flash_forward_sm90a(causal):
    q = np.zeros((1, 2, 1024, 128), np.float16)
    lse = np.zeros((1, 2, 1024), np.float32)
    strides = [2 * 1024 * 128, 1024 * 128, 128, 1]
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    args = (q, q, q, q, lse, None, *strides * 4, 2, 2, 1024, 1000, 0.125)
    options = dict(HEAD_DIM=128, BLOCK_M=128, BLOCK_N=64, STORE_LSE=True, CAUSAL=causal, arch="sm_90a", num_warps=8)
    plain = fwd.compile_for_gpu(args, dict(options))
    persistent = fwd.compile_for_gpu(args, dict(options, persistent=True))
    ptx = persistent["ptx"]
    name = "flash_attention_fwd"
    assert _u32_params(ptx, name) == _u32_params(plain["ptx"], name) + 3
    assert "%nctaid.x" in ptx and "wgmma.mma_async" in ptx
    assert "tz.persistent_grid" in persistent["tzgpu"]
    if persistent["cubin_bytes"]:
        assert persistent["spill_store_bytes"] == 0


def test_plain_and_persistent_never_share_a_binary():
    # prepare_launch compiles what a launch would run, or reads it from the
    # disk cache (no GPU needed), and keeps it by its cache key: a
    # persistent variant sharing the plain one's key would be served from
    # there without a compile or a disk read.
    a, b, c = masked_matmul_host_buffers()
    args = (a, b, c, 320, 512, 336)
    options = dict(BM=64, BN=64, BK=32, num_warps=4, arch="sm_90a")

    def fetched():
        s = tz._terrazzo.gpu_cache_stats()
        return s["compiled"] + s["disk_hits"]
    before = fetched()
    masked_matmul._kernel.prepare_launch(args, dict(options))
    masked_matmul._kernel.prepare_launch(args, dict(options, persistent=True))
    assert fetched() - before == 2
    masked_matmul._kernel.prepare_launch(args, dict(options, persistent=True))
    assert fetched() - before == 2


def test_autotune_prunes_persistent_configs_like_plain_ones():
    configs = [tz.Config({"BM": 128, "BN": 128, "BK": 64}, num_warps=8, num_stages=4, persistent=p)
               for p in (False, True)]
    tuned = tz.autotune(configs=configs, key=["M", "N", "K"])(masked_matmul)
    a, b, c = masked_matmul_host_buffers()
    kept, reasons = tuned.prune_by_resources((a, b, c, 320, 512, 336), arch="sm_90a")
    assert len(kept) == 2 and not any(reasons.values()), reasons
    assert [k.persistent for k in kept] == [False, True]
