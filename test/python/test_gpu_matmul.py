"""Tensor-core matmul on the GPU against a float64 reference, over tile
configurations that take each dot lowering: mma.sync (BK=32, or M too small
for a warpgroup per 64 rows) and, on sm_90a, wgmma with operands from
swizzled pipelined slots (num_stages > 1) or written to scratch
(num_stages=1), one or two 64-row blocks per warpgroup, N of 64 to 256.
Masked edges (sizes not multiples of the tile) exercise zero-filled copies.
Skipped where there is no GPU or no torch with CUDA."""

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

from matmul_kernels import masked_matmul  # noqa: E402
from torch_gpu_checks import BOUND, rel_err  # noqa: E402


# (BM, BN, BK, num_warps, num_stages)
CONFIGS = [
    (64, 64, 32, 4, 2),     # mma.sync
    (128, 128, 64, 4, 3),   # wgmma: two 64-row blocks per warpgroup
    (128, 128, 64, 8, 2),   # wgmma: two warpgroups
    (128, 256, 64, 8, 3),   # wgmma: N = 256
    (128, 64, 128, 4, 1),   # wgmma from scratch, K of two swizzled blocks
    (256, 128, 64, 8, 1),   # wgmma from scratch, two blocks per warpgroup
]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "x".join(map(str, c[:3])) + f"-w{c[3]}-s{c[4]}")
def test_matmul_matches_float64(cfg, dtype):
    bm, bn, bk, warps, stages = cfg
    M, N, K = 300, 520, 328  # not multiples of any tile: masked edges
    a = torch.randn(M, K, device="cuda", dtype=dtype)
    b = torch.randn(K, N, device="cuda", dtype=dtype)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.float32)
    grid = ((M + bm - 1) // bm, (N + bn - 1) // bn)
    masked_matmul[grid](a, b, c, M, N, K, BM=bm, BN=bn, BK=bk, num_warps=warps, num_stages=stages)
    torch.cuda.synchronize()
    ref = a.double() @ b.double()
    # fp32 accumulation of exactly rounded inputs: far inside the dtype bound.
    assert rel_err(c, ref) <= BOUND[dtype] / 10
