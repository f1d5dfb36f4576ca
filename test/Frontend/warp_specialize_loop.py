# A loop asks for warp specialisation itself: `tz.range(..., warp_specialize=
# SPLIT)` puts tz.warp_specialize on the scf.for, and on sm_90a the pipeliner
# follows it over the launch options: SPLIT=True copies the loop's tiles
# with TMA from a producer warpgroup with no --tma or --warp-specialize given;
# SPLIT=False keeps the loop in one partition even under --warp-specialize
# (its TMA copies, which that option implies, issued by the consumers).
# RUN: tzc %s --kernel ws_matmul --signature '*bf16,*bf16,*fp32,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 -D SPLIT=True --emit=tz | FileCheck %s --check-prefix=TZ
# RUN: tzc %s --kernel ws_matmul --signature '*bf16,*bf16,*fp32,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 -D SPLIT=True --num-warps=8 --num-stages=3 --emit=tzgpu | FileCheck %s --check-prefix=WS
# RUN: tzc %s --kernel ws_matmul --signature '*bf16,*bf16,*fp32,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 -D SPLIT=False --num-warps=8 --num-stages=3 --emit=tzgpu --warp-specialize | FileCheck %s --check-prefix=KEEP
# A hint that is no bool is an error at its place in the source.
# RUN: not tzc %s --kernel ws_matmul --signature '*bf16,*bf16,*fp32,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 -D SPLIT=3 2>&1 | FileCheck %s --check-prefix=BAD

# TZ: scf.for
# TZ: } {tz.warp_specialize = true}

# WS: tzgpu.producer_warps = 4
# WS: tzgpu.warp_specialize
# WS: tzgpu.async_tma_copy
# WS: } consumer {

# KEEP-NOT: tzgpu.producer_warps
# KEEP-NOT: tzgpu.warp_specialize
# KEEP: tzgpu.async_tma_copy
# KEEP: scf.for
# KEEP: tzgpu.wait_barrier

# BAD: warp_specialize_loop.py:[[@LINE+12]]:33: error: warp_specialize must be True, False or None, not int constexpr 3

import terrazzo as tz


@tz.jit
def ws_matmul(a_ptr, b_ptr, c_ptr, M, N, K, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr,
              SPLIT: tz.constexpr):
    rm = tz.program_id(0) * BM + tz.arange(0, BM)
    rn = tz.program_id(1) * BN + tz.arange(0, BN)
    rk = tz.arange(0, BK)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in tz.range(0, K, BK, warp_specialize=SPLIT):
        a = tz.load(a_ptr + rm[:, None] * K + (k + rk)[None, :],
                    mask=(rm[:, None] < M) & ((k + rk)[None, :] < K), other=0.0)
        b = tz.load(b_ptr + (k + rk)[:, None] * N + rn[None, :],
                    mask=((k + rk)[:, None] < K) & (rn[None, :] < N), other=0.0)
        acc = tz.dot(a, b, acc)
    tz.store(c_ptr + rm[:, None] * N + rn[None, :], acc, mask=(rm[:, None] < M) & (rn[None, :] < N))
