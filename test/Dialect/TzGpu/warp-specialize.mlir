// tzgpu-warp-specialize on the split matmul of pipeline-warp-specialize.mlir
// (after tzgpu-lower-warp-group-dots and tzgpu-defer-warp-group-dot-waits):
// the buffers, barriers and their initialisation stay before a
// tzgpu.warp_specialize (4 consumer warps at 256 registers, one producer
// warpgroup at 24); the producer loop moves to its producer region with
// clones of the program ids and tile offsets its copies read; everything
// else (the loop, the epilogue) moves to its consumer region in order; the
// barriers are invalidated after it; the module gets tzgpu.producer_warps.
// RUN: tz-opt %s --tzgpu-warp-specialize | FileCheck %s

// CHECK: module attributes {{{.*}}tzgpu.producer_warps = 4 : i32
// CHECK: func.func @matmul
// CHECK: %[[ABUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xbf16
// CHECK: %[[BBUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xbf16
// CHECK-COUNT-6: tzgpu.init_barrier
// CHECK-NEXT: tzgpu.warp_specialize attributes {consumer_registers = 256 : i32, consumer_warps = 4 : i32, producer_registers = 24 : i32, producer_warps = 4 : i32} producer {
// CHECK-NEXT: %[[P0:.*]] = tz.program_id 0
// CHECK-NEXT: %[[ROW:.*]] = arith.muli %[[P0]], %c64_i32
// CHECK-NEXT: %[[P1:.*]] = tz.program_id 1
// CHECK-NEXT: %[[COL:.*]] = arith.muli %[[P1]], %c64_i32
// CHECK-NEXT: scf.for %[[J:.*]] = %c0_i32 to %arg5 step %c64_i32  : i32 {
// CHECK: tzgpu.wait_barrier
// CHECK: tzgpu.barrier_expect
// CHECK: tzgpu.async_tma_copy %arg6[%[[J]], %[[ROW]]] into %{{.*}}
// CHECK: tzgpu.async_tma_copy %arg7[%[[COL]], %[[J]]] into %{{.*}}
// CHECK-NEXT: }
// CHECK-NOT: tzgpu.producer_loop
// CHECK-NEXT: } consumer {
// CHECK: tz.program_id 0
// CHECK: scf.for
// CHECK: tzgpu.wait_barrier
// CHECK: tzgpu.warp_group_dot
// CHECK: tzgpu.arrive_barrier
// CHECK: tzgpu.warp_group_dot_wait 0
// CHECK-NOT: tzgpu.inval_barrier
// CHECK: tz.store
// CHECK-NEXT: }
// CHECK-COUNT-6: tzgpu.inval_barrier
// CHECK-NEXT: return

module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @matmul(%arg0: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg3: i32 {tz.divisibility = 16 : i32}, %arg4: i32 {tz.divisibility = 16 : i32}, %arg5: i32 {tz.divisibility = 16 : i32}, %arg6: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 0, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [5, 3], extents = [0, 0], stride_args = [5], strides = [0]>}, %arg7: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 1, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [4, 5], extents = [0, 0], stride_args = [4], strides = [0]>}) attributes {tz.kernel} {
    %true = arith.constant true
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
    %9 = tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
    %10 = tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
    %11 = tzgpu.local_alloc : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable>
    %12 = tzgpu.local_alloc : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable>
    %13 = tzgpu.memdesc_index %11[%c0_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %13, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %14 = tzgpu.memdesc_index %12[%c0_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %14, 128 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %15 = tzgpu.memdesc_index %11[%c1_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %15, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %16 = tzgpu.memdesc_index %12[%c1_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %16, 128 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %17 = tzgpu.memdesc_index %11[%c2_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %17, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %18 = tzgpu.memdesc_index %12[%c2_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %18, 128 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    scf.for %arg8 = %c0_i32 to %arg5 step %c64_i32  : i32 {
      %39 = arith.divsi %arg8, %c64_i32 : i32
      %40 = arith.remsi %39, %c3_i32 : i32
      %41 = arith.divsi %39, %c3_i32 : i32
      %42 = arith.andi %41, %c1_i32 : i32
      %43 = arith.xori %42, %c1_i32 : i32
      %44 = tzgpu.memdesc_index %12[%40] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.wait_barrier %44, %43 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %45 = arith.cmpi slt, %arg8, %arg5 : i32
      %46 = tzgpu.memdesc_index %11[%40] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.barrier_expect %46, 16384, %45 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %47 = tzgpu.memdesc_index %9[%40] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.async_tma_copy %arg6[%arg8, %1] into %47, %46, %45 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %48 = tzgpu.memdesc_index %10[%40] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.async_tma_copy %arg7[%6, %arg8] into %48, %46, %45 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    } {tzgpu.producer_loop}
    %19 = scf.for %arg8 = %c0_i32 to %arg5 step %c64_i32 iter_args(%arg9 = %cst) -> (tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>)  : i32 {
      %39 = arith.divsi %arg8, %c64_i32 : i32
      %40 = arith.remsi %39, %c3_i32 : i32
      %41 = arith.divsi %39, %c3_i32 : i32
      %42 = arith.andi %41, %c1_i32 : i32
      %43 = tzgpu.memdesc_index %11[%40] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.wait_barrier %43, %42 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %44 = tzgpu.memdesc_index %9[%40] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      %45 = tzgpu.memdesc_index %10[%40] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      %46 = tzgpu.warp_group_dot %44, %45, %arg9 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> * !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      tzgpu.warp_group_dot_wait 1
      %c3_i32_0 = arith.constant 3 : i32
      %c2_i32_1 = arith.constant 2 : i32
      %47 = arith.addi %39, %c2_i32_1 : i32
      %48 = arith.remsi %47, %c3_i32_0 : i32
      %c0_i32_2 = arith.constant 0 : i32
      %49 = arith.cmpi sgt, %39, %c0_i32_2 : i32
      %50 = tzgpu.memdesc_index %12[%48] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %51 = arith.andi %49, %true : i1
      tzgpu.arrive_barrier %50, %51 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      scf.yield %46 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    }
    %20 = tzgpu.warp_group_dot_wait 0, %19 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    tzgpu.inval_barrier %13 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %14 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %15 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %16 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %17 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %18 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %21 = tz.expand_dims %4 {axis = 1 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %22 = tz.splat %arg4 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %23 = arith.muli %21, %22 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %24 = tz.splat %arg2 : !tz.ptr<bf16> -> tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %25 = tz.addptr %24, %23 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>, tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %26 = tz.expand_dims %8 {axis = 0 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %27 = tz.broadcast %25 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %28 = tz.broadcast %26 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %29 = tz.addptr %27, %28 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %30 = arith.truncf %20 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> to tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    %31 = tzgpu.convert_layout %30 : tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> -> tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %32 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %33 = arith.cmpi slt, %21, %32 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %34 = tz.splat %arg4 : i32 -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %35 = arith.cmpi slt, %26, %34 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %36 = tz.broadcast %33 : tensor<64x1xi1, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %37 = tz.broadcast %35 : tensor<1x64xi1, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %38 = arith.andi %36, %37 : tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    tz.store %29, %31, mask %38 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    return
  }
}

