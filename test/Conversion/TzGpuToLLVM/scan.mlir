// tz.scan along a dimension that lanes and warps split, on encoded IR with
// its scratch allocated: the tile goes to the scratch space, the block
// synchronises, each thread walks the elements before each of its own
// (a running fadd per register), and a barrier frees the scratch before the
// results are stored, 16 bytes at a time.
// RUN: tz-opt %s --convert-tzgpu-to-llvm | FileCheck %s

// CHECK-LABEL: llvm.func @row_cumsum
// CHECK: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: llvm.cond_br
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK-NEXT: llvm.fadd
// CHECK: nvvm.barrier0
// CHECK: llvm.store {{.*}} : vector<4xf32>, !llvm.ptr<1>
#l0 = #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[0, 0], [0, 0]]>
#l1 = #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[0], [0]]>
#l2 = #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 0], [0, 0]]>
#l3 = #tzgpu.linear<reg = [[0, 1], [0, 2], [16, 0]], lane = [[0, 4], [0, 8], [0, 16], [1, 0], [2, 0]], warp = [[4, 0], [8, 0]]>
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 4096 : i64} {
  func.func @row_cumsum(%arg0: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f32> {tz.divisibility = 16 : i32}) attributes {tz.kernel} {
    %cst = arith.constant dense<32> : tensor<32x1xi32, #l0>
    %0 = tz.make_range 0, 32 : tensor<32xi32, #l1>
    %1 = tz.expand_dims %0 {axis = 1 : i32} : tensor<32xi32, #l1> -> tensor<32x1xi32, #l0>
    %2 = arith.muli %1, %cst : tensor<32x1xi32, #l0>
    %3 = tz.splat %arg0 : !tz.ptr<f32> -> tensor<32x1x!tz.ptr<f32>, #l0>
    %4 = tz.addptr %3, %2 : tensor<32x1x!tz.ptr<f32>, #l0>, tensor<32x1xi32, #l0>
    %5 = tz.expand_dims %0 {axis = 0 : i32} : tensor<32xi32, #l1> -> tensor<1x32xi32, #l2>
    %6 = tz.broadcast %4 {tzgpu.scratch_bytes = 256 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<32x1x!tz.ptr<f32>, #l0> -> tensor<32x32x!tz.ptr<f32>, #l3>
    %7 = tz.broadcast %5 {tzgpu.scratch_bytes = 128 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<1x32xi32, #l2> -> tensor<32x32xi32, #l3>
    %8 = tz.addptr %6, %7 : tensor<32x32x!tz.ptr<f32>, #l3>, tensor<32x32xi32, #l3>
    %9 = tz.load %8 : tensor<32x32x!tz.ptr<f32>, #l3> -> tensor<32x32xf32, #l3>
    %10 = tz.splat %arg1 : !tz.ptr<f32> -> tensor<32x1x!tz.ptr<f32>, #l0>
    %11 = tz.addptr %10, %2 : tensor<32x1x!tz.ptr<f32>, #l0>, tensor<32x1xi32, #l0>
    %12 = tz.broadcast %11 {tzgpu.scratch_bytes = 256 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<32x1x!tz.ptr<f32>, #l0> -> tensor<32x32x!tz.ptr<f32>, #l3>
    %13 = tz.addptr %12, %7 : tensor<32x32x!tz.ptr<f32>, #l3>, tensor<32x32xi32, #l3>
    %14 = tz.scan  sum %9 {axis = 1 : i32, tzgpu.scratch_bytes = 4096 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<32x32xf32, #l3>
    tz.store %13, %14 : tensor<32x32x!tz.ptr<f32>, #l3>, tensor<32x32xf32, #l3>
    return
  }
}
