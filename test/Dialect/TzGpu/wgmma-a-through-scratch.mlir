// A wgmma dot whose A operand is computed in the loop (so it goes through
// scratch) does not get a swizzled slot for B: that combination gave
// non-finite results on the H100 (see keepsAOffScratch in
// Pipeline.cpp). B is still copied ahead, into a padded slot that the dot
// reads into registers and then through scratch; A's load, which feeds an
// elementwise op, stays a load.
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot=wgmma=1 --tzgpu-remove-layout-conversions --canonicalize --cse --tzgpu-pipeline=num-stages=3 --canonicalize --cse | FileCheck %s

// CHECK: tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<pad = 16>, mutable>
// CHECK-NOT: swizzle
// CHECK: tzgpu.async_copy %{{.*}} mask %{{.*}} into
// CHECK: tz.load
// CHECK: tzgpu.local_load %{{.*}} : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
// CHECK: tz.dot {{.*}}

module {
  func.func @matmul(%arg0: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg3: i32 {tz.divisibility = 16 : i32}) attributes {tz.kernel} {
    %cst = arith.constant dense<64> : tensor<64x1xi32>
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<64x64xf16>
    %cst_1 = arith.constant dense<64> : tensor<64x1xi32>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
    %c64_i32 = arith.constant 64 : i32
    %c0_i32 = arith.constant 0 : i32
    %0 = tz.make_range 0, 64 : tensor<64xi32>
    %1 = tz.make_range 0, 64 : tensor<64xi32>
    %2 = scf.for %arg4 = %c0_i32 to %arg3 step %c64_i32 iter_args(%arg5 = %cst_2) -> (tensor<64x64xf32>)  : i32 {
      %11 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
      %12 = tz.splat %arg3 : i32 -> tensor<64x1xi32>
      %13 = arith.muli %11, %12 : tensor<64x1xi32>
      %14 = tz.splat %arg0 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>>
      %15 = tz.addptr %14, %13 : tensor<64x1x!tz.ptr<f16>>, tensor<64x1xi32>
      %16 = tz.splat %arg4 : i32 -> tensor<64xi32>
      %17 = arith.addi %16, %1 : tensor<64xi32>
      %18 = tz.expand_dims %17 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
      %19 = tz.broadcast %15 : tensor<64x1x!tz.ptr<f16>> -> tensor<64x64x!tz.ptr<f16>>
      %20 = tz.broadcast %18 : tensor<1x64xi32> -> tensor<64x64xi32>
      %21 = tz.addptr %19, %20 : tensor<64x64x!tz.ptr<f16>>, tensor<64x64xi32>
      %22 = tz.load %21 : tensor<64x64x!tz.ptr<f16>> -> tensor<64x64xf16>
      %23 = tz.expand_dims %17 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
      %24 = arith.muli %23, %cst_1 : tensor<64x1xi32>
      %25 = tz.splat %arg1 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>>
      %26 = tz.addptr %25, %24 : tensor<64x1x!tz.ptr<f16>>, tensor<64x1xi32>
      %27 = tz.expand_dims %1 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
      %28 = tz.broadcast %26 : tensor<64x1x!tz.ptr<f16>> -> tensor<64x64x!tz.ptr<f16>>
      %29 = tz.broadcast %27 : tensor<1x64xi32> -> tensor<64x64xi32>
      %30 = tz.addptr %28, %29 : tensor<64x64x!tz.ptr<f16>>, tensor<64x64xi32>
      %31 = tz.splat %arg3 : i32 -> tensor<64x1xi32>
      %64 = arith.cmpi slt, %23, %31 : tensor<64x1xi32>
      %33 = tz.broadcast %64 : tensor<64x1xi1> -> tensor<64x64xi1>
      %34 = tz.load %30, mask %33, other %cst_0 : tensor<64x64x!tz.ptr<f16>> -> tensor<64x64xf16>, tensor<64x64xi1>, tensor<64x64xf16>
      %a2 = arith.addf %22, %22 : tensor<64x64xf16>
      %35 = tz.dot %a2, %34, %arg5 : tensor<64x64xf16> * tensor<64x64xf16> -> tensor<64x64xf32>
      scf.yield %35 : tensor<64x64xf32>
    }
    %3 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
    %4 = arith.muli %3, %cst : tensor<64x1xi32>
    %5 = tz.splat %arg2 : !tz.ptr<f32> -> tensor<64x1x!tz.ptr<f32>>
    %6 = tz.addptr %5, %4 : tensor<64x1x!tz.ptr<f32>>, tensor<64x1xi32>
    %7 = tz.expand_dims %1 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %8 = tz.broadcast %6 : tensor<64x1x!tz.ptr<f32>> -> tensor<64x64x!tz.ptr<f32>>
    %9 = tz.broadcast %7 : tensor<1x64xi32> -> tensor<64x64xi32>
    %10 = tz.addptr %8, %9 : tensor<64x64x!tz.ptr<f32>>, tensor<64x64xi32>
    tz.store %10, %2 : tensor<64x64x!tz.ptr<f32>>, tensor<64x64xf32>
    return
  }
}
