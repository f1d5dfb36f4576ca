// tzgpu-remove-layout-conversions on the inner loop of flash attention (the
// DSL source is kernels/flash_attention.py's _fwd_inner, cut down): after
// tzgpu-accelerate-dot puts both dots in the mma layout, the scores, their
// row max and sum, the exponentials and the rescaled accumulator all stay in
// layouts derived from it, so the loop body has no conversion at all.
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot --tzgpu-remove-layout-conversions --canonicalize --cse | FileCheck %s

// The mma accumulator of a 64x32 tile over 4 warps (16 rows each).
// CHECK-LABEL: func.func @attn
// q is loaded once, in the blocked layout, and converted once, before the
// loop, to the mma A operand layout (which equals the accumulator's here).
// CHECK: %[[QLOAD:.*]] = tz.load
// CHECK: %[[Q:.*]] = tzgpu.convert_layout %[[QLOAD]] {{.*}} -> tensor<64x32xf16, #tzgpu.linear<reg = {{\[}}[0, 1], [8, 0], [0, 8], [0, 16]], lane = {{\[}}[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = {{\[}}[16, 0], [32, 0]]>>
// The running max and sum are carried in the accumulator layout without its
// columns (each row's value in the four lanes that hold the row).
// CHECK: scf.for {{.*}} -> (tensor<64xf32, #tzgpu.linear<reg = {{\[}}[0], [8], [0], [0]], lane = {{\[}}[0], [0], [1], [2], [4]], warp = {{\[}}[16], [32]]>>, tensor<64x32xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [8, 0], [0, 8], [0, 16]]
// CHECK-NOT: tzgpu.convert_layout
// k.T takes the transposed layout of the loaded k: registers run down K.
// CHECK: %[[KT:.*]] = tz.trans {{.*}} -> tensor<32x32xf16, #tzgpu.linear<reg = {{\[}}[1, 0], [2, 0], [0, 16]], lane = {{\[}}[4, 0], [8, 0], [16, 0], [0, 1], [0, 2]], warp = {{\[}}[0, 4], [0, 8]]>>
// CHECK-NOT: tzgpu.convert_layout
// CHECK: %[[S:.*]] = tz.dot %[[Q]], %[[KT]]
// CHECK-NOT: tzgpu.convert_layout
// The key mask is rebuilt from its index range in the scores' layout.
// CHECK: arith.cmpi slt, {{.*}} : tensor<1x32xi32, #tzgpu.linear<reg = {{\[}}[0, 1], [0, 0], [0, 8], [0, 16]]
// CHECK-NOT: tzgpu.convert_layout
// CHECK: tz.reduce max {{.*}} : tensor<64x32xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [8, 0], [0, 8], [0, 16]]{{.*}} -> tensor<64xf32, #tzgpu.linear<reg = {{\[}}[0], [8], [0], [0]]
// CHECK-NOT: tzgpu.convert_layout
// CHECK: %[[P:.*]] = math.exp2 {{.*}} : tensor<64x32xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [8, 0], [0, 8], [0, 16]]
// CHECK-NOT: tzgpu.convert_layout
// CHECK: tz.reduce sum %[[P]]
// CHECK-NOT: tzgpu.convert_layout
// P goes to the second dot straight from registers.
// CHECK: %[[P16:.*]] = arith.truncf %[[P]]
// CHECK-NOT: tzgpu.convert_layout
// CHECK: tz.dot %[[P16]]
// CHECK-NEXT: scf.yield
// The output goes back to the blocked layout once, to be stored.
// CHECK: arith.divf
// CHECK-NEXT: tzgpu.convert_layout
// CHECK-NEXT: tz.store
  func.func @attn(%arg0: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg3: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg4: i32) attributes {tz.kernel} {
    %cst = arith.constant dense<0xFF800000> : tensor<64x32xf32>
    %cst_0 = arith.constant dense<1.250000e-01> : tensor<64x32xf32>
    %cst_1 = arith.constant dense<32> : tensor<32x1xi32>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<64xf32>
    %cst_3 = arith.constant dense<0xFF800000> : tensor<64xf32>
    %cst_4 = arith.constant dense<32> : tensor<64x1xi32>
    %cst_5 = arith.constant dense<0.000000e+00> : tensor<64x32xf32>
    %c0_i32 = arith.constant 0 : i32
    %c32_i32 = arith.constant 32 : i32
    %0 = tz.make_range 0, 64 : tensor<64xi32>
    %1 = tz.make_range 0, 32 : tensor<32xi32>
    %2 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
    %3 = arith.muli %2, %cst_4 : tensor<64x1xi32>
    %4 = tz.splat %arg0 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>>
    %5 = tz.addptr %4, %3 : tensor<64x1x!tz.ptr<f16>>, tensor<64x1xi32>
    %6 = tz.expand_dims %1 {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
    %7 = tz.broadcast %5 : tensor<64x1x!tz.ptr<f16>> -> tensor<64x32x!tz.ptr<f16>>
    %8 = tz.broadcast %6 : tensor<1x32xi32> -> tensor<64x32xi32>
    %9 = tz.addptr %7, %8 : tensor<64x32x!tz.ptr<f16>>, tensor<64x32xi32>
    %10 = tz.load %9 : tensor<64x32x!tz.ptr<f16>> -> tensor<64x32xf16>
    %11:3 = scf.for %arg5 = %c0_i32 to %arg4 step %c32_i32 iter_args(%arg6 = %cst_2, %arg7 = %cst_5, %arg8 = %cst_3) -> (tensor<64xf32>, tensor<64x32xf32>, tensor<64xf32>)  : i32 {
      %19 = tz.splat %arg5 : i32 -> tensor<32xi32>
      %20 = arith.addi %19, %1 : tensor<32xi32>
      %21 = tz.expand_dims %20 {axis = 1 : i32} : tensor<32xi32> -> tensor<32x1xi32>
      %22 = arith.muli %21, %cst_1 : tensor<32x1xi32>
      %23 = tz.splat %arg1 : !tz.ptr<f16> -> tensor<32x1x!tz.ptr<f16>>
      %24 = tz.addptr %23, %22 : tensor<32x1x!tz.ptr<f16>>, tensor<32x1xi32>
      %25 = tz.broadcast %24 : tensor<32x1x!tz.ptr<f16>> -> tensor<32x32x!tz.ptr<f16>>
      %26 = tz.broadcast %6 : tensor<1x32xi32> -> tensor<32x32xi32>
      %27 = tz.addptr %25, %26 : tensor<32x32x!tz.ptr<f16>>, tensor<32x32xi32>
      %28 = tz.load %27 : tensor<32x32x!tz.ptr<f16>> -> tensor<32x32xf16>
      %29 = tz.trans %28 {order = array<i32: 1, 0>} : tensor<32x32xf16> -> tensor<32x32xf16>
      %30 = tz.dot %10, %29, %cst_5 : tensor<64x32xf16> * tensor<32x32xf16> -> tensor<64x32xf32>
      %31 = arith.mulf %30, %cst_0 : tensor<64x32xf32>
      %32 = tz.expand_dims %20 {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
      %33 = tz.splat %arg4 : i32 -> tensor<1x32xi32>
      %34 = arith.cmpi slt, %32, %33 : tensor<1x32xi32>
      %35 = tz.broadcast %34 : tensor<1x32xi1> -> tensor<64x32xi1>
      %36 = arith.select %35, %31, %cst : tensor<64x32xi1>, tensor<64x32xf32>
      %37 = tz.reduce  max %36 {axis = 1 : i32} : tensor<64x32xf32> -> tensor<64xf32>
      %38 = arith.maximumf %arg8, %37 : tensor<64xf32>
      %39 = tz.expand_dims %38 {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
      %40 = tz.broadcast %39 : tensor<64x1xf32> -> tensor<64x32xf32>
      %41 = arith.subf %36, %40 : tensor<64x32xf32>
      %42 = math.exp2 %41 : tensor<64x32xf32>
      %43 = arith.subf %arg8, %38 : tensor<64xf32>
      %44 = math.exp2 %43 : tensor<64xf32>
      %45 = arith.mulf %arg6, %44 : tensor<64xf32>
      %46 = tz.reduce  sum %42 {axis = 1 : i32} : tensor<64x32xf32> -> tensor<64xf32>
      %47 = arith.addf %45, %46 : tensor<64xf32>
      %48 = tz.splat %arg2 : !tz.ptr<f16> -> tensor<32x1x!tz.ptr<f16>>
      %49 = tz.addptr %48, %22 : tensor<32x1x!tz.ptr<f16>>, tensor<32x1xi32>
      %50 = tz.broadcast %49 : tensor<32x1x!tz.ptr<f16>> -> tensor<32x32x!tz.ptr<f16>>
      %51 = tz.addptr %50, %26 : tensor<32x32x!tz.ptr<f16>>, tensor<32x32xi32>
      %52 = tz.load %51 : tensor<32x32x!tz.ptr<f16>> -> tensor<32x32xf16>
      %53 = arith.truncf %42 : tensor<64x32xf32> to tensor<64x32xf16>
      %54 = tz.expand_dims %44 {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
      %55 = tz.broadcast %54 : tensor<64x1xf32> -> tensor<64x32xf32>
      %56 = arith.mulf %arg7, %55 : tensor<64x32xf32>
      %57 = tz.dot %53, %52, %56 : tensor<64x32xf16> * tensor<32x32xf16> -> tensor<64x32xf32>
      scf.yield %47, %57, %38 : tensor<64xf32>, tensor<64x32xf32>, tensor<64xf32>
    }
    %12 = tz.splat %arg3 : !tz.ptr<f32> -> tensor<64x1x!tz.ptr<f32>>
    %13 = tz.addptr %12, %3 : tensor<64x1x!tz.ptr<f32>>, tensor<64x1xi32>
    %14 = tz.broadcast %13 : tensor<64x1x!tz.ptr<f32>> -> tensor<64x32x!tz.ptr<f32>>
    %15 = tz.addptr %14, %8 : tensor<64x32x!tz.ptr<f32>>, tensor<64x32xi32>
    %16 = tz.expand_dims %11#0 {axis = 1 : i32} : tensor<64xf32> -> tensor<64x1xf32>
    %17 = tz.broadcast %16 : tensor<64x1xf32> -> tensor<64x32xf32>
    %18 = arith.divf %11#1, %17 : tensor<64x32xf32>
    tz.store %15, %18 : tensor<64x32x!tz.ptr<f32>>, tensor<64x32xf32>
    return
  }
