"""TMA copies on the H100 (sm_90a): the GPU matmul and attention suites run
again in a child process with TZ_TMA=1, where every pipelined load that
can be a TMA copy is one (float64 references, poisoned outputs,
ragged sizes, as in those suites); and the compiled code of the masked
matmul and of the flash attention forward really contains TMA copies and
mbarrier waits under TZ_TMA=1, and launches of the masked matmul (ragged
in M, N and K, strides whole 16 bytes) pass tensor maps on the full and
the cached launch path, fall back to nothing, and match float64 (the
matmul suite's own sizes have strides of odd multiples of 8 bytes, which
keep cp.async). Skipped where there is no GPU or no torch with CUDA."""

import pytest

import terrazzo as tz
from copy_checks import FLASH_FORWARD_CHECK, run_sm90_check, run_sm90_gpu_suites

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")


def _run(code):
    run_sm90_check({"TZ_TMA": "1"}, code, "TMA")

PTX_CHECK = r"""
import sys
import terrazzo as tz
sys.path.insert(0, '.')
from matmul_kernels import masked_matmul
import torch
a = torch.empty(300, 336, device='cuda', dtype=torch.bfloat16)
b = torch.empty(336, 528, device='cuda', dtype=torch.bfloat16)
c = torch.empty(300, 528, device='cuda', dtype=torch.float32)
r = masked_matmul.compile_for_gpu(a, b, c, 300, 528, 336, BM=128, BN=128, BK=64, num_warps=8, num_stages=4)
ptx = r['ptx']
assert 'cp.async.bulk.tensor.2d' in ptx, 'no TMA copy in the masked matmul'
assert 'mbarrier.try_wait.parity' in ptx, 'no mbarrier wait in the masked matmul'
assert 'cp.async.cg' not in ptx, 'the masked matmul still copies with cp.async'
print('ok')
"""


def test_masked_matmul_compiles_to_tma_copies():
    _run(PTX_CHECK)


LAUNCH_CHECK = r"""
import sys
import terrazzo as tz
sys.path.insert(0, '.')
from matmul_kernels import masked_matmul
import torch
M, N, K = 300, 528, 336
a = torch.randn(M, K, device='cuda', dtype=torch.bfloat16)
b = torch.randn(K, N, device='cuda', dtype=torch.bfloat16)
c = torch.full((M, N), float('nan'), device='cuda', dtype=torch.float32)
before = tz._terrazzo.gpu_cache_stats()
for _ in range(3):  # the full path, then the cached one
    masked_matmul[(3, 5)](a, b, c, M, N, K, BM=128, BN=128, BK=64, num_warps=8, num_stages=4)
torch.cuda.synchronize()
after = tz._terrazzo.gpu_cache_stats()
assert after['tma_launches'] - before['tma_launches'] == 3, (before, after)
assert after['tma_fallbacks'] == before['tma_fallbacks'], (before, after)
ref = a.double() @ b.double()
err = ((c.double() - ref).abs().max() / ref.abs().max()).item()
assert err < 1e-3, err
print('ok')
"""


def test_masked_matmul_launches_pass_tensor_maps():
    _run(LAUNCH_CHECK)




def test_flash_forward_launches_pass_tensor_maps():
    # The forward's K and V maps have four dimensions whose strides are not
    # ordered like a packed tensor's in the (B, S, H, D) layout; each launch
    # must still pass its maps (no fallback) and match float64.
    _run(FLASH_FORWARD_CHECK)


def test_gpu_matmul_and_attention_suites_pass_with_tma():
    run_sm90_gpu_suites({"TZ_TMA": "1"}, "TMA")
