// device_print becomes vprintf calls (one per element a canonical thread
// holds, with the format string as a global); device_assert calls
// __assertfail where the condition is false.
// RUN: tz-opt %s --split-input-file --tzgpu-assign-layouts --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s

// CHECK-DAG: llvm.mlir.global internal constant @tz_str_{{[0-9]+}}("pid (%d, %d, %d) idx (%d) x %f\0A\00")
// CHECK-DAG: llvm.func @vprintf(!llvm.ptr, !llvm.ptr) -> i32
// CHECK-LABEL: llvm.func @print
// CHECK: nvvm.read.ptx.sreg.ctaid.x
// CHECK: llvm.fpext
// CHECK: llvm.call @vprintf
// CHECK-NOT: tz.print
func.func @print(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.make_range 0, 128 : tensor<128xi32>
  %1 = tz.splat %p : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %2 = tz.addptr %1, %0 : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %3 = tz.load %2 : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
  tz.print "x" %3 : tensor<128xf32>
  return
}

// -----

// CHECK-DAG: llvm.func @__assertfail(!llvm.ptr, !llvm.ptr, i32, !llvm.ptr, i64)
// CHECK-DAG: llvm.mlir.global internal constant @tz_str_{{[0-9]+}}("positive\00")
// CHECK-LABEL: llvm.func @assert
// CHECK: llvm.fcmp "ogt"
// CHECK: llvm.call @__assertfail
func.func @assert(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %zero = arith.constant dense<0.000000e+00> : tensor<128xf32>
  %0 = tz.make_range 0, 128 : tensor<128xi32>
  %1 = tz.splat %p : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %2 = tz.addptr %1, %0 : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %3 = tz.load %2 : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
  %4 = arith.cmpf ogt, %3, %zero : tensor<128xf32>
  tz.assert %4, "positive" : tensor<128xi1>
  return
}
