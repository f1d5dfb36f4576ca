// tz.reduce lowered from the layout's bases along the axis: registers of a
// thread combined in place, lane bits by butterfly shuffles, warp bits
// through shared memory.
// RUN: tz-opt %s --split-input-file --tzgpu-assign-layouts=num-warps=4 --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s

// 4x128 over 4 warps: each row is one warp, four consecutive columns per
// lane. The sum is three adds in registers, then five shuffles (lane
// offsets 1 to 16), with no shared memory before them.
// CHECK-LABEL: llvm.func @row_sum
// CHECK-NOT: nvvm.barrier0
// CHECK-NOT: !llvm.ptr<3>
// CHECK: %[[V0:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[V1:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[V2:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[V3:.*]] = llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[A1:.*]] = llvm.fadd %[[V0]], %[[V1]] : f32
// CHECK: %[[A2:.*]] = llvm.fadd %[[A1]], %[[V2]] : f32
// CHECK: %[[R0:.*]] = llvm.fadd %[[A2]], %[[V3]] : f32
// CHECK-NOT: nvvm.barrier0
// CHECK: %[[O1:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: %[[S1:.*]] = nvvm.shfl.sync bfly %{{.*}}, %[[R0]], %[[O1]], %{{.*}} : f32 -> f32
// CHECK: %[[R1:.*]] = llvm.fadd %[[R0]], %[[S1]] : f32
// CHECK: %[[O2:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK: %[[S2:.*]] = nvvm.shfl.sync bfly %{{.*}}, %[[R1]], %[[O2]], %{{.*}} : f32 -> f32
// CHECK: %[[R2:.*]] = llvm.fadd %[[R1]], %[[S2]] : f32
// CHECK: %[[O4:.*]] = llvm.mlir.constant(4 : i32) : i32
// CHECK: %[[S4:.*]] = nvvm.shfl.sync bfly %{{.*}}, %[[R2]], %[[O4]], %{{.*}} : f32 -> f32
// CHECK: %[[R4:.*]] = llvm.fadd %[[R2]], %[[S4]] : f32
// CHECK: %[[O8:.*]] = llvm.mlir.constant(8 : i32) : i32
// CHECK: %[[S8:.*]] = nvvm.shfl.sync bfly %{{.*}}, %[[R4]], %[[O8]], %{{.*}} : f32 -> f32
// CHECK: %[[R8:.*]] = llvm.fadd %[[R4]], %[[S8]] : f32
// CHECK: %[[O16:.*]] = llvm.mlir.constant(16 : i32) : i32
// CHECK: %[[S16:.*]] = nvvm.shfl.sync bfly %{{.*}}, %[[R8]], %[[O16]], %{{.*}} : f32 -> f32
// CHECK: llvm.fadd %[[R8]], %[[S16]] : f32
// CHECK-NOT: nvvm.shfl.sync
// CHECK: llvm.return
func.func @row_sum(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.splat %p : !tz.ptr<f32> -> tensor<4x128x!tz.ptr<f32>>
  %1 = tz.load %0 : tensor<4x128x!tz.ptr<f32>> -> tensor<4x128xf32>
  %2 = tz.reduce sum %1 {axis = 1 : i32} : tensor<4x128xf32> -> tensor<4xf32>
  %3 = tz.splat %p : !tz.ptr<f32> -> tensor<4x!tz.ptr<f32>>
  tz.store %3, %2 : tensor<4x!tz.ptr<f32>>, tensor<4xf32>
  return
}

// -----

// The same shape reduced with max: NaN-propagating maximum at every step.
// CHECK-LABEL: llvm.func @row_max
// CHECK-COUNT-3: llvm.intr.maximum(%{{.*}}, %{{.*}}) : (f32, f32) -> f32
// CHECK-COUNT-5: nvvm.shfl.sync bfly
// CHECK-NOT: nvvm.shfl.sync
// CHECK-NOT: llvm.fadd
// CHECK: llvm.return
func.func @row_max(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.splat %p : !tz.ptr<f32> -> tensor<4x128x!tz.ptr<f32>>
  %1 = tz.load %0 : tensor<4x128x!tz.ptr<f32>> -> tensor<4x128xf32>
  %2 = tz.reduce max %1 {axis = 1 : i32} : tensor<4x128xf32> -> tensor<4xf32>
  %3 = tz.splat %p : !tz.ptr<f32> -> tensor<4x!tz.ptr<f32>>
  tz.store %3, %2 : tensor<4x!tz.ptr<f32>>, tensor<4xf32>
  return
}

// -----

// 64x64 summed over the rows: rows lie in registers (8, 16, 32), in lane
// bit 4 (row 1) and in both warp bits (rows 2 and 4); each thread has four
// columns (registers 1, 2), so four partial sums. One shuffle each (offset
// 16), then each warp writes its partial sums to shared memory, a barrier,
// and every thread adds the four warps' slots of its four columns: 4 slots
// x 64 columns x 4 bytes of dynamic shared memory.
// CHECK: module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 1024 : i64}
// CHECK: llvm.mlir.global external @tz_shared_memory() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// CHECK-LABEL: llvm.func @column_sum
// CHECK-NOT: nvvm.barrier0
// CHECK-NOT: !llvm.ptr<3>
// CHECK-COUNT-4: llvm.mlir.constant(16 : i32) : i32{{[[:space:]].*}}llvm.mlir.constant(-1 : i32) : i32{{[[:space:]].*}}nvvm.shfl.sync bfly
// CHECK-NOT: nvvm.shfl.sync
// CHECK: %[[SHARED:.*]] = llvm.mlir.addressof @tz_shared_memory : !llvm.ptr<3>
// CHECK-NOT: nvvm.barrier0
// CHECK-COUNT-4: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr<3>
// CHECK-NEXT: nvvm.barrier0
// CHECK-COUNT-16: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK: llvm.fadd
// CHECK: nvvm.barrier0
// CHECK-NOT: nvvm.shfl.sync
// CHECK: llvm.return
func.func @column_sum(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.splat %p : !tz.ptr<f32> -> tensor<64x64x!tz.ptr<f32>>
  %1 = tz.load %0 : tensor<64x64x!tz.ptr<f32>> -> tensor<64x64xf32>
  %2 = tz.reduce sum %1 {axis = 0 : i32} : tensor<64x64xf32> -> tensor<64xf32>
  %3 = tz.splat %p : !tz.ptr<f32> -> tensor<64x!tz.ptr<f32>>
  tz.store %3, %2 : tensor<64x!tz.ptr<f32>>, tensor<64xf32>
  return
}

// -----

// A 1-D tile to a scalar over 4 warps: lanes by shuffles, warps through
// shared memory (4 slots x 1 output x 4 bytes), the scalar in every thread.
// CHECK: module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 16 : i64}
// CHECK-LABEL: llvm.func @total
// CHECK-COUNT-5: nvvm.shfl.sync bfly
// CHECK: llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK-COUNT-4: llvm.load %{{.*}} : !llvm.ptr<3> -> i32
// CHECK: nvvm.barrier0
// CHECK: llvm.return
func.func @total(%p: !tz.ptr<i32>) attributes {tz.kernel} {
  %0 = tz.splat %p : !tz.ptr<i32> -> tensor<512x!tz.ptr<i32>>
  %1 = tz.load %0 : tensor<512x!tz.ptr<i32>> -> tensor<512xi32>
  %2 = tz.reduce sum %1 {axis = 0 : i32} : tensor<512xi32> -> i32
  tz.store %p, %2 : !tz.ptr<i32>, i32
  return
}
