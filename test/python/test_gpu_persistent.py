"""Persistent launches (persistent=True) on the GPU: the masked matmul with
each dot lowering (mma.sync, wgmma from pipelined cp.async slots, and on
sm_90a TMA copies) and the library's flash attention forward, against
float64 references, outputs NaN-filled first; each launch must really have
run fewer programs than there are tiles (as many as the device holds at
once, at least one per multiprocessor), on the full launch path and on the
cached one. Skipped where there is no GPU or no torch with CUDA."""

import pytest

import terrazzo as tz

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.skipif(not (torch.cuda.is_available() and tz._terrazzo.gpu_available()),
                                reason="needs a CUDA GPU")

from matmul_kernels import masked_matmul  # noqa: E402
from torch_gpu_checks import BOUND, rel_err  # noqa: E402


def _sms():
    return torch.cuda.get_device_properties(torch.cuda.current_device()).multi_processor_count


def _stats():
    return tz._terrazzo.persistent_launch_stats()


def _check_launch(before, tiles):
    # One launch on min(tiles, resident programs) programs, at least one per
    # multiprocessor (every config here fits once) and at most 32 each.
    after = _stats()
    assert after["gpu_launches"] - before["gpu_launches"] == 1
    assert after["gpu_tiles"] - before["gpu_tiles"] == tiles
    programs = after["gpu_programs"] - before["gpu_programs"]
    assert min(tiles, _sms()) <= programs <= min(tiles, 32 * _sms()), (programs, tiles, _sms())
    return programs


# (BM, BN, BK, num_warps, num_stages, tma)
CONFIGS = [
    (64, 64, 32, 4, 2, False),     # mma.sync
    (128, 128, 64, 8, 3, False),   # wgmma on sm_90a
    (128, 256, 64, 8, 3, True),    # wgmma with TMA copies on sm_90a
]


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
@pytest.mark.parametrize("cfg", CONFIGS, ids=lambda c: "x".join(map(str, c[:3])) + f"-w{c[3]}-s{c[4]}" +
                         ("-tma" if c[5] else ""))
def test_persistent_matmul_matches_float64(cfg, dtype):
    bm, bn, bk, warps, stages, tma = cfg
    if tma and torch.cuda.get_device_capability() != (9, 0):
        pytest.skip("TMA needs sm_90a")
    # Ragged in M, N and K, with strides of whole 16 bytes (TMA can describe
    # them); more tiles than the device holds at once (63 x 65 tiles of 64 x
    # 64: a multiprocessor holds at most 16 blocks of 128 threads).
    M, N, K = 4000, 4104, 328
    grid = ((M + bm - 1) // bm, (N + bn - 1) // bn)
    tiles = grid[0] * grid[1]
    a = torch.randn(M, K, device="cuda", dtype=dtype)
    b = torch.randn(K, N, device="cuda", dtype=dtype)
    ref = a.double() @ b.double()
    options = dict(BM=bm, BN=bn, BK=bk, num_warps=warps, num_stages=stages, tma=tma, persistent=True)
    for launch in ("full path", "cached path"):
        c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.float32)
        before = _stats()
        masked_matmul[grid](a, b, c, M, N, K, **options)
        torch.cuda.synchronize()
        programs = _check_launch(before, tiles)
        assert programs < tiles, launch
        assert rel_err(c, ref) <= BOUND[dtype] / 10, launch


def test_fewer_tiles_than_programs():
    # 3 x 2 tiles: one program each, none walking past the end.
    M, N, K = 300, 200, 64
    a = torch.randn(M, K, device="cuda", dtype=torch.float16)
    b = torch.randn(K, N, device="cuda", dtype=torch.float16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.float32)
    before = _stats()
    masked_matmul[(3, 2)](a, b, c, M, N, K, BM=128, BN=128, BK=64, num_warps=4, persistent=True)
    torch.cuda.synchronize()
    after = _stats()
    assert after["gpu_programs"] - before["gpu_programs"] == 6
    assert rel_err(c, a.double() @ b.double()) <= BOUND[torch.float16] / 10


def _attention_reference(q, k, v, causal, scale):
    s = (q.double() @ k.double().transpose(-1, -2)) * scale
    if causal:
        n = s.shape[-1]
        s = s.masked_fill(torch.ones(n, n, device=s.device, dtype=torch.bool).triu(1), float("-inf"))
    return torch.softmax(s, dim=-1) @ v.double(), torch.logsumexp(s, dim=-1)


@pytest.mark.parametrize("causal", [False, True])
def test_persistent_flash_forward_matches_float64(causal):
    # 32 query blocks x 8 batch-heads = 256 tiles of 128 rows, head dim 128.
    B, H, N, D, BLOCK_M, BLOCK_N = 2, 4, 4096, 128, 128, 64
    dtype = torch.bfloat16
    q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=dtype) for _ in range(3))
    o = torch.full_like(q, float("nan"))
    lse = torch.full((B, H, N), float("nan"), device="cuda", dtype=torch.float32)
    scale = D**-0.5
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    grid = (N // BLOCK_M, B * H)
    before = _stats()
    fwd.run(grid, (q, k, v, o, lse, None, *q.stride(), *k.stride(), *v.stride(), *o.stride(), H, H, N, N, scale),
            dict(HEAD_DIM=D, BLOCK_M=BLOCK_M, BLOCK_N=BLOCK_N, CAUSAL=causal, STORE_LSE=True, num_warps=8,
                 persistent=True))
    torch.cuda.synchronize()
    programs = _check_launch(before, grid[0] * grid[1])
    assert programs < grid[0] * grid[1]
    ref_o, ref_lse = _attention_reference(q, k, v, causal, scale)
    assert rel_err(o, ref_o) <= BOUND[dtype]
    assert rel_err(lse, ref_lse) <= 1e-4


def test_autotuner_times_persistent_configs():
    # A persistent and a plain config of the same tiles are both timed;
    # whichever wins, the tuned launch is right.
    configs = [tz.Config({"BM": 128, "BN": 128, "BK": 64}, num_warps=8, num_stages=3, persistent=p)
               for p in (False, True)]
    tuned = tz.autotune(configs=configs, key=["M", "N", "K"])(masked_matmul)
    M, N, K = 2048, 2048, 256
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.float32)
    tuned[lambda meta: (tz.cdiv(M, meta["BM"]), tz.cdiv(N, meta["BN"]))](a, b, c, M, N, K)
    torch.cuda.synchronize()
    timings = next(iter(tuned.timings.values()))
    assert len(timings) == 2 and all(isinstance(t, float) for t in timings.values()), timings
    assert rel_err(c, a.double() @ b.double()) <= BOUND[torch.bfloat16] / 10
