# Loop-carried pointers as Triton's matmul tutorial writes them (a_ptrs +=
# BK * stride_ak each iteration, the mask `offs_k < K - k * BK` against the
# loop index), without its `% M` row wrap: both loads become TMA copies.
# The pointer at iteration k is init + k * BK * stride, so A's column
# coordinate is k * BK and the mask's bound works out to the extent K
# (argument 5); B's row coordinate likewise, with rows bounded by K.
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16,i32:16,1,i32:16,1,i32:16,1' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=3 --emit=tzgpu --tma | FileCheck %s

# CHECK: func.func @matmul(
# CHECK-SAME: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 0, element_type = bf16, swizzle = 128, box = [64, 128], extent_args = [5, 3], extents = [0, 0], stride_args = [6], strides = [0]>}
# CHECK-SAME: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 1, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [4, 5], extents = [0, 0], stride_args = [7], strides = [0]>}
# CHECK: scf.for %[[K:[^ ]*]] = %c0_i32 to %{{.*}} step %c1_i32
# CHECK: %[[NEXT:.*]] = arith.addi %[[K]], %c1_i32
# CHECK: tzgpu.wait_barrier
# CHECK: %[[START:.*]] = arith.muli %[[NEXT]], %c64_i32
# CHECK: tzgpu.async_tma_copy %{{.*}}[%[[START]], %{{.*}}]
# CHECK: tzgpu.async_tma_copy %{{.*}}[%{{.*}}, %[[START]]]
# CHECK-NOT: tzgpu.async_copy
import terrazzo as tz


@tz.jit
def matmul(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
           BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr):
    offs_am = tz.program_id(0) * BM + tz.arange(0, BM)
    offs_bn = tz.program_id(1) * BN + tz.arange(0, BN)
    offs_k = tz.arange(0, BK)
    a_ptrs = a_ptr + (offs_am[:, None] * stride_am + offs_k[None, :] * stride_ak)
    b_ptrs = b_ptr + (offs_k[:, None] * stride_bk + offs_bn[None, :] * stride_bn)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, tz.cdiv(K, BK)):
        a = tz.load(a_ptrs, mask=(offs_am[:, None] < M) & (offs_k[None, :] < K - k * BK), other=0.0)
        b = tz.load(b_ptrs, mask=(offs_k[:, None] < K - k * BK) & (offs_bn[None, :] < N), other=0.0)
        acc = tz.dot(a, b, acc)
        a_ptrs += BK * stride_ak
        b_ptrs += BK * stride_bk
    c_ptrs = c_ptr + offs_am[:, None] * stride_cm + offs_bn[None, :] * stride_cn
    tz.store(c_ptrs, acc.to(tz.bfloat16), mask=(offs_am[:, None] < M) & (offs_bn[None, :] < N))
