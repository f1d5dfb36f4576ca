// Shape ops lowered by remapping coordinates: in registers when every
// thread already holds what it needs, through shared memory otherwise.
// RUN: tz-opt %s --split-input-file --tzgpu-assign-layouts=num-warps=4 --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s

// A 32x32 transpose: the thread holding (i, j) does not hold (j, i), so the
// tile goes through shared memory (32 x 32 x 4 bytes): every thread stores
// its 8 registers, a barrier, loads 8, a barrier.
// CHECK: module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 4096 : i64}
// CHECK: llvm.mlir.global external @tz_shared_memory() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// CHECK-LABEL: llvm.func @transpose
// CHECK-NOT: nvvm.barrier0
// CHECK-COUNT-8: llvm.load %{{.*}} : !llvm.ptr<1> -> f32
// CHECK: %[[SHARED:.*]] = llvm.mlir.addressof @tz_shared_memory : !llvm.ptr<3>
// CHECK-NOT: nvvm.barrier0
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr<3>
// CHECK-NEXT: nvvm.barrier0
// CHECK-COUNT-8: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK-NEXT: nvvm.barrier0
// CHECK-NOT: nvvm.barrier0
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr<1>
// CHECK: llvm.return
func.func @transpose(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.splat %p : !tz.ptr<f32> -> tensor<32x32x!tz.ptr<f32>>
  %1 = tz.load %0 : tensor<32x32x!tz.ptr<f32>> -> tensor<32x32xf32>
  %2 = tz.trans %1 {order = array<i32: 1, 0>} : tensor<32x32xf32> -> tensor<32x32xf32>
  tz.store %0, %2 : tensor<32x32x!tz.ptr<f32>>, tensor<32x32xf32>
  return
}

// -----

// 512 offsets to a 1x512 row, broadcast to 2x512: the lanes and warps of
// all three layouts walk the columns the same way (four per lane), so each
// thread already holds its elements; the second row reuses the first
// row's registers. No shared memory, no barrier.
// CHECK-NOT: tzgpu.shared_bytes
// CHECK-NOT: llvm.mlir.global
// CHECK-LABEL: llvm.func @broadcast_row
// CHECK-SAME: (%[[P:[^:]*]]: !llvm.ptr<1>)
// CHECK-NOT: nvvm.barrier0
// CHECK-NOT: !llvm.ptr<3>
// CHECK: llvm.getelementptr %[[P]][%[[O0:[0-9a-zA-Z_]+]]]
// CHECK: llvm.getelementptr %[[P]][%[[O1:[0-9a-zA-Z_]+]]]
// CHECK: llvm.getelementptr %[[P]][%[[O2:[0-9a-zA-Z_]+]]]
// CHECK: llvm.getelementptr %[[P]][%[[O3:[0-9a-zA-Z_]+]]]
// CHECK: llvm.getelementptr %[[P]][%[[O0]]]
// CHECK: llvm.getelementptr %[[P]][%[[O1]]]
// CHECK: llvm.getelementptr %[[P]][%[[O2]]]
// CHECK: llvm.getelementptr %[[P]][%[[O3]]]
// CHECK-COUNT-8: llvm.load
// CHECK-COUNT-8: llvm.store
// CHECK-NOT: nvvm.barrier0
// CHECK-NOT: !llvm.ptr<3>
// CHECK: llvm.return
func.func @broadcast_row(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.make_range 0, 512 : tensor<512xi32>
  %1 = tz.expand_dims %0 {axis = 0 : i32} : tensor<512xi32> -> tensor<1x512xi32>
  %2 = tz.broadcast %1 : tensor<1x512xi32> -> tensor<2x512xi32>
  %3 = tz.splat %p : !tz.ptr<f32> -> tensor<2x512x!tz.ptr<f32>>
  %4 = tz.addptr %3, %2 : tensor<2x512x!tz.ptr<f32>>, tensor<2x512xi32>
  %5 = tz.load %4 : tensor<2x512x!tz.ptr<f32>> -> tensor<2x512xf32>
  tz.store %4, %5 : tensor<2x512x!tz.ptr<f32>>, tensor<2x512xf32>
  return
}

// -----

// A column instead: 64 offsets to 64x1 stays in registers too (the size-1
// dimension takes no lane or warp).
// CHECK-LABEL: llvm.func @expand_column
// CHECK-NOT: nvvm.barrier0
// CHECK-NOT: !llvm.ptr<3>
// CHECK: llvm.return
func.func @expand_column(%p: !tz.ptr<f32>) attributes {tz.kernel} {
  %0 = tz.make_range 0, 64 : tensor<64xi32>
  %1 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %2 = tz.splat %p : !tz.ptr<f32> -> tensor<64x1x!tz.ptr<f32>>
  %3 = tz.addptr %2, %1 : tensor<64x1x!tz.ptr<f32>>, tensor<64x1xi32>
  %4 = tz.load %3 : tensor<64x1x!tz.ptr<f32>> -> tensor<64x1xf32>
  tz.store %3, %4 : tensor<64x1x!tz.ptr<f32>>, tensor<64x1xf32>
  return
}
