"""TMA copies chosen by the compiler, checked without a GPU: the `tma`
launch option reaches the sm_90a compile (tma=True: the masked matmul's
tiles are copied with cp.async.bulk.tensor completing on mbarriers, and the
kernel takes one 128-byte tensor map per load; tma=False: cp.async), the
code assembles (nvJitLink, when present), a bad value is a TypeError naming
the option, and kernels TMA cannot describe exactly keep cp.async."""


import pytest

import terrazzo as tz
from copy_checks import compile_masked_matmul, masked_matmul_host_buffers
from matmul_kernels import masked_matmul


def test_tma_true_copies_with_tensor_maps_and_mbarriers():
    r = compile_masked_matmul(tma=True)
    ptx = r["ptx"]
    assert ptx.count("cp.async.bulk.tensor.2d.shared::cta.global.tile.mbarrier::complete_tx::bytes") >= 4
    assert "mbarrier.try_wait.parity.shared.b64" in ptx
    assert "mbarrier.arrive.expect_tx.shared.b64" in ptx
    assert ptx.count(".param .align 64 .b8 masked_matmul_param_") == 2
    assert "cp.async.cg" not in ptx
    assert "tzgpu.tensormap" in r["tzgpu"] and "tzgpu.wait_barrier" in r["tzgpu"]
    if r["cubin_bytes"]:
        assert r["spill_store_bytes"] == 0


def test_tma_false_keeps_cp_async():
    ptx = compile_masked_matmul(tma=False)["ptx"]
    assert "cp.async.bulk.tensor" not in ptx
    assert "cp.async.cg.shared.global" in ptx


def test_rows_wrapped_modulo_m_keep_cp_async_beside_tma():
    # A's wrapped rows are no box: A stays cp.async, B is a TMA copy, in the
    # same loop (one tensor map parameter).
    a, b, c = masked_matmul_host_buffers()
    ptx = masked_matmul.compile_for_gpu(a, b, c, 320, 512, 336, BM=128, BN=128, BK=64, WRAP=True, num_warps=8,
                                        num_stages=4, arch="sm_90a", tma=True)["ptx"]
    assert "cp.async.cg.shared.global" in ptx and "cp.async.bulk.tensor.2d" in ptx
    assert ptx.count(".param .align 64 .b8 masked_matmul_param_") == 1


def test_tma_option_must_be_a_bool():
    with pytest.raises(TypeError, match="tma"):
        compile_masked_matmul(tma=1)


def test_flash_forward_copies_keys_and_values_with_tma():
    # K and V of both key loops (unmasked, then the masked last blocks) are
    # 4-D tensor maps (head dim, keys, batch, head: the batch and head
    # offsets are dimensions of the map); q stays the one cp.async copy
    # before the loops. On sm_80 the option changes nothing.
    np = pytest.importorskip("numpy")
    q = np.zeros((1, 2, 1024, 128), np.float16)
    lse = np.zeros((1, 2, 1024), np.float32)
    strides = [2 * 1024 * 128, 1024 * 128, 128, 1]
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    args = (q, q, q, q, lse, None, *strides * 4, 2, 2, 1024, 1000, 0.125)
    for causal in (False, True):
        info = fwd.compile_for_gpu(args, dict(HEAD_DIM=128, BLOCK_M=128, BLOCK_N=64, STORE_LSE=True, CAUSAL=causal,
                                              arch="sm_90a", num_warps=8, tma=True))
        tzgpu, ptx = info["tzgpu"], info["ptx"]
        assert tzgpu.count(": !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<") == 4
        assert tzgpu.count("tzgpu.wait_barrier") == 2
        assert tzgpu.count("tzgpu.async_copy") == 1  # q
        assert "cp.async.bulk.tensor.4d.shared::cta.global.tile.mbarrier::complete_tx::bytes" in ptx
        assert "C7509" not in info["assembler_log"], info["assembler_log"]
    info = fwd.compile_for_gpu(args, dict(HEAD_DIM=128, BLOCK_M=128, BLOCK_N=64, STORE_LSE=True, arch="sm_80",
                                          num_warps=8, tma=True))
    assert "tzgpu.tensormap" not in info["tzgpu"] and "cp.async.bulk" not in info["ptx"]


def test_autotune_configs_carry_the_tma_option():
    # A config's tma reaches its launch options (left out when not given,
    # so stored choices of older configs keep their identity), and the
    # pruning compiles both variants for sm_90a.
    assert "tma" not in tz.Config({"BM": 128}).launch_options()
    assert tz.Config({"BM": 128}, tma=True).launch_options()["tma"] is True
    with pytest.raises(TypeError, match="tma"):
        tz.Config({"BM": 128}, tma=1)
    configs = [tz.Config({"BM": 128, "BN": 128, "BK": 64}, num_warps=8, num_stages=4, tma=t) for t in (False, True)]
    tuned = tz.autotune(configs=configs, key=["M", "N", "K"])(masked_matmul)
    a, b, c = masked_matmul_host_buffers()
    kept, reasons = tuned.prune_by_resources((a, b, c, 320, 512, 336), arch="sm_90a")
    assert len(kept) == 2 and not any(reasons.values()), reasons
