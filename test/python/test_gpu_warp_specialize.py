"""Warp specialisation on the H100 (sm_90a): with TZ_WARP_SPECIALIZE=1 a
loop whose pipelined tiles are all TMA copies gets a producer warpgroup
that issues them while the num_warps consumer warps compute. Checked in a
child process with that setting: the masked matmul's and the flash
forward's code really is split (setmaxnreg in both partitions, 12 warps
for num_warps=8, consumers releasing stages with mbarrier arrives); their
launches match float64 references (ragged sizes, poisoned outputs, both
attention layouts, causal and not) and pass tensor maps with no fallback;
and the GPU matmul and attention suites pass. Skipped where there is no
GPU or no torch with CUDA."""

import pytest

import terrazzo as tz
from copy_checks import FLASH_FORWARD_CHECK, run_sm90_check, run_sm90_gpu_suites

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")


def _run(code):
    run_sm90_check({"TZ_WARP_SPECIALIZE": "1"}, code, "warp specialisation")

CODE_CHECK = r"""
import sys
sys.path.insert(0, '.')
from matmul_kernels import masked_matmul
import torch
a = torch.empty(300, 336, device='cuda', dtype=torch.bfloat16)
b = torch.empty(336, 528, device='cuda', dtype=torch.bfloat16)
c = torch.empty(300, 528, device='cuda', dtype=torch.float32)
r = masked_matmul.compile_for_gpu(a, b, c, 300, 528, 336, BM=128, BN=128, BK=64, num_warps=8, num_stages=4)
ptx = r['ptx']
for needle in ('setmaxnreg.dec.sync.aligned.u32', 'setmaxnreg.inc.sync.aligned.u32', '.reqntid 384',
               'mbarrier.arrive.shared', 'cp.async.bulk.tensor.2d', 'bar.sync \t1, 256'):
    assert needle in ptx, needle
print('ok')
"""


def test_masked_matmul_is_split_into_producer_and_consumers():
    _run(CODE_CHECK)


MATMUL_CHECK = r"""
import sys
import terrazzo as tz
sys.path.insert(0, '.')
from matmul_kernels import masked_matmul
import torch
for (M, N, K) in ((300, 528, 336), (128, 128, 64), (1000, 640, 2048)):
    a = torch.randn(M, K, device='cuda', dtype=torch.bfloat16)
    b = torch.randn(K, N, device='cuda', dtype=torch.bfloat16)
    c = torch.full((M, N), float('nan'), device='cuda', dtype=torch.float32)
    before = tz._terrazzo.gpu_cache_stats()
    grid = ((M + 127) // 128, (N + 127) // 128)
    for _ in range(3):  # the full path, then the cached one
        masked_matmul[grid](a, b, c, M, N, K, BM=128, BN=128, BK=64, num_warps=8, num_stages=4)
    torch.cuda.synchronize()
    after = tz._terrazzo.gpu_cache_stats()
    assert after['tma_launches'] - before['tma_launches'] == 3, (before, after)
    assert after['tma_fallbacks'] == before['tma_fallbacks'], (before, after)
    ref = a.double() @ b.double()
    err = ((c.double() - ref).abs().max() / ref.abs().max()).item()
    assert err < 1e-3, ((M, N, K), err)
print('ok')
"""


def test_masked_matmul_matches_float64():
    _run(MATMUL_CHECK)




def test_flash_forward_matches_float64():
    _run(FLASH_FORWARD_CHECK)


def test_gpu_matmul_and_attention_suites_pass_with_warp_specialization():
    run_sm90_gpu_suites({"TZ_WARP_SPECIALIZE": "1"}, "warp specialisation")
