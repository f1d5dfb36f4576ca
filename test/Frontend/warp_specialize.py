# With --warp-specialize on sm_90a (which implies --tma), the masked matmul
# of test/python/matmul_kernels.py (8 warps) runs its TMA copies in a
# producer warpgroup: `--emit=tzgpu` shows the typed buffers, the full and
# empty mbarriers (the empty ones completing after the 256 consumer
# threads), the producer/consumer split with its register counts, the
# consumer loop releasing the stage of the MMA the wait retired; the PTX
# runs 384 threads, one block per multiprocessor, moves registers with
# setmaxnreg and synchronises the consumers with named barrier 1.
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=4 --emit=tzgpu --warp-specialize | FileCheck %s
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*bf16,i32:16,i32:16,i32:16' -D BM=128 -D BN=128 -D BK=64 --num-warps=8 --num-stages=4 --emit=ptx --warp-specialize | FileCheck %s --check-prefix=PTX
# The flash attention forward (head dim 128, 8 warps): both key loops are
# split; their producers read the batch and head offsets, which the
# producer computes again from the program ids.
# RUN: tzc %S/../../kernels/flash_attention.py --kernel flash_attention_fwd --signature '*bf16,*bf16,*bf16,*bf16,None,None,i32:16,i32:16,i32:16,1,i32:16,i32:16,i32:16,1,i32:16,i32:16,i32:16,1,i32:16,i32:16,i32:16,1,i32,i32,i32:16,i32:16,fp32' -D HEAD_DIM=128 -D BLOCK_M=128 -D BLOCK_N=64 --num-warps=8 --num-stages=2 --emit=tzgpu --warp-specialize | FileCheck %s --check-prefix=FLASH

# CHECK: module attributes {{{.*}}tzgpu.num_warps = 8 : i32, tzgpu.producer_warps = 4 : i32
# CHECK: tzgpu.local_alloc {offset = {{[0-9]+}} : i64} : !tzgpu.memdesc<4x128x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
# CHECK: tzgpu.local_alloc {offset = {{[0-9]+}} : i64} : !tzgpu.memdesc<4x64x128xbf16, #tzgpu.shared<swizzle = 128>, mutable>
# CHECK: %[[FULL:.*]] = tzgpu.local_alloc {offset = {{[0-9]+}} : i64} : !tzgpu.memdesc<4x1x1xi64
# CHECK: %[[EMPTY:.*]] = tzgpu.local_alloc {offset = {{[0-9]+}} : i64} : !tzgpu.memdesc<4x1x1xi64
# CHECK: tzgpu.init_barrier %{{.*}}, 1
# CHECK: tzgpu.init_barrier %{{.*}}, 256
# CHECK: tzgpu.barrier
# CHECK-NEXT: tzgpu.warp_specialize attributes {consumer_registers = 240 : i32, consumer_warps = 8 : i32, producer_registers = 24 : i32, producer_warps = 4 : i32} producer {
# CHECK: scf.for
# CHECK: tzgpu.wait_barrier
# CHECK: tzgpu.barrier_expect %{{.*}}, 32768
# CHECK: tzgpu.async_tma_copy
# CHECK: tzgpu.async_tma_copy
# CHECK: } consumer {
# CHECK: scf.for
# CHECK: tzgpu.wait_barrier
# CHECK: tzgpu.warp_group_dot
# CHECK-NEXT: tzgpu.warp_group_dot_wait 1
# CHECK: tzgpu.arrive_barrier
# CHECK: tz.store
# CHECK: tzgpu.inval_barrier

# PTX: .reqntid 384, 1, 1
# PTX: .minnctapersm 1
# PTX: setmaxnreg.dec.sync.aligned.u32 24
# PTX: cp.async.bulk.tensor.2d
# PTX: setmaxnreg.inc.sync.aligned.u32 240
# PTX: wgmma.mma_async
# PTX: mbarrier.arrive.shared.b64
# PTX: bar.sync 1, 256

# FLASH: tzgpu.warp_specialize
# FLASH: tz.program_id 1
# FLASH: scf.for
# FLASH: tzgpu.async_tma_copy
# FLASH: tzgpu.async_tma_copy
# FLASH: scf.for
# FLASH: tzgpu.async_tma_copy
# FLASH: tzgpu.async_tma_copy
# FLASH: } consumer {
# FLASH: scf.for
# FLASH: tzgpu.arrive_barrier
# FLASH: scf.for
# FLASH: tzgpu.arrive_barrier
