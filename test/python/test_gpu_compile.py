"""GPU compilation without a GPU (runs in CI): the matmul kernel's PTX uses
tensor cores (mma.sync fed by ldmatrix; wgmma on sm_90a where the tile
fits a warpgroup MMA), its operand tiles are copied ahead
with cp.async (or, with num_stages=1, loaded with vector loads); every stage is
available; the library's attention kernels assemble for sm_80 and sm_90a
without spilling more than a little; bad targets are clear errors."""

import os

import numpy as np
import pytest

import terrazzo as tz

try:
    import ml_dtypes
    BF16 = ml_dtypes.bfloat16
except ImportError:  # pragma: no cover
    BF16 = None


@tz.jit
def matmul(a, b, c, M, N, K, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr):
    rm = tz.program_id(0) * BM + tz.arange(0, BM)
    rn = tz.program_id(1) * BN + tz.arange(0, BN)
    rk = tz.arange(0, BK)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, K, BK):
        x = tz.load(a + rm[:, None] * K + (k + rk)[None, :])
        y = tz.load(b + (k + rk)[:, None] * N + rn[None, :])
        acc = tz.dot(x, y, acc)
    tz.store(c + rm[:, None] * N + rn[None, :], acc)


def copies_16_bytes(ptx):
    """The first cp.async of the PTX moves 16 bytes (cp.async.cg)."""
    return "cp.async.cg.shared.global" in ptx and ", 16" in ptx.split("cp.async.cg.shared.global", 1)[1].split("\n", 1)[0]


def matmul_args(dtype):
    a = np.zeros((256, 256), dtype)
    c = np.zeros((256, 256), np.float32)
    return (a, a, c, 256, 256, 256)


@pytest.mark.parametrize("arch", ["sm_80", "sm_90a"])
@pytest.mark.parametrize("dtype", [np.float16] + ([BF16] if BF16 is not None else []), ids=lambda d: np.dtype(d).name)
def test_matmul_uses_tensor_cores(arch, dtype):
    # BK=32: operand rows of 64 bytes are not swizzled for wgmma, so sm_90a
    # stays on mma.sync too.
    info = matmul.compile_for_gpu(*matmul_args(dtype), BM=128, BN=128, BK=32, num_warps=8, arch=arch)
    ptx = info["ptx"]
    assert f".target {arch}" in ptx
    assert "mma.sync.aligned.m16n8k16.row.col.f32" in ptx
    assert "ldmatrix.sync.aligned.m8n8.x4.shared.b16" in ptx
    assert "ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16" in ptx
    # tzgpu-pipeline (num_stages=2 by default): 16-byte asynchronous copies
    # one iteration ahead, in commit groups the loop waits on.
    assert copies_16_bytes(ptx)
    assert "cp.async.commit_group" in ptx and "cp.async.wait_group" in ptx
    assert "tzgpu.async_copy" in info["tzgpu"] and "tzgpu.local_load" in info["tzgpu"]
    assert info["cubin_bytes"] > 0 and info["registers"] > 0
    assert info["spill_store_bytes"] == 0
    for stage in ("tzgpu", "llvm_mlir", "llvm", "ptx"):
        assert info[stage], stage


@pytest.mark.parametrize("dtype", [np.float16] + ([BF16] if BF16 is not None else []), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("num_stages", [1, 3])
def test_matmul_uses_wgmma_on_sm90a(dtype, num_stages):
    info = matmul.compile_for_gpu(*matmul_args(dtype), BM=128, BN=256, BK=64, num_warps=8, num_stages=num_stages,
                                  arch="sm_90a")
    ptx = info["ptx"]
    kind = "bf16" if dtype is BF16 else "f16"
    # K = 64 in steps of 16, one 64-row block per warpgroup: 4 MMAs of the
    # whole 256-wide tile, B read N-major (transpose-b 1).
    assert ptx.count(f"wgmma.mma_async.sync.aligned.m64n256k16.f32.{kind}.{kind}") == 4
    assert ", p, 1, 1, 0, 1;" in ptx
    assert "wgmma.fence.sync.aligned" in ptx and "wgmma.commit_group.sync.aligned" in ptx
    assert "wgmma.wait_group.sync.aligned" in ptx
    assert "fence.proxy.async.shared::cta" in ptx
    assert "mma.sync" not in ptx and "ldmatrix" not in ptx
    if num_stages > 1:
        assert "#tzgpu.shared<swizzle = 128" in info["tzgpu"] and "cp.async.cg.shared.global" in ptx
    else:
        assert "cp.async" not in ptx
    assert info["spill_store_bytes"] == 0
    # The same kernel for sm_80 keeps mma.sync.
    info80 = matmul.compile_for_gpu(*matmul_args(dtype), BM=128, BN=256, BK=64, num_warps=8, num_stages=num_stages,
                                    arch="sm_80")
    assert "wgmma" not in info80["ptx"] and "mma.sync" in info80["ptx"]


@pytest.mark.parametrize("arch", ["sm_80", "sm_90a"])
def test_matmul_without_pipelining_uses_vector_loads(arch):
    info = matmul.compile_for_gpu(*matmul_args(np.float16), BM=128, BN=128, BK=32, num_warps=8, num_stages=1,
                                  arch=arch)
    ptx = info["ptx"]
    assert "cp.async" not in ptx
    assert "ld.global.v" in ptx, "operand loads are not vectorised"
    assert "mma.sync.aligned.m16n8k16.row.col.f32" in ptx
    assert "#tzgpu.linear" in info["tzgpu"] and "tzgpu.convert_layout" in info["tzgpu"]


def test_f32_dot_uses_the_cuda_core_path():
    a = np.zeros((64, 64), np.float32)
    info = matmul.compile_for_gpu(a, a, a, 64, 64, 64, BM=32, BN=32, BK=32)
    assert "mma.sync" not in info["ptx"] and "fma.rn.f32" in info["ptx"]


def test_unknown_arch_is_a_clear_error():
    with pytest.raises(Exception, match="sm_75"):
        matmul.compile_for_gpu(*matmul_args(np.float16), BM=64, BN=64, BK=32, arch="sm_75")


@pytest.mark.parametrize("arch", ["sm_80", "sm_90a"])
def test_library_attention_kernels_assemble(arch):
    dt = np.float16
    q = np.zeros((1, 2, 128, 64), dt)
    lse = np.zeros((1, 2, 128), np.float32)
    strides = [2 * 128 * 64, 128 * 64, 64, 1]
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    info = fwd.compile_for_gpu((q, q, q, q, lse, None, *strides * 4, 2, 2, 128, 128, 0.125),
                               dict(HEAD_DIM=64, BLOCK_M=64, BLOCK_N=64, CAUSAL=True, STORE_LSE=True, arch=arch))
    assert info["cubin_bytes"] > 0
    ptx = info["ptx"]
    assert ("wgmma.mma_async" if arch == "sm_90a" else "mma.sync") in ptx
    # K and V tiles are copied ahead 16 bytes at a time: the strides, widened
    # to i64 in the kernel, keep their divisibility by 16.
    assert copies_16_bytes(ptx)
    assert "tzgpu.async_copy" in info["tzgpu"]


def test_min_blocks_per_sm_caps_registers():
    """min_blocks_per_sm=N becomes .minnctapersm N: ptxas keeps registers
    within 64K / (threads * N). The flash forward at head dim 64, 128x64
    tiles and 8 warps needs more than 128 without the bound (run23)."""
    q = np.zeros((1, 2, 1024, 64), np.float16)
    lse = np.zeros((1, 2, 1024), np.float32)
    strides = [2 * 1024 * 64, 1024 * 64, 64, 1]
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    args = (q, q, q, q, lse, None, *strides * 4, 2, 2, 1024, 1024, 0.125)
    opts = dict(HEAD_DIM=64, BLOCK_M=128, BLOCK_N=64, STORE_LSE=True, arch="sm_90a", num_warps=8)
    free = fwd.compile_for_gpu(args, opts)
    bound = fwd.compile_for_gpu(args, dict(opts, min_blocks_per_sm=2))
    assert ".minnctapersm 2" in bound["ptx"] and ".minnctapersm" not in free["ptx"]
    assert free["registers"] > 128 >= bound["registers"]
    with pytest.raises(TypeError, match="min_blocks_per_sm"):
        fwd.compile_for_gpu(args, dict(opts, min_blocks_per_sm="2"))


def test_kernel_too_large_for_shared_memory_is_a_diagnostic():
    # 256x256 f32 accumulator converted through scratch: 256 KiB, more than
    # the 227 KiB a block may use on sm_90. The allocation pass refuses it
    # once (no re-lowering), at the kernel's line, naming the bytes and what
    # takes them.
    with pytest.raises(tz.CompilationError) as err:
        matmul.compile_for_gpu(*matmul_args(np.float16), BM=256, BN=256, BK=128, num_warps=8, num_stages=6,
                               arch="sm_90a")
    text = str(err.value)
    assert "test_gpu_compile.py:" in text and "def matmul(" in text
    assert "kernel 'matmul' needs 262144 bytes of shared memory, but a block may use at most 232448" in text
    assert "262144 bytes for the scratch space of tzgpu.convert_layout (line " in text


def test_compile_reports_time_per_stage():
    # 128x128 tiles: a compile long enough (tenths of a second) that the
    # untimed gaps between stages are small next to it.
    info = matmul.compile_for_gpu(*matmul_args(np.float16), BM=128, BN=128, BK=32, num_warps=8, arch="sm_90a")
    stages = info["stage_seconds"]
    expected = ["frontend", "tzgpu passes", "lowering to LLVM", "to LLVM IR", "libdevice", "LLVM optimisation",
                "NVPTX codegen", "load nvJitLink", "PTX to cubin"]
    # PTX to cubin only where nvJitLink is present.
    assert list(stages) in (expected, expected[:-1])
    assert all(0 <= s < 60 for s in stages.values())
    assert stages["LLVM optimisation"] > 0 and stages["NVPTX codegen"] > 0
    # The stages account for the compilation: what is left is printing the
    # IR texts compile_for_gpu returns and setup between the stages.
    total, summed = info["compile_seconds"], sum(stages.values())
    assert summed <= total * 1.001 + 1e-4, (summed, total, stages)
    assert summed >= 0.75 * total, (summed, total, stages)


def test_middle_end_level_from_the_environment(monkeypatch):
    """TZ_LLVM_OPT_LEVEL picks LLVM's module pipeline (O1 by default) for
    comparisons; anything but 0..3 is an error naming it."""
    args = matmul_args(np.float16)
    kw = dict(BM=64, BN=64, BK=32, num_warps=4, arch="sm_90a")
    monkeypatch.setenv("TZ_LLVM_OPT_LEVEL", "3")
    o3 = matmul.compile_for_gpu(*args, **kw)
    monkeypatch.setenv("TZ_LLVM_OPT_LEVEL", "0")
    o0 = matmul.compile_for_gpu(*args, **kw)
    # Unoptimised IR keeps its allocas' traffic and dead code: more PTX.
    assert o0["ptx"].count(";") > o3["ptx"].count(";")
    monkeypatch.setenv("TZ_LLVM_OPT_LEVEL", "fast")
    with pytest.raises(Exception, match="TZ_LLVM_OPT_LEVEL must be 0, 1, 2 or 3, not 'fast'"):
        matmul.compile_for_gpu(*args, **kw)


def test_triton_tutorial_matmul_pipelines_loop_carried_pointers():
    """Triton's tutorial matmul advances its pointers each iteration
    (`a_ptrs += BLOCK_K * stride_ak`), masks K with `offs_k < K - k * BLOCK_K`
    and wraps rows and columns with `% M`, `% N`: the pipeliner copies both
    operands ahead (pointer at iteration n = start + n * step) into swizzled
    buffers the warpgroup MMA reads directly."""
    import importlib.util
    path = os.path.join(os.path.dirname(__file__), "..", "..", "bench", "triton_tutorial_source.py")
    spec = importlib.util.spec_from_file_location("triton_tutorial_source", path)
    module = importlib.util.module_from_spec(spec)
    module.BACKEND = "terrazzo"
    spec.loader.exec_module(module)
    M = N = K = 512
    a, b, c = (np.zeros(s, np.float16) for s in ((M, K), (K, N), (M, N)))
    info = module.matmul_kernel.compile_for_gpu(a, b, c, M, N, K, K, 1, N, 1, N, 1, BLOCK_SIZE_M=128,
                                                BLOCK_SIZE_N=256, BLOCK_SIZE_K=64, GROUP_SIZE_M=8, num_warps=8,
                                                num_stages=3, arch="sm_90a")
    tzgpu = info["tzgpu"]
    assert "!tzgpu.memdesc<3x128x64xf16, #tzgpu.shared<swizzle = 128>, mutable>" in tzgpu
    assert "!tzgpu.memdesc<3x64x256xf16, #tzgpu.shared<swizzle = 128>, mutable>" in tzgpu
    # Two operands, copied one iteration ahead (the prologue's and the
    # loop's): of the three slots, one is the MMA's still in flight
    # (tzgpu-defer-warp-group-dot-waits), which the loop waits on with 1.
    assert tzgpu.count("tzgpu.async_copy") == 4
    assert "tzgpu.warp_group_dot_wait 1\n" in tzgpu
    assert "tzgpu.local_store" not in tzgpu and "tz.load %" not in tzgpu.split("scf.for")[1].split("scf.yield")[0]
    assert "cp.async.cg.shared.global" in info["ptx"] and "wgmma.mma_async" in info["ptx"]


def test_wgmma_kernels_make_no_calls_that_serialize_their_mmas():
    """ptxas serializes every wgmma of a function that contains a call
    (info C7509), and IEEE f32 division / sqrt have a subroutine slow path:
    one `acc / l` in the flash forward's epilogue made every MMA wait for
    the one before. In kernels with warpgroup MMAs they lower to div.full /
    sqrt.approx instead (CallFreeFloatMath.cpp); other kernels keep IEEE."""
    q = np.zeros((1, 2, 1024, 128), np.float16)
    lse = np.zeros((1, 2, 1024), np.float32)
    strides = [2 * 1024 * 128, 1024 * 128, 128, 1]
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    args = (q, q, q, q, lse, None, *strides * 4, 2, 2, 1024, 1024, 0.125)
    for causal in (False, True):
        info = fwd.compile_for_gpu(args, dict(HEAD_DIM=128, BLOCK_M=128, BLOCK_N=64, STORE_LSE=True, CAUSAL=causal,
                                              arch="sm_90a", num_warps=8))
        assert "wgmma.mma_async" in info["ptx"]
        assert "C7509" not in info["assembler_log"], info["assembler_log"]
        assert "div.rn.f32" not in info["ptx"] and "div.full.f32" in info["ptx"]
    # Without warpgroup MMAs (sm_80) division stays IEEE-rounded.
    info = fwd.compile_for_gpu(args, dict(HEAD_DIM=128, BLOCK_M=128, BLOCK_N=64, STORE_LSE=True, arch="sm_80",
                                          num_warps=8))
    assert "div.rn.f32" in info["ptx"] and "div.full.f32" not in info["ptx"]


def _flash_forward_d128(monkeypatch, level, **kw):
    if level is None:
        monkeypatch.delenv("TZ_LLVM_OPT_LEVEL", raising=False)
    else:
        monkeypatch.setenv("TZ_LLVM_OPT_LEVEL", level)
    monkeypatch.delenv("TZ_LLVM_PASSES", raising=False)
    q = np.zeros((1, 2, 1024, 128), np.float16)
    lse = np.zeros((1, 2, 1024), np.float32)
    strides = [2 * 1024 * 128, 1024 * 128, 128, 1]
    fwd = tz._terrazzo.Kernel.from_library("flash_attention.py", "flash_attention_fwd")
    return fwd.compile_for_gpu((q, q, q, q, lse, None, *strides * 4, 2, 2, 1024, 1000, 0.125),
                               dict(HEAD_DIM=128, BLOCK_M=128, BLOCK_N=64, STORE_LSE=True, CAUSAL=True, arch="sm_90a",
                                    num_warps=8, **kw))


def test_default_middle_end_gives_the_flash_forward_o3s_code(monkeypatch):
    """The tailored middle end (O1 + GVN + O3's unroller) must not make the
    hot kernel worse than O3: same registers, spills and PTX, in all and
    inside the key loops (docs/gpu-backend.md, "Compile time")."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
    import ptx_stats
    tailored, o3 = (_flash_forward_d128(monkeypatch, level) for level in (None, "3"))
    for key in ("registers", "spill_store_bytes", "spill_load_bytes"):
        assert tailored[key] == o3[key], (key, tailored[key], o3[key])
    a, b = ptx_stats.ptx_stats(tailored["ptx"]), ptx_stats.ptx_stats(o3["ptx"])
    assert a["loops"] >= 2 and a["loop_instructions"] > 500, a
    assert (a["instructions"], a["loop_instructions"], a["loop_opcodes"]) == \
        (b["instructions"], b["loop_instructions"], b["loop_opcodes"])


def test_modules_with_tma_copies_keep_o3(monkeypatch):
    """Kernels with TMA copies keep O3 (docs/gpu-backend.md, "Compile
    time"). The PTX text is not compared: two compiles of this kernel in one
    process may number two registers differently (seen at O3 alone)."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
    import ptx_stats
    tailored, o3 = (_flash_forward_d128(monkeypatch, level, tma=True) for level in (None, "3"))
    assert "cp.async.bulk.tensor" in tailored["ptx"]
    assert tailored["registers"] == o3["registers"]
    a, b = ptx_stats.ptx_stats(tailored["ptx"]), ptx_stats.ptx_stats(o3["ptx"])
    assert (a["instructions"], a["loop_instructions"], a["loop_opcodes"]) == \
        (b["instructions"], b["loop_instructions"], b["loop_opcodes"])
