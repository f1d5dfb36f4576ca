"""Warp specialisation chosen by the compiler, checked without a GPU: the
`warp_specialize` launch option reaches the sm_90a compile (True: the
masked matmul's loop is split, its TMA copies issued by a producer
warpgroup of its own: 12 warps for num_warps=8, setmaxnreg in both
partitions, named barriers for the consumers; it implies TMA unless tma is
False; False or absent: one partition), a bad value is a TypeError naming
the option in a launch and in tz.Config, and the flash forward is split
too."""

import pytest

import terrazzo as tz
from copy_checks import compile_masked_matmul, masked_matmul_host_buffers
from matmul_kernels import masked_matmul


def test_warp_specialize_splits_the_loop():
    r = compile_masked_matmul(warp_specialize=True)
    ptx, tzgpu = r["ptx"], r["tzgpu"]
    assert "tzgpu.warp_specialize" in tzgpu and "tzgpu.producer_warps = 4" in tzgpu
    assert ".reqntid 384, 1, 1" in ptx and ".minnctapersm 1" in ptx
    assert "setmaxnreg.dec.sync.aligned.u32 \t24" in ptx
    assert "setmaxnreg.inc.sync.aligned.u32 \t240" in ptx
    assert "cp.async.bulk.tensor.2d" in ptx and "mbarrier.arrive.shared.b64" in ptx
    assert "bar.sync \t1, 256;" in ptx
    # The driver assembles it (nvJitLink would drop setmaxnreg).
    assert r["cubin_bytes"] == 0


def test_without_warp_specialize_one_partition():
    for options in ({}, {"warp_specialize": False, "tma": True}):
        r = compile_masked_matmul(**options)
        assert "tzgpu.warp_specialize" not in r["tzgpu"] and "setmaxnreg" not in r["ptx"], options


def test_tma_false_turns_it_off():
    r = compile_masked_matmul(warp_specialize=True, tma=False)
    assert "setmaxnreg" not in r["ptx"] and "cp.async.bulk.tensor" not in r["ptx"]
    assert "cp.async.cg.shared.global" in r["ptx"]


def test_bad_values_name_the_option():
    with pytest.raises(TypeError, match="warp_specialize must be True, False or None"):
        compile_masked_matmul(warp_specialize=1)
    with pytest.raises(TypeError, match="Config warp_specialize must be True, False or None"):
        tz.Config({}, warp_specialize="yes")
    assert tz.Config({}, num_warps=8, warp_specialize=True).launch_options()["warp_specialize"] is True


def test_four_warps_split_too():
    # One consumer warpgroup: 8 warps in all, the consumers at 256 registers.
    a, b, c = masked_matmul_host_buffers()
    r = masked_matmul.compile_for_gpu(a, b, c, 320, 512, 336, BM=64, BN=128, BK=64, num_warps=4, num_stages=4,
                                      arch="sm_90a", warp_specialize=True)
    assert ".reqntid 256, 1, 1" in r["ptx"] and "setmaxnreg.inc.sync.aligned.u32 \t256" in r["ptx"]
