// convert-tzgpu-to-llvm of mbarriers and TMA copies, on the IR of a masked
// 64x64x64 bf16 matmul after tzgpu-pipeline (tma=1), the wgmma lowering,
// allocation and barrier insertion. Tensor maps become 128-byte,
// 64-aligned by-value grid constants; thread 0 initialises each barrier
// (PTX predicate), every thread fences the initialisation and the async
// proxy; thread 0 arms a stage (expect_tx, predicated) and issues its copies
// inside a branch (cp.async.bulk.tensor into shared::cta takes no
// predicate); every thread waits on the barrier's parity; thread 0
// invalidates the barriers after the loop.
// RUN: tz-opt %s --convert-tzgpu-to-llvm | FileCheck %s

// CHECK: llvm.func @matmul(
// CHECK-SAME: %arg6: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant}
// CHECK-SAME: %arg7: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant}
// CHECK-NOT: tzgpu.tensormap
// CHECK: nvvm.mbarrier.init %[[BAR0:[^,]+]], %{{[^,]+}}, predicate = %{{.*}} : !llvm.ptr<3>, i32, i1
// CHECK-NEXT: nvvm.fence.mbarrier.init
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-COUNT-2: nvvm.mbarrier.init
// CHECK: nvvm.barrier0
// CHECK: nvvm.mbarrier.arrive.expect_tx %[[BAR0]], %{{.*}}, predicate = %{{.*}} : !llvm.ptr<3>, i32, i1
// CHECK: llvm.cond_br
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg6, %[[BAR0]], box[%{{.*}}, %{{.*}}] {isCTAOnly = true}
// CHECK: llvm.cond_br
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg7, %[[BAR0]], box[%{{.*}}, %{{.*}}] {isCTAOnly = true}
// The loop: wait on this iteration's barrier, arm and fill the next.
// CHECK: nvvm.mbarrier.try_wait.parity %{{.*}}, %{{.*}}, %{{.*}} : !llvm.ptr<3>, i32, i32
// CHECK: nvvm.mbarrier.arrive.expect_tx
// CHECK: nvvm.barrier0
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg6
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global %{{.*}}, %arg7
// CHECK: wgmma.mma_async
// CHECK-COUNT-3: nvvm.mbarrier.inval
// CHECK-NOT: nvvm.cp.async.shared.global
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 49536 : i64, tzgpu.wgmma} {
  func.func @matmul(%arg0: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg3: i32 {tz.divisibility = 16 : i32}, %arg4: i32 {tz.divisibility = 16 : i32}, %arg5: i32 {tz.divisibility = 16 : i32}, %arg6: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 0, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [5, 3], extents = [0, 0], stride_args = [5], strides = [0]>}, %arg7: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 1, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [4, 5], extents = [0, 0], stride_args = [4], strides = [0]>}) attributes {tz.kernel} {
    %c3_i32 = arith.constant 3 : i32
    %c2_i32 = arith.constant 2 : i32
    %c1_i32 = arith.constant 1 : i32
    %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    %c0_i32 = arith.constant 0 : i32
    %c64_i32 = arith.constant 64 : i32
    %0 = tz.program_id 0 : i32
    %1 = arith.muli %0, %c64_i32 : i32
    %2 = tz.make_range 0, 64 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %3 = tz.splat %1 : i32 -> tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %4 = arith.addi %3, %2 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %5 = tz.program_id 1 : i32
    %6 = arith.muli %5, %c64_i32 : i32
    %7 = tz.splat %6 : i32 -> tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %8 = arith.addi %7, %2 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %9 = tzgpu.local_alloc {offset = 0 : i64} : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
    %10 = tzgpu.local_alloc {offset = 24576 : i64} : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
    %11 = tzgpu.local_alloc {offset = 49152 : i64} : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable>
    %12 = tzgpu.memdesc_index %11[%c0_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %12, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %13 = tzgpu.memdesc_index %11[%c1_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %13, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %14 = tzgpu.memdesc_index %11[%c2_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %14, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %15 = arith.cmpi sgt, %arg5, %c0_i32 : i32
    tzgpu.barrier
    tzgpu.barrier_expect %12, 16384, %15 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %16 = tzgpu.memdesc_index %9[%c0_i32] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
    tzgpu.async_tma_copy %arg6[%c0_i32, %1] into %16, %12, %15 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %17 = tzgpu.memdesc_index %10[%c0_i32] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
    tzgpu.async_tma_copy %arg7[%6, %c0_i32] into %17, %12, %15 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %18 = scf.for %arg8 = %c0_i32 to %arg5 step %c64_i32 iter_args(%arg9 = %cst) -> (tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>)  : i32 {
      %38 = arith.divsi %arg8, %c64_i32 : i32
      %39 = arith.remsi %38, %c3_i32 : i32
      %40 = arith.addi %38, %c1_i32 : i32
      %41 = arith.remsi %40, %c3_i32 : i32
      %42 = arith.addi %arg8, %c64_i32 : i32
      %43 = arith.divsi %38, %c3_i32 : i32
      %44 = arith.andi %43, %c1_i32 : i32
      %45 = tzgpu.memdesc_index %11[%39] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.wait_barrier %45, %44 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %46 = arith.cmpi slt, %42, %arg5 : i32
      %47 = tzgpu.memdesc_index %11[%41] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.barrier_expect %47, 16384, %46 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %48 = tzgpu.memdesc_index %9[%41] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.barrier
      tzgpu.async_tma_copy %arg6[%42, %1] into %48, %47, %46 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %49 = tzgpu.memdesc_index %10[%41] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.async_tma_copy %arg7[%6, %42] into %49, %47, %46 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %50 = tzgpu.memdesc_index %9[%39] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      %51 = tzgpu.memdesc_index %10[%39] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      %52 = tzgpu.warp_group_dot %50, %51, %arg9 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> * !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      tzgpu.warp_group_dot_wait 1
      scf.yield %52 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    }
    %19 = tzgpu.warp_group_dot_wait 0, %18 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    tzgpu.barrier
    tzgpu.inval_barrier %12 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %13 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %14 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %20 = tz.expand_dims %4 {axis = 1 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %21 = tz.splat %arg4 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %22 = arith.muli %20, %21 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %23 = tz.splat %arg2 : !tz.ptr<bf16> -> tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %24 = tz.addptr %23, %22 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>, tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %25 = tz.expand_dims %8 {axis = 0 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %26 = tz.broadcast %24 {tzgpu.scratch_bytes = 512 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %27 = tz.broadcast %25 {tzgpu.scratch_bytes = 256 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %28 = tz.addptr %26, %27 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %29 = arith.truncf %19 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> to tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    %30 = tzgpu.convert_layout %29 {tzgpu.scratch_bytes = 8192 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> -> tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %31 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %32 = arith.cmpi slt, %20, %31 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %33 = tz.splat %arg4 : i32 -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %34 = arith.cmpi slt, %25, %33 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %35 = tz.broadcast %32 {tzgpu.scratch_bytes = 64 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<64x1xi1, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %36 = tz.broadcast %34 {tzgpu.scratch_bytes = 64 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<1x64xi1, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %37 = arith.andi %35, %36 : tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    tz.store %28, %30, mask %37 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    return
  }
}

