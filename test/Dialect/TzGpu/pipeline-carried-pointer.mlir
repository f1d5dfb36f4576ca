// tzgpu-pipeline on encoded IR (layouts assigned, dots accelerated) of a K
// loop whose B pointer is carried and advanced each iteration
// (`b_ptrs += BK * BN`): the copy for the iteration at index i uses
// init + ((i - lb) / step) * (BK * BN), built from the loop's own init and
// step operands, and B's load leaves the loop.
// RUN: tz-opt %s --tzgpu-pipeline=num-stages=3 --canonicalize --cse | FileCheck %s
// (With lb = 0 and step = 1 the iteration number folds to the index itself.)

// CHECK: tzgpu.local_alloc : !tzgpu.memdesc<3x32x64xf16, #tzgpu.shared<pad = 16>, mutable>
// CHECK: scf.for %[[K:.*]] = %c0_i32 to %{{.*}} step %c1_i32 iter_args
// CHECK-NEXT: tzgpu.async_wait 1
// CHECK: %[[AHEAD:.*]] = arith.addi %[[K]], %c2_i32 : i32
// CHECK: %[[NS:.*]] = tz.splat %[[AHEAD]] : i32 -> tensor<32x64xi32
// CHECK-NEXT: %[[OFF:.*]] = arith.muli %[[NS]], %{{.*}} : tensor<32x64xi32
// CHECK-NEXT: %[[PTR:.*]] = tz.addptr %{{.*}}, %[[OFF]] : tensor<32x64x!tz.ptr<f16>
// CHECK: tzgpu.async_copy %[[PTR]] mask %{{.*}} into %{{.*}} : tensor<32x64x!tz.ptr<f16>
// CHECK-NEXT: tzgpu.async_commit
// CHECK-NOT: -> tensor<32x64xf16
// CHECK: tzgpu.local_load %{{.*}} -> tensor<32x64xf16
// CHECK: scf.yield
#l0 = #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>
#l1 = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#l2 = #tzgpu.linear<reg = [[0, 1], [0, 2], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [1, 0], [2, 0]], warp = [[4, 0], [8, 0]]>
#l3 = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
#l4 = #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[0, 0], [0, 0]]>
#l5 = #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>
#l6 = #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[0], [0]]>
#l7 = #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 0], [0, 0]]>
#l8 = #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>
#l9 = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
module attributes {tzgpu.num_warps = 4 : i32} {
  func.func @carried(%arg0: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg3: i32) attributes {tz.kernel} {
    %cst = arith.constant dense<64> : tensor<64x1xi32, #l0>
    %cst_0 = arith.constant dense<2048> : tensor<32x64xi32, #l1>
    %cst_1 = arith.constant dense<32> : tensor<64x32xi32, #l2>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<32x64xf16, #l1>
    %cst_3 = arith.constant dense<0.000000e+00> : tensor<64x32xf16, #l2>
    %c31_i32 = arith.constant 31 : i32
    %cst_4 = arith.constant dense<0.000000e+00> : tensor<64x64xf32, #l3>
    %cst_5 = arith.constant dense<64> : tensor<32x1xi32, #l4>
    %c0_i32 = arith.constant 0 : i32
    %c1_i32 = arith.constant 1 : i32
    %c32_i32 = arith.constant 32 : i32
    %0 = tz.make_range 0, 64 : tensor<64xi32, #l5>
    %1 = tz.make_range 0, 32 : tensor<32xi32, #l6>
    %2 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32, #l5> -> tensor<64x1xi32, #l0>
    %3 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #l0>
    %4 = arith.muli %2, %3 : tensor<64x1xi32, #l0>
    %5 = tz.splat %arg0 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>, #l0>
    %6 = tz.addptr %5, %4 : tensor<64x1x!tz.ptr<f16>, #l0>, tensor<64x1xi32, #l0>
    %7 = tz.expand_dims %1 {axis = 0 : i32} : tensor<32xi32, #l6> -> tensor<1x32xi32, #l7>
    %8 = tz.broadcast %6 : tensor<64x1x!tz.ptr<f16>, #l0> -> tensor<64x32x!tz.ptr<f16>, #l2>
    %9 = tz.broadcast %7 : tensor<1x32xi32, #l7> -> tensor<64x32xi32, #l2>
    %10 = tz.addptr %8, %9 : tensor<64x32x!tz.ptr<f16>, #l2>, tensor<64x32xi32, #l2>
    %11 = tz.expand_dims %1 {axis = 1 : i32} : tensor<32xi32, #l6> -> tensor<32x1xi32, #l4>
    %12 = arith.muli %11, %cst_5 : tensor<32x1xi32, #l4>
    %13 = tz.splat %arg1 : !tz.ptr<f16> -> tensor<32x1x!tz.ptr<f16>, #l4>
    %14 = tz.addptr %13, %12 : tensor<32x1x!tz.ptr<f16>, #l4>, tensor<32x1xi32, #l4>
    %15 = tz.expand_dims %0 {axis = 0 : i32} : tensor<64xi32, #l5> -> tensor<1x64xi32, #l8>
    %16 = tz.broadcast %14 : tensor<32x1x!tz.ptr<f16>, #l4> -> tensor<32x64x!tz.ptr<f16>, #l1>
    %17 = tz.broadcast %15 : tensor<1x64xi32, #l8> -> tensor<32x64xi32, #l1>
    %18 = tz.addptr %16, %17 : tensor<32x64x!tz.ptr<f16>, #l1>, tensor<32x64xi32, #l1>
    %19 = arith.addi %arg3, %c31_i32 : i32
    %20 = arith.divsi %19, %c32_i32 : i32
    %21:3 = scf.for %arg4 = %c0_i32 to %20 step %c1_i32 iter_args(%arg5 = %cst_4, %arg6 = %10, %arg7 = %18) -> (tensor<64x64xf32, #l3>, tensor<64x32x!tz.ptr<f16>, #l2>, tensor<32x64x!tz.ptr<f16>, #l1>)  : i32 {
      %29 = arith.muli %arg4, %c32_i32 : i32
      %30 = arith.subi %arg3, %29 : i32
      %31 = tz.splat %30 : i32 -> tensor<1x32xi32, #l7>
      %32 = arith.cmpi slt, %7, %31 : tensor<1x32xi32, #l7>
      %33 = tz.broadcast %32 : tensor<1x32xi1, #l7> -> tensor<64x32xi1, #l2>
      %34 = tz.load %arg6, mask %33, other %cst_3 : tensor<64x32x!tz.ptr<f16>, #l2> -> tensor<64x32xf16, #l2>, tensor<64x32xi1, #l2>, tensor<64x32xf16, #l2>
      %35 = tz.splat %30 : i32 -> tensor<32x1xi32, #l4>
      %36 = arith.cmpi slt, %11, %35 : tensor<32x1xi32, #l4>
      %37 = tz.broadcast %36 : tensor<32x1xi1, #l4> -> tensor<32x64xi1, #l1>
      %38 = tz.load %arg7, mask %37, other %cst_2 : tensor<32x64x!tz.ptr<f16>, #l1> -> tensor<32x64xf16, #l1>, tensor<32x64xi1, #l1>, tensor<32x64xf16, #l1>
      %39 = tz.dot %34, %38, %arg5 : tensor<64x32xf16, #l2> * tensor<32x64xf16, #l1> -> tensor<64x64xf32, #l3>
      %40 = tz.addptr %arg6, %cst_1 : tensor<64x32x!tz.ptr<f16>, #l2>, tensor<64x32xi32, #l2>
      %41 = tz.addptr %arg7, %cst_0 : tensor<32x64x!tz.ptr<f16>, #l1>, tensor<32x64xi32, #l1>
      scf.yield %39, %40, %41 : tensor<64x64xf32, #l3>, tensor<64x32x!tz.ptr<f16>, #l2>, tensor<32x64x!tz.ptr<f16>, #l1>
    }
    %22 = tzgpu.convert_layout %21#0 : tensor<64x64xf32, #l3> -> tensor<64x64xf32, #l9>
    %23 = arith.muli %2, %cst : tensor<64x1xi32, #l0>
    %24 = tz.splat %arg2 : !tz.ptr<f32> -> tensor<64x1x!tz.ptr<f32>, #l0>
    %25 = tz.addptr %24, %23 : tensor<64x1x!tz.ptr<f32>, #l0>, tensor<64x1xi32, #l0>
    %26 = tz.broadcast %25 : tensor<64x1x!tz.ptr<f32>, #l0> -> tensor<64x64x!tz.ptr<f32>, #l9>
    %27 = tz.broadcast %15 : tensor<1x64xi32, #l8> -> tensor<64x64xi32, #l9>
    %28 = tz.addptr %26, %27 : tensor<64x64x!tz.ptr<f32>, #l9>, tensor<64x64xi32, #l9>
    tz.store %28, %22 : tensor<64x64x!tz.ptr<f32>, #l9>, tensor<64x64xf32, #l9>
    return
  }
}

