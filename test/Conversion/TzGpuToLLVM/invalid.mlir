// What convert-tzgpu-to-llvm refuses, one case each.
// RUN: tz-opt %s --split-input-file --tzgpu-assign-layouts --convert-tzgpu-to-llvm --verify-diagnostics
// Without tzgpu-assign-layouts every tile lacks a layout.
// RUN: not tz-opt %s --split-input-file --convert-tzgpu-to-llvm 2>&1 | FileCheck %s --check-prefix=NOLAYOUT

// NOLAYOUT: error: tile without a layout: run tzgpu-assign-layouts first
// NOLAYOUT-NEXT: %{{.*}} = tz.make_range 0, 128 : tensor<128xi32>

func.func @print(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.make_range 0, 128 : tensor<128xi32>
  %1 = tz.splat %p : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %2 = tz.addptr %1, %0 : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %3 = tz.load %2 : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
  // expected-error @+1 {{tz.print is not supported by the GPU backend yet; run the kernel on the interpreter (TZ_INTERPRET=1) to print from it}}
  tz.print "x" %3 : tensor<128xf32>
  return
}

// -----

func.func @assert(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %zero = arith.constant dense<0.000000e+00> : tensor<128xf32>
  %0 = tz.make_range 0, 128 : tensor<128xi32>
  %1 = tz.splat %p : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %2 = tz.addptr %1, %0 : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %3 = tz.load %2 : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
  %4 = arith.cmpf ogt, %3, %zero : tensor<128xf32>
  // expected-error @+1 {{tz.assert is not supported by the GPU backend yet}}
  tz.assert %4, "positive" : tensor<128xi1>
  return
}
