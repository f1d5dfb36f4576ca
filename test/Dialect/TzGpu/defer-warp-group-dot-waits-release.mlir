// tzgpu-defer-warp-group-dot-waits on a warp-specialised consumer loop
// (pipeline-warp-specialize.mlir's, after tzgpu-lower-warp-group-dots):
// the loop writes none of its buffers (the producer loop does, after the
// stage is released), so its MMA stays in flight into the next iteration.
// Its release of slot n % 3 at the end of iteration n would then let the
// producer refill a slot the MMA still reads; instead, after the wait that
// retires the previous MMA, iteration n releases slot (n + 2) % 3, the
// previous iteration's, if there was one (n > 0).
// RUN: tz-opt %s --tzgpu-defer-warp-group-dot-waits | FileCheck %s

// CHECK: scf.for {{.*}} iter_args
// CHECK: %[[N:.*]] = arith.divsi %arg8, %c64_i32
// CHECK: %[[SLOT:.*]] = arith.remsi %[[N]], %c3_i32
// CHECK: tzgpu.warp_group_dot
// CHECK-NEXT: tzgpu.warp_group_dot_wait 1
// CHECK-NOT: tzgpu.arrive_barrier
// CHECK: %[[PREV:.*]] = arith.addi %[[N]], %{{.*}}
// CHECK: %[[PSLOT:.*]] = arith.remsi %[[PREV]], %{{.*}}
// CHECK: %[[ANY:.*]] = arith.cmpi sgt, %[[N]], %{{.*}}
// CHECK: %[[BAR:.*]] = tzgpu.memdesc_index %{{.*}}[%[[PSLOT]]]
// CHECK: %[[GO:.*]] = arith.andi %[[ANY]], %true
// CHECK: tzgpu.arrive_barrier %[[BAR]], %[[GO]]
// CHECK-NOT: tzgpu.arrive_barrier
// CHECK: scf.yield
// CHECK: tzgpu.warp_group_dot_wait 0

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
      %38 = arith.divsi %arg8, %c64_i32 : i32
      %39 = arith.remsi %38, %c3_i32 : i32
      %40 = arith.divsi %38, %c3_i32 : i32
      %41 = arith.andi %40, %c1_i32 : i32
      %42 = arith.xori %41, %c1_i32 : i32
      %43 = tzgpu.memdesc_index %12[%39] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.wait_barrier %43, %42 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %44 = arith.cmpi slt, %arg8, %arg5 : i32
      %45 = tzgpu.memdesc_index %11[%39] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.barrier_expect %45, 16384, %44 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %46 = tzgpu.memdesc_index %9[%39] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.async_tma_copy %arg6[%arg8, %1] into %46, %45, %44 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %47 = tzgpu.memdesc_index %10[%39] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.async_tma_copy %arg7[%6, %arg8] into %47, %45, %44 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    } {tzgpu.producer_loop}
    %19 = scf.for %arg8 = %c0_i32 to %arg5 step %c64_i32 iter_args(%arg9 = %cst) -> (tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>)  : i32 {
      %38 = arith.divsi %arg8, %c64_i32 : i32
      %39 = arith.remsi %38, %c3_i32 : i32
      %40 = arith.divsi %38, %c3_i32 : i32
      %41 = arith.andi %40, %c1_i32 : i32
      %42 = tzgpu.memdesc_index %11[%39] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.wait_barrier %42, %41 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      %43 = tzgpu.memdesc_index %9[%39] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      %44 = tzgpu.memdesc_index %10[%39] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
      %45 = tzgpu.warp_group_dot %43, %44, %arg9 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> * !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      %46 = tzgpu.warp_group_dot_wait 0, %45 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      %47 = tzgpu.memdesc_index %12[%39] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      tzgpu.arrive_barrier %47, %true : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      scf.yield %46 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    }
    tzgpu.inval_barrier %13 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %14 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %15 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %16 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %17 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %18 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %20 = tz.expand_dims %4 {axis = 1 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %21 = tz.splat %arg4 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %22 = arith.muli %20, %21 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %23 = tz.splat %arg2 : !tz.ptr<bf16> -> tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %24 = tz.addptr %23, %22 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>, tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %25 = tz.expand_dims %8 {axis = 0 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %26 = tz.broadcast %24 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %27 = tz.broadcast %25 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %28 = tz.addptr %26, %27 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %29 = arith.truncf %19 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> to tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    %30 = tzgpu.convert_layout %29 : tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> -> tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %31 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %32 = arith.cmpi slt, %20, %31 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %33 = tz.splat %arg4 : i32 -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %34 = arith.cmpi slt, %25, %33 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %35 = tz.broadcast %32 : tensor<64x1xi1, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %36 = tz.broadcast %34 : tensor<1x64xi1, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %37 = arith.andi %35, %36 : tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    tz.store %28, %30, mask %37 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    return
  }
}

