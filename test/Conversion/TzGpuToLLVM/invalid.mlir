// What convert-tzgpu-to-llvm refuses: tiles without a layout (run
// tzgpu-assign-layouts first).
// RUN: not tz-opt %s --convert-tzgpu-to-llvm 2>&1 | FileCheck %s

// CHECK: error: tile without a layout: run tzgpu-assign-layouts first
// CHECK-NEXT: %{{.*}} = tz.make_range 0, 128 : tensor<128xi32>

func.func @no_layout(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.make_range 0, 128 : tensor<128xi32>
  %1 = tz.splat %p : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %2 = tz.addptr %1, %0 : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %3 = tz.load %2 : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
  tz.store %2, %3 : tensor<128x!tz.ptr<f32>>, tensor<128xf32>
  return
}
