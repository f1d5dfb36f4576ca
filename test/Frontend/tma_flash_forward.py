# The library's flash attention forward (kernels/flash_attention.py) with
# TMA copies, as `tzc --emit=tzgpu --tma` shows it: at head dim 128, 128x64
# tiles, 8 warps, q is one cp.async copy into a swizzled buffer before the
# loops; each of the two key loops (full blocks, then the masked last ones)
# copies its K and V tiles with TMA through 4-D tensor maps (head dim,
# keys, then the head and batch offsets as dimensions, strides from the
# kernel's stride arguments; the masked loop's key extent is N_K), waits on
# one mbarrier per stage, and the MMAs read the swizzled buffers.
# RUN: tzc %S/../../kernels/flash_attention.py --kernel flash_attention_fwd --signature '*bf16,*bf16,*bf16,*bf16,None,None,i32:16,i32:16,i32:16,1,i32:16,i32:16,i32:16,1,i32:16,i32:16,i32:16,1,i32:16,i32:16,i32:16,1,i32,i32,i32:16,i32:16,fp32' -D HEAD_DIM=128 -D BLOCK_M=128 -D BLOCK_N=64 --num-warps=8 --num-stages=2 --emit=tzgpu --tma | FileCheck %s

# CHECK: func.func @flash_attention_fwd(
# CHECK-SAME: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 1, element_type = bf16, swizzle = 128, box = [64, 64, 1, 1], extent_args = [-1, -1, -1, -1], extents = [-1, -1, -1, -1], stride_args = [9, 8, 7], strides = [0, 0, 0]>}
# CHECK-SAME: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 2, element_type = bf16, swizzle = 128, box = [64, 64, 1, 1], extent_args = [-1, -1, -1, -1], extents = [-1, -1, -1, -1], stride_args = [12, 11, 10], strides = [0, 0, 0]>}
# CHECK-SAME: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 1, element_type = bf16, swizzle = 128, box = [64, 64, 1, 1], extent_args = [-1, 19, -1, -1], extents = [-1, 0, -1, -1], stride_args = [9, 8, 7], strides = [0, 0, 0]>}
# CHECK-SAME: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 2, element_type = bf16, swizzle = 128, box = [64, 64, 1, 1], extent_args = [-1, 19, -1, -1], extents = [-1, 0, -1, -1], stride_args = [12, 11, 10], strides = [0, 0, 0]>}
# CHECK: tzgpu.local_alloc {offset = {{[0-9]+}} : i64} : !tzgpu.memdesc<128x128xbf16, #tzgpu.shared<swizzle = 128>, mutable>
# CHECK: tzgpu.async_copy
# CHECK: tzgpu.local_alloc {offset = {{[0-9]+}} : i64} : !tzgpu.memdesc<2x1x1xi64, #tzgpu.shared<>, mutable>
# CHECK: tzgpu.init_barrier
# CHECK: tzgpu.barrier_expect %{{.*}}, 32768,
# CHECK: tzgpu.async_tma_copy
# CHECK: tzgpu.async_tma_copy
# CHECK: scf.for
# CHECK: tzgpu.wait_barrier
# CHECK: tzgpu.async_tma_copy
# CHECK: tzgpu.async_tma_copy
# CHECK: tzgpu.warp_group_dot
# CHECK: tzgpu.warp_group_dot
# CHECK: tzgpu.inval_barrier
# CHECK: scf.for
# CHECK: tzgpu.wait_barrier
# CHECK: tzgpu.inval_barrier
# CHECK-NOT: tzgpu.async_copy
