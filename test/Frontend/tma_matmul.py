# With --tma on sm_90a, the pipelined loads of a masked matmul become TMA
# copies: each load's tensor map is a new kernel argument whose
# #tzgpu.tensormap says how the host encodes it (A: [K, M] with row stride
# K, B: [N, K] with row stride N, extents from the masks' bounds), one
# mbarrier per stage is armed with both tiles' bytes, and the loop waits on
# its stage's barrier instead of cp.async groups. Without --tma the same
# kernel keeps cp.async.
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=4 --emit=tzgpu --tma | FileCheck %s
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=4 --emit=ptx --tma | FileCheck %s --check-prefix=PTX
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=4 --emit=tzgpu | FileCheck %s --check-prefix=CPASYNC
# A's rows wrapped modulo M (as Triton's matmul tutorial writes them) are
# no box of a tensor map: A stays a cp.async copy, and since a loop copies
# either all its tiles with TMA or none, so does B.
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 -D WRAP=True --num-warps=8 --num-stages=4 --emit=tzgpu --tma | FileCheck %s --check-prefix=CPASYNC

# CHECK: func.func @matmul(
# CHECK-SAME: %[[AMAP:arg[0-9]+]]: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 0, element_type = bf16, swizzle = 128, box = [64, 128], extent_args = [5, 3], extents = [0, 0], stride_args = [5], strides = [0]>}
# CHECK-SAME: %[[BMAP:arg[0-9]+]]: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 1, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [4, 5], extents = [0, 0], stride_args = [4], strides = [0]>}
# CHECK: %[[BARS:.*]] = tzgpu.local_alloc {offset = {{[0-9]+}} : i64} : !tzgpu.memdesc<4x1x1xi64, #tzgpu.shared<>, mutable>
# CHECK-COUNT-4: tzgpu.init_barrier
# CHECK: tzgpu.barrier
# The MMA stays in flight: with 4 stages the copies run 2 iterations ahead.
# CHECK-COUNT-2: tzgpu.barrier_expect %{{.*}}, 32768,
# CHECK: scf.for
# CHECK: tzgpu.wait_barrier
# CHECK: tzgpu.barrier_expect %{{.*}}, 32768,
# CHECK: tzgpu.async_tma_copy %[[AMAP]][
# CHECK: tzgpu.async_tma_copy %[[BMAP]][
# CHECK-NOT: tzgpu.async_copy
# CHECK: tzgpu.warp_group_dot_wait 1
# CHECK: tzgpu.inval_barrier

# PTX: .param .align 64 .b8 matmul_param_6[128]
# PTX: mbarrier.init.shared.b64
# PTX: mbarrier.arrive.expect_tx.shared.b64
# PTX: cp.async.bulk.tensor.2d.shared::cta.global.tile.mbarrier::complete_tx::bytes
# PTX: mbarrier.try_wait.parity.shared.b64
# PTX-NOT: cp.async.cg

# CPASYNC-NOT: tzgpu.tensormap
# CPASYNC: tzgpu.async_copy
# CPASYNC-NOT: tzgpu.async_tma_copy
import terrazzo as tz


@tz.jit
def matmul(a_ptr, b_ptr, c_ptr, M, N, K, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr,
           WRAP: tz.constexpr = False):
    rm = tz.program_id(0) * BM + tz.arange(0, BM)
    if WRAP:
        rm = rm % M
    rn = tz.program_id(1) * BN + tz.arange(0, BN)
    rk = tz.arange(0, BK)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, K, BK):
        kk = k + rk
        a = tz.load(a_ptr + rm[:, None] * K + kk[None, :], mask=(rm[:, None] < M) & (kk[None, :] < K), other=0.0)
        b = tz.load(b_ptr + kk[:, None] * N + rn[None, :], mask=(kk[:, None] < K) & (rn[None, :] < N), other=0.0)
        acc = tz.dot(a, b, acc)
    tz.store(c_ptr + rm[:, None] * N + rn[None, :], acc.to(tz.bfloat16), mask=(rm[:, None] < M) & (rn[None, :] < N))
