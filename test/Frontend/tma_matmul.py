# With --tma on sm_90a, the pipelined loads of the masked matmul of
# test/python/matmul_kernels.py become TMA
# copies: each load's tensor map is a new kernel argument whose
# #tzgpu.tensormap says how the host encodes it (A: [K, M] with row stride
# K, B: [N, K] with row stride N, extents from the masks' bounds), one
# mbarrier per stage is armed with both tiles' bytes, and the loop waits on
# its stage's barrier instead of cp.async groups. Without --tma the same
# kernel keeps cp.async.
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=4 --emit=tzgpu --tma | FileCheck %s
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=4 --emit=ptx --tma | FileCheck %s --check-prefix=PTX
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=4 --emit=tzgpu | FileCheck %s --check-prefix=CPASYNC
# A's rows wrapped modulo M (as Triton's matmul tutorial writes them) are
# no box of a tensor map: A stays a cp.async copy while B is a TMA copy; the
# loop waits for both (cp.async groups, then B's barrier) and the MMA still
# stays in flight.
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 -D WRAP=True --num-warps=8 --num-stages=4 --emit=tzgpu --tma | FileCheck %s --check-prefix=MIXED

# CHECK: func.func @masked_matmul(
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

# PTX: .param .align 64 .b8 masked_matmul_param_6[128]
# PTX: mbarrier.init.shared.b64
# PTX: mbarrier.arrive.expect_tx.shared.b64
# PTX: cp.async.bulk.tensor.2d.shared::cta.global.tile.mbarrier::complete_tx::bytes
# PTX: mbarrier.try_wait.parity.shared.b64
# PTX-NOT: cp.async.cg

# CPASYNC-NOT: tzgpu.tensormap
# CPASYNC: tzgpu.async_copy
# CPASYNC-NOT: tzgpu.async_tma_copy

# MIXED: func.func @masked_matmul(
# MIXED-SAME: %[[BMAP:arg[0-9]+]]: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 1,
# MIXED-NOT: tzgpu.tensormap<base = 0
# MIXED: tzgpu.async_copy
# MIXED: tzgpu.async_commit
# MIXED: tzgpu.async_tma_copy %[[BMAP]]
# MIXED: scf.for
# MIXED: tzgpu.async_wait 1 on
# MIXED: tzgpu.wait_barrier
# MIXED: tzgpu.async_copy
# MIXED: tzgpu.async_commit
# MIXED: tzgpu.async_tma_copy %[[BMAP]]
# MIXED: tzgpu.warp_group_dot_wait 1
# MIXED: tzgpu.async_wait 0
# MIXED: tzgpu.inval_barrier
