// tzgpu-accelerate-dot: a dot of f16/bf16 into f32 with M % 16, N % 8 and
// K % 16 all zero gets its result (and accumulator) in the mma.sync m16n8k16
// accumulator layout, with conversions in and out; other dots keep the
// blocked layout and run on CUDA cores.
// RUN: tz-opt %s --split-input-file --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot | FileCheck %s

// 64x32 over 4 warps: 16 rows per warp, 16x8 blocks along N in registers.
// CHECK-LABEL: func.func @mma_f16
// CHECK: %[[ACC:.*]] = tzgpu.convert_layout %arg2 {{.*}} -> tensor<64x32xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [8, 0], [0, 8], [0, 16]], lane = {{\[}}[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = {{\[}}[16, 0], [32, 0]]>>
// CHECK: %[[D:.*]] = tz.dot %arg0, %arg1, %[[ACC]] {{.*}} -> tensor<64x32xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [8, 0], [0, 8], [0, 16]]
// CHECK: %[[BACK:.*]] = tzgpu.convert_layout %[[D]] {{.*}} -> tensor<64x32xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [0, 2], [16, 0], [32, 0]]
// CHECK: return %[[BACK]]
func.func @mma_f16(%a: tensor<64x32xf16>, %b: tensor<32x32xf16>, %c: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %r = tz.dot %a, %b, %c : tensor<64x32xf16> * tensor<32x32xf16> -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}

// -----

// f32 operands: no tensor cores here.
// CHECK-LABEL: func.func @fma_f32
// CHECK-NOT: tzgpu.convert_layout
// CHECK: tz.dot {{.*}} -> tensor<64x32xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [0, 2], [16, 0], [32, 0]]
func.func @fma_f32(%a: tensor<64x32xf32>, %b: tensor<32x32xf32>, %c: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %r = tz.dot %a, %b, %c : tensor<64x32xf32> * tensor<32x32xf32> -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}

// -----

// K = 8 is less than one m16n8k16 step.
// CHECK-LABEL: func.func @fma_small_k
// CHECK-NOT: tzgpu.convert_layout
// CHECK: tz.dot {{.*}} -> tensor<64x32xf32, #tzgpu.linear<reg = {{\[}}[0, 1], [0, 2], [16, 0], [32, 0]]
func.func @fma_small_k(%a: tensor<64x8xf16>, %b: tensor<8x32xf16>, %c: tensor<64x32xf32>) -> tensor<64x32xf32> {
  %r = tz.dot %a, %b, %c : tensor<64x8xf16> * tensor<8x32xf16> -> tensor<64x32xf32>
  return %r : tensor<64x32xf32>
}
