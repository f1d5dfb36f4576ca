// tzgpu-assign-layouts: every tile gets LinearLayout::blocked of its shape
// over num-warps warps, and the module records tzgpu.num_warps.
// RUN: tz-opt %s --split-input-file --tzgpu-assign-layouts=num-warps=4 | FileCheck %s
// The default is 4 warps as well.
// RUN: tz-opt %s --split-input-file --tzgpu-assign-layouts | FileCheck %s
// RUN: tz-opt %s --split-input-file --tzgpu-assign-layouts=num-warps=1 | FileCheck %s --check-prefix=ONE
// RUN: not tz-opt %s --tzgpu-assign-layouts=num-warps=3 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not tz-opt %s --tzgpu-assign-layouts=num-warps=0 2>&1 | FileCheck %s --check-prefix=ZERO

// The value itself is not checked: the message prints the pass option
// (an Option<int>), which streams as nothing ("..., got "); reported.
// BAD: error: num_warps must be a power of two, got
// BAD-NOT: module attributes
// ZERO: error: num_warps must be a power of two, got

// 128 elements over 128 threads: one per thread, lanes then warps along the
// tile. Every tile of the function (constants, ranges, pointers, masks, the
// load's result) gets the same layout, so elementwise operands agree.
// CHECK: module attributes {tzgpu.num_warps = 4 : i32}
// CHECK-LABEL: func.func @tile_1d
// CHECK-SAME: (%{{.*}}: !tz.ptr<f32>, %{{.*}}: i32)
// CHECK: arith.constant dense<1.000000e+00> : tensor<128xf32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>>
// CHECK: tz.make_range 0, 128 : tensor<128xi32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>>
// CHECK: tz.splat %{{.*}} : i32 -> tensor<128xi32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>>
// CHECK: arith.cmpi slt, {{.*}} : tensor<128xi32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>>
// CHECK: tz.splat %{{.*}} : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>>
// CHECK: tz.load {{.*}} -> tensor<128xf32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>>, tensor<128xi1, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>>
// CHECK: arith.addf {{.*}} : tensor<128xf32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [16]], warp = {{\[}}[32], [64]]>>
// CHECK: tz.store
// With one warp, four consecutive elements per lane.
// ONE: module attributes {tzgpu.num_warps = 1 : i32}
// ONE-LABEL: func.func @tile_1d
// ONE: tz.make_range 0, 128 : tensor<128xi32, #tzgpu.linear<reg = {{\[}}[1], [2]], lane = {{\[}}[4], [8], [16], [32], [64]], warp = []>>
func.func @tile_1d(%p: !tz.ptr<f32>, %n: i32) {
  %one = arith.constant dense<1.000000e+00> : tensor<128xf32>
  %0 = tz.make_range 0, 128 : tensor<128xi32>
  %1 = tz.splat %n : i32 -> tensor<128xi32>
  %2 = arith.cmpi slt, %0, %1 : tensor<128xi32>
  %3 = tz.splat %p : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %4 = tz.addptr %3, %0 : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %5 = tz.load %4, mask %2 : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<128xi1>
  %6 = arith.addf %5, %one : tensor<128xf32>
  tz.store %4, %6, mask %2 : tensor<128x!tz.ptr<f32>>, tensor<128xf32>, tensor<128xi1>
  return
}

// -----

// 64x64: four consecutive columns per thread, 16 lanes across a row and 2
// down, warps down the rows; the other rows repeat in registers.
// CHECK: module attributes {tzgpu.num_warps = 4 : i32}
// CHECK-LABEL: func.func @tile_2d
// CHECK: tz.load {{.*}} -> tensor<64x64xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = {{\[}}[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = {{\[}}[2, 0], [4, 0]]>>
// The 64x1 and 1x64 tiles it is built from: one dimension of size 1, so
// the bits it would have taken select copies.
// CHECK: tz.expand_dims {{.*}} -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = {{\[}}[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = {{\[}}[32, 0], [0, 0]]>>
// CHECK: tz.expand_dims {{.*}} -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = {{\[}}[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = {{\[}}[0, 32], [0, 0]]>>
// CHECK: tz.broadcast {{.*}} -> tensor<64x64xi32, #tzgpu.linear<reg = {{\[}}[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = {{\[}}[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = {{\[}}[2, 0], [4, 0]]>>
// ONE-LABEL: func.func @tile_2d
// ONE: tz.load {{.*}} -> tensor<64x64xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [0, 2], [2, 0], [4, 0], [8, 0], [16, 0], [32, 0]], lane = {{\[}}[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = []>>
func.func @tile_2d(%p: !tz.ptr<f32>) {
  %0 = tz.splat %p : !tz.ptr<f32> -> tensor<64x64x!tz.ptr<f32>>
  %1 = tz.load %0 : tensor<64x64x!tz.ptr<f32>> -> tensor<64x64xf32>
  %2 = tz.make_range 0, 64 : tensor<64xi32>
  %3 = tz.expand_dims %2 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %4 = tz.expand_dims %2 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %5 = tz.broadcast %4 : tensor<1x64xi32> -> tensor<64x64xi32>
  %6 = tz.addptr %0, %5 : tensor<64x64x!tz.ptr<f32>>, tensor<64x64xi32>
  tz.store %6, %1 : tensor<64x64x!tz.ptr<f32>>, tensor<64x64xf32>
  return
}

// -----

// 16 elements for 128 threads: lanes 0-15 hold one each, lane bit 4 and
// both warp bits have zero bases (copies).
// CHECK: module attributes {tzgpu.num_warps = 4 : i32}
// CHECK-LABEL: func.func @small_tile
// CHECK: tz.make_range 0, 16 : tensor<16xi32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [0]], warp = {{\[}}[0], [0]]>>
// CHECK: arith.mulf {{.*}} : tensor<16xf32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [0]], warp = {{\[}}[0], [0]]>>
// ONE-LABEL: func.func @small_tile
// ONE: tz.make_range 0, 16 : tensor<16xi32, #tzgpu.linear<reg = [], lane = {{\[}}[1], [2], [4], [8], [0]], warp = []>>
func.func @small_tile(%p: !tz.ptr<f32>) {
  %two = arith.constant dense<2.000000e+00> : tensor<16xf32>
  %0 = tz.make_range 0, 16 : tensor<16xi32>
  %1 = tz.splat %p : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %2 = tz.addptr %1, %0 : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  %3 = tz.load %2 : tensor<16x!tz.ptr<f32>> -> tensor<16xf32>
  %4 = arith.mulf %3, %two : tensor<16xf32>
  tz.store %2, %4 : tensor<16x!tz.ptr<f32>>, tensor<16xf32>
  return
}

// -----

// A tile carried by scf.for: the initial value, the region's iter_arg, the
// yielded value and the loop's result all get the layout.
// CHECK: module attributes {tzgpu.num_warps = 4 : i32}
// CHECK-LABEL: func.func @loop_carried
// CHECK: %[[INIT:.*]] = arith.constant dense<0.000000e+00> : tensor<256xf32, #[[L:tzgpu.linear<reg = \[\[1\]\], lane = \[\[2\], \[4\], \[8\], \[16\], \[32\]\], warp = \[\[64\], \[128\]\]>]]>
// CHECK: %[[R:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (tensor<256xf32, #[[L]]>)
// CHECK: %[[X:.*]] = tz.load %{{.*}} -> tensor<256xf32, #[[L]]>
// CHECK: %[[SUM:.*]] = arith.addf %[[ACC]], %[[X]] : tensor<256xf32, #[[L]]>
// CHECK: scf.yield %[[SUM]] : tensor<256xf32, #[[L]]>
// CHECK: tz.store %{{.*}}, %[[R]] : tensor<256x!tz.ptr<f32>, #[[L]]>, tensor<256xf32, #[[L]]>
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
