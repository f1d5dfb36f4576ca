// The CUDA-core dot (f32 operands: no tensor-core unit) on encoded IR whose
// scratch is already allocated: each thread writes its A and B registers to
// the scratch space (A at its offset, B 16-byte aligned after it), the block
// synchronises, a loop over K reads one A element per accumulator row and
// one B element per column and accumulates with fma, and a barrier frees
// the scratch for the next user.
// RUN: tz-opt %s --convert-tzgpu-to-llvm | FileCheck %s

// CHECK-LABEL: llvm.func @fma_dot
// CHECK-COUNT-4: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr<3>
// CHECK-NEXT: nvvm.barrier0
// CHECK: llvm.cond_br
// CHECK-COUNT-3: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK-NEXT: llvm.call @__nv_fmaf
// CHECK-NEXT: llvm.call @__nv_fmaf
// CHECK: nvvm.barrier0
// CHECK: llvm.store %{{.*}} : vector<2xf32>, !llvm.ptr<1>
#l0 = #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [0, 0]], warp = [[0, 0], [0, 0]]>
#l1 = #tzgpu.linear<reg = [[0, 1]], lane = [[0, 2], [0, 4], [0, 8], [1, 0], [2, 0]], warp = [[4, 0], [8, 0]]>
#l2 = #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [0]], warp = [[0], [0]]>
#l3 = #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 0]], warp = [[0, 0], [0, 0]]>
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 2048 : i64} {
  func.func @fma_dot(%arg0: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<f32> {tz.divisibility = 16 : i32}) attributes {tz.kernel} {
    %cst = arith.constant dense<16> : tensor<16x1xi32, #l0>
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<16x16xf32, #l1>
    %0 = tz.make_range 0, 16 : tensor<16xi32, #l2>
    %1 = tz.expand_dims %0 {axis = 1 : i32} : tensor<16xi32, #l2> -> tensor<16x1xi32, #l0>
    %2 = arith.muli %1, %cst : tensor<16x1xi32, #l0>
    %3 = tz.splat %arg0 : !tz.ptr<f32> -> tensor<16x1x!tz.ptr<f32>, #l0>
    %4 = tz.addptr %3, %2 : tensor<16x1x!tz.ptr<f32>, #l0>, tensor<16x1xi32, #l0>
    %5 = tz.expand_dims %0 {axis = 0 : i32} : tensor<16xi32, #l2> -> tensor<1x16xi32, #l3>
    %6 = tz.broadcast %4 {tzgpu.scratch_bytes = 128 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<16x1x!tz.ptr<f32>, #l0> -> tensor<16x16x!tz.ptr<f32>, #l1>
    %7 = tz.broadcast %5 {tzgpu.scratch_bytes = 64 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<1x16xi32, #l3> -> tensor<16x16xi32, #l1>
    %8 = tz.addptr %6, %7 : tensor<16x16x!tz.ptr<f32>, #l1>, tensor<16x16xi32, #l1>
    %9 = tz.load %8 : tensor<16x16x!tz.ptr<f32>, #l1> -> tensor<16x16xf32, #l1>
    %10 = tz.splat %arg1 : !tz.ptr<f32> -> tensor<16x1x!tz.ptr<f32>, #l0>
    %11 = tz.addptr %10, %2 : tensor<16x1x!tz.ptr<f32>, #l0>, tensor<16x1xi32, #l0>
    %12 = tz.broadcast %11 {tzgpu.scratch_bytes = 128 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<16x1x!tz.ptr<f32>, #l0> -> tensor<16x16x!tz.ptr<f32>, #l1>
    %13 = tz.addptr %12, %7 : tensor<16x16x!tz.ptr<f32>, #l1>, tensor<16x16xi32, #l1>
    %14 = tz.load %13 : tensor<16x16x!tz.ptr<f32>, #l1> -> tensor<16x16xf32, #l1>
    %15 = tz.splat %arg2 : !tz.ptr<f32> -> tensor<16x1x!tz.ptr<f32>, #l0>
    %16 = tz.addptr %15, %2 : tensor<16x1x!tz.ptr<f32>, #l0>, tensor<16x1xi32, #l0>
    %17 = tz.broadcast %16 {tzgpu.scratch_bytes = 128 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<16x1x!tz.ptr<f32>, #l0> -> tensor<16x16x!tz.ptr<f32>, #l1>
    %18 = tz.addptr %17, %7 : tensor<16x16x!tz.ptr<f32>, #l1>, tensor<16x16xi32, #l1>
    %19 = tz.dot %9, %14, %cst_0 {tzgpu.scratch_bytes = 2048 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<16x16xf32, #l1> * tensor<16x16xf32, #l1> -> tensor<16x16xf32, #l1>
    tz.store %18, %19 : tensor<16x16x!tz.ptr<f32>, #l1>, tensor<16x16xf32, #l1>
    return
  }
}
