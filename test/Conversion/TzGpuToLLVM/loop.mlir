// A tile carried by scf.for becomes one loop-carried scalar per register:
// 256 elements over 128 threads are two f32 block arguments.
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s

// CHECK-LABEL: llvm.func @loop_carried
// CHECK: %[[ZERO:.*]] = llvm.mlir.constant(0.000000e+00 : f32) : f32
// CHECK: llvm.br ^[[HEAD:bb[0-9]+]](%{{[^,]*}}, %[[ZERO]], %[[ZERO]] : i32, f32, f32)
// CHECK: ^[[HEAD]](%[[I:[^:]*]]: i32, %[[ACC0:[^:]*]]: f32, %[[ACC1:[^:]*]]: f32):
// CHECK: %[[X0:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[X1:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[S0:.*]] = llvm.fadd %[[ACC0]], %[[X0]] : f32
// CHECK: %[[S1:.*]] = llvm.fadd %[[ACC1]], %[[X1]] : f32
// CHECK: llvm.br ^[[HEAD]](%{{[^,]*}}, %[[S0]], %[[S1]] : i32, f32, f32)
// CHECK: llvm.store %[[ACC0]], %{{.*}} : f32, !llvm.ptr<1>
// CHECK: llvm.store %[[ACC1]], %{{.*}} : f32, !llvm.ptr<1>
// CHECK-NOT: nvvm.barrier0
// CHECK: llvm.return
func.func @loop_carried(%p: !tz.ptr<f32>, %n: i32) {
  %zero = arith.constant dense<0.000000e+00> : tensor<256xf32>
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c256 = arith.constant 256 : i32
  %0 = tz.make_range 0, 256 : tensor<256xi32>
  %1 = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (tensor<256xf32>) : i32 {
    %off = arith.muli %i, %c256 : i32
    %q = tz.addptr %p, %off : !tz.ptr<f32>, i32
    %qs = tz.splat %q : !tz.ptr<f32> -> tensor<256x!tz.ptr<f32>>
    %qp = tz.addptr %qs, %0 : tensor<256x!tz.ptr<f32>>, tensor<256xi32>
    %x = tz.load %qp : tensor<256x!tz.ptr<f32>> -> tensor<256xf32>
    %sum = arith.addf %acc, %x : tensor<256xf32>
    scf.yield %sum : tensor<256xf32>
  }
  %ps = tz.splat %p : !tz.ptr<f32> -> tensor<256x!tz.ptr<f32>>
  %pp = tz.addptr %ps, %0 : tensor<256x!tz.ptr<f32>>, tensor<256xi32>
  tz.store %pp, %1 : tensor<256x!tz.ptr<f32>>, tensor<256xf32>
  return
}
