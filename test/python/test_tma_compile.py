"""TMA copies chosen by the compiler, checked without a GPU: the `tma`
launch option reaches the sm_90a compile (tma=True: the masked matmul's
tiles are copied with cp.async.bulk.tensor completing on mbarriers, and the
kernel takes one 128-byte tensor map per load; tma=False: cp.async), the
code assembles (nvJitLink, when present), a bad value is a TypeError naming
the option, and kernels TMA cannot describe exactly keep cp.async."""


import pytest

from matmul_kernels import masked_matmul


def _buffers():
    # Host buffers stand in for device ones: compile_for_gpu only reads
    # their dtypes and alignment.
    np = pytest.importorskip("numpy")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    a = np.zeros((320, 336), dtype=ml_dtypes.bfloat16)
    b = np.zeros((336, 512), dtype=ml_dtypes.bfloat16)
    c = np.zeros((320, 512), dtype=np.float32)
    return a, b, c


def _compile(**options):
    a, b, c = _buffers()
    return masked_matmul.compile_for_gpu(a, b, c, 320, 512, 336, BM=128, BN=128, BK=64, num_warps=8,
                                         num_stages=4, arch="sm_90a", **options)


def test_tma_true_copies_with_tensor_maps_and_mbarriers():
    r = _compile(tma=True)
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
    ptx = _compile(tma=False)["ptx"]
    assert "cp.async.bulk.tensor" not in ptx
    assert "cp.async.cg.shared.global" in ptx


def test_rows_wrapped_modulo_m_keep_cp_async():
    a, b, c = _buffers()
    ptx = masked_matmul.compile_for_gpu(a, b, c, 320, 512, 336, BM=128, BN=128, BK=64, WRAP=True, num_warps=8,
                                        num_stages=4, arch="sm_90a", tma=True)["ptx"]
    assert "cp.async.bulk.tensor" not in ptx


def test_tma_option_must_be_a_bool():
    with pytest.raises(TypeError, match="tma"):
        _compile(tma=1)
