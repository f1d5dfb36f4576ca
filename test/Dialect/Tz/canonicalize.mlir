// Folders and canonicalization patterns of the tz ops.
// RUN: tz-opt %s --canonicalize --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @splat_of_constant
func.func @splat_of_constant() -> (tensor<4x8xf32>, tensor<16xi32>) {
  // CHECK-DAG: %[[F:.*]] = arith.constant dense<1.500000e+00> : tensor<4x8xf32>
  // CHECK-DAG: %[[I:.*]] = arith.constant dense<7> : tensor<16xi32>
  // CHECK-NOT: tz.splat
  // CHECK: return %[[F]], %[[I]]
  %f = arith.constant 1.5 : f32
  %i = arith.constant 7 : i32
  %0 = tz.splat %f : f32 -> tensor<4x8xf32>
  %1 = tz.splat %i : i32 -> tensor<16xi32>
  return %0, %1 : tensor<4x8xf32>, tensor<16xi32>
}

// -----

// A pointer is no constant: its splat stays.
// CHECK-LABEL: func.func @splat_of_argument
// CHECK-SAME: (%[[X:.*]]: f32, %[[P:.*]]: !tz.ptr<f32>)
func.func @splat_of_argument(%x: f32, %p: !tz.ptr<f32>) -> (tensor<4xf32>, tensor<4x!tz.ptr<f32>>) {
  // CHECK: tz.splat %[[X]] : f32 -> tensor<4xf32>
  // CHECK: tz.splat %[[P]] : !tz.ptr<f32> -> tensor<4x!tz.ptr<f32>>
  %0 = tz.splat %x : f32 -> tensor<4xf32>
  %1 = tz.splat %p : !tz.ptr<f32> -> tensor<4x!tz.ptr<f32>>
  return %0, %1 : tensor<4xf32>, tensor<4x!tz.ptr<f32>>
}

// -----

// CHECK-LABEL: func.func @broadcast_of_splat
// CHECK-SAME: (%[[X:.*]]: f32)
func.func @broadcast_of_splat(%x: f32) -> tensor<8x4xf32> {
  // CHECK: %[[S:.*]] = tz.splat %[[X]] : f32 -> tensor<8x4xf32>
  // CHECK-NOT: tz.broadcast
  // CHECK: return %[[S]]
  %0 = tz.splat %x : f32 -> tensor<1x4xf32>
  %1 = tz.broadcast %0 : tensor<1x4xf32> -> tensor<8x4xf32>
  return %1 : tensor<8x4xf32>
}

// -----

// CHECK-LABEL: func.func @broadcast_of_splat_constant
func.func @broadcast_of_splat_constant() -> tensor<8x4xi32> {
  // CHECK: %[[C:.*]] = arith.constant dense<3> : tensor<8x4xi32>
  // CHECK-NOT: tz.
  // CHECK: return %[[C]]
  %c = arith.constant dense<3> : tensor<1x4xi32>
  %0 = tz.broadcast %c : tensor<1x4xi32> -> tensor<8x4xi32>
  return %0 : tensor<8x4xi32>
}

// -----

// CHECK-LABEL: func.func @broadcast_of_broadcast
// CHECK-SAME: (%[[A:.*]]: tensor<1x1xf32>)
func.func @broadcast_of_broadcast(%a: tensor<1x1xf32>) -> tensor<8x4xf32> {
  // CHECK: %[[B:.*]] = tz.broadcast %[[A]] : tensor<1x1xf32> -> tensor<8x4xf32>
  // CHECK-NOT: tz.broadcast
  // CHECK: return %[[B]]
  %0 = tz.broadcast %a : tensor<1x1xf32> -> tensor<1x4xf32>
  %1 = tz.broadcast %0 : tensor<1x4xf32> -> tensor<8x4xf32>
  return %1 : tensor<8x4xf32>
}

// -----

// CHECK-LABEL: func.func @broadcast_to_same_type
// CHECK-SAME: (%[[A:.*]]: tensor<8x4xf32>)
func.func @broadcast_to_same_type(%a: tensor<8x4xf32>) -> tensor<8x4xf32> {
  // CHECK-NOT: tz.broadcast
  // CHECK: return %[[A]]
  %0 = tz.broadcast %a : tensor<8x4xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

// CHECK-LABEL: func.func @expand_dims_of_splat
// CHECK-SAME: (%[[X:.*]]: i32)
func.func @expand_dims_of_splat(%x: i32) -> tensor<16x1xi32> {
  // CHECK: %[[S:.*]] = tz.splat %[[X]] : i32 -> tensor<16x1xi32>
  // CHECK-NOT: tz.expand_dims
  // CHECK: return %[[S]]
  %0 = tz.splat %x : i32 -> tensor<16xi32>
  %1 = tz.expand_dims %0 {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
  return %1 : tensor<16x1xi32>
}

// -----

// x[:, None] of a splat broadcast to 2-D ends as one splat.
// CHECK-LABEL: func.func @expand_then_broadcast_of_splat
// CHECK-SAME: (%[[X:.*]]: i32)
func.func @expand_then_broadcast_of_splat(%x: i32) -> tensor<16x32xi32> {
  // CHECK: %[[S:.*]] = tz.splat %[[X]] : i32 -> tensor<16x32xi32>
  // CHECK-NEXT: return %[[S]]
  %0 = tz.splat %x : i32 -> tensor<16xi32>
  %1 = tz.expand_dims %0 {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
  %2 = tz.broadcast %1 : tensor<16x1xi32> -> tensor<16x32xi32>
  return %2 : tensor<16x32xi32>
}

// -----

// CHECK-LABEL: func.func @expand_dims_of_range
func.func @expand_dims_of_range() -> tensor<1x16xi32> {
  // CHECK: tz.expand_dims
  %0 = tz.make_range 0, 16 : tensor<16xi32>
  %1 = tz.expand_dims %0 {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32>
  return %1 : tensor<1x16xi32>
}

// -----

// CHECK-LABEL: func.func @addptr_zero_offset
// CHECK-SAME: (%[[P:.*]]: !tz.ptr<f32>, %[[PT:.*]]: tensor<4x!tz.ptr<f16>>)
func.func @addptr_zero_offset(%p: !tz.ptr<f32>, %pt: tensor<4x!tz.ptr<f16>>) -> (!tz.ptr<f32>, tensor<4x!tz.ptr<f16>>) {
  // CHECK-NOT: tz.addptr
  // CHECK: return %[[P]], %[[PT]]
  %z = arith.constant 0 : i64
  %zt = arith.constant dense<0> : tensor<4xi32>
  %0 = tz.addptr %p, %z : !tz.ptr<f32>, i64
  %1 = tz.addptr %pt, %zt : tensor<4x!tz.ptr<f16>>, tensor<4xi32>
  return %0, %1 : !tz.ptr<f32>, tensor<4x!tz.ptr<f16>>
}

// -----

// CHECK-LABEL: func.func @addptr_nonzero_offset
func.func @addptr_nonzero_offset(%p: !tz.ptr<f32>) -> !tz.ptr<f32> {
  // CHECK: tz.addptr
  %c = arith.constant 1 : i32
  %0 = tz.addptr %p, %c : !tz.ptr<f32>, i32
  return %0 : !tz.ptr<f32>
}

// -----

// CHECK-LABEL: func.func @trans_of_trans_2d
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>)
func.func @trans_of_trans_2d(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK-NOT: tz.trans
  // CHECK: return %[[A]]
  %0 = tz.trans %a {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  %1 = tz.trans %0 {order = array<i32: 1, 0>} : tensor<8x4xf32> -> tensor<4x8xf32>
  return %1 : tensor<4x8xf32>
}

// -----

// [1, 2, 0] undoes [2, 0, 1].
// CHECK-LABEL: func.func @trans_of_trans_inverse_3d
// CHECK-SAME: (%[[A:.*]]: tensor<2x4x8xf32>)
func.func @trans_of_trans_inverse_3d(%a: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  // CHECK-NOT: tz.trans
  // CHECK: return %[[A]]
  %0 = tz.trans %a {order = array<i32: 2, 0, 1>} : tensor<2x4x8xf32> -> tensor<8x2x4xf32>
  %1 = tz.trans %0 {order = array<i32: 1, 2, 0>} : tensor<8x2x4xf32> -> tensor<2x4x8xf32>
  return %1 : tensor<2x4x8xf32>
}

// -----

// [2, 0, 1] twice is [1, 2, 0], not the identity: both stay.
// CHECK-LABEL: func.func @trans_of_trans_not_inverse
func.func @trans_of_trans_not_inverse(%a: tensor<2x4x8xf32>) -> tensor<4x8x2xf32> {
  // CHECK: tz.trans %{{.*}} {order = array<i32: 2, 0, 1>} : tensor<2x4x8xf32> -> tensor<8x2x4xf32>
  // CHECK: tz.trans %{{.*}} {order = array<i32: 2, 0, 1>} : tensor<8x2x4xf32> -> tensor<4x8x2xf32>
  %0 = tz.trans %a {order = array<i32: 2, 0, 1>} : tensor<2x4x8xf32> -> tensor<8x2x4xf32>
  %1 = tz.trans %0 {order = array<i32: 2, 0, 1>} : tensor<8x2x4xf32> -> tensor<4x8x2xf32>
  return %1 : tensor<4x8x2xf32>
}

// -----

// CHECK-LABEL: func.func @identity_trans
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>)
func.func @identity_trans(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK-NOT: tz.trans
  // CHECK: return %[[A]]
  %0 = tz.trans %a {order = array<i32: 0, 1>} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @trans_of_splat_constant
func.func @trans_of_splat_constant() -> tensor<8x4xf16> {
  // CHECK: %[[C:.*]] = arith.constant dense<2.000000e+00> : tensor<8x4xf16>
  // CHECK-NEXT: return %[[C]]
  %c = arith.constant dense<2.0> : tensor<4x8xf16>
  %0 = tz.trans %c {order = array<i32: 1, 0>} : tensor<4x8xf16> -> tensor<8x4xf16>
  return %0 : tensor<8x4xf16>
}

// -----

// CHECK-LABEL: func.func @reshape_to_same_type
// CHECK-SAME: (%[[A:.*]]: tensor<4x8xf32>)
func.func @reshape_to_same_type(%a: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // CHECK-NOT: tz.reshape
  // CHECK: return %[[A]]
  %0 = tz.reshape %a : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// CHECK-LABEL: func.func @reshape_of_splat_constant
func.func @reshape_of_splat_constant() -> tensor<32xi8> {
  // CHECK: %[[C:.*]] = arith.constant dense<-1> : tensor<32xi8>
  // CHECK-NEXT: return %[[C]]
  %c = arith.constant dense<-1> : tensor<4x8xi8>
  %0 = tz.reshape %c : tensor<4x8xi8> -> tensor<32xi8>
  return %0 : tensor<32xi8>
}

// -----

// CHECK-LABEL: func.func @reshape_changes_shape
func.func @reshape_changes_shape(%a: tensor<4x8xf32>) -> tensor<32xf32> {
  // CHECK: tz.reshape
  %0 = tz.reshape %a : tensor<4x8xf32> -> tensor<32xf32>
  return %0 : tensor<32xf32>
}

// -----

// CHECK-LABEL: func.func @load_all_true_mask
// CHECK-SAME: (%[[P:.*]]: tensor<4x!tz.ptr<f32>>, %[[S:.*]]: !tz.ptr<i32>)
func.func @load_all_true_mask(%p: tensor<4x!tz.ptr<f32>>, %s: !tz.ptr<i32>) -> (tensor<4xf32>, i32) {
  // CHECK: %[[V:.*]] = tz.load %[[P]] : tensor<4x!tz.ptr<f32>> -> tensor<4xf32>
  // CHECK: %[[W:.*]] = tz.load %[[S]] : !tz.ptr<i32> -> i32
  // CHECK-NOT: mask
  // CHECK: return %[[V]], %[[W]]
  %m = arith.constant dense<true> : tensor<4xi1>
  %o = arith.constant dense<0.0> : tensor<4xf32>
  %t = arith.constant true
  %zero = arith.constant 0 : i32
  %0 = tz.load %p, mask %m, other %o : tensor<4x!tz.ptr<f32>> -> tensor<4xf32>, tensor<4xi1>, tensor<4xf32>
  %1 = tz.load %s, mask %t, other %zero : !tz.ptr<i32> -> i32, i1, i32
  return %0, %1 : tensor<4xf32>, i32
}

// -----

// CHECK-LABEL: func.func @load_all_false_mask_with_other
// CHECK-SAME: (%[[P:.*]]: tensor<4x!tz.ptr<f32>>, %[[O:.*]]: tensor<4xf32>)
func.func @load_all_false_mask_with_other(%p: tensor<4x!tz.ptr<f32>>, %o: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK-NOT: tz.load
  // CHECK: return %[[O]]
  %m = arith.constant dense<false> : tensor<4xi1>
  %0 = tz.load %p, mask %m, other %o : tensor<4x!tz.ptr<f32>> -> tensor<4xf32>, tensor<4xi1>, tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Without `other` the result is undefined; the load stays.
// CHECK-LABEL: func.func @load_all_false_mask_without_other
func.func @load_all_false_mask_without_other(%p: tensor<4x!tz.ptr<f32>>) -> tensor<4xf32> {
  // CHECK: tz.load %{{.*}}, mask %{{.*}} : tensor<4x!tz.ptr<f32>> -> tensor<4xf32>, tensor<4xi1>
  %m = arith.constant dense<false> : tensor<4xi1>
  %0 = tz.load %p, mask %m : tensor<4x!tz.ptr<f32>> -> tensor<4xf32>, tensor<4xi1>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @load_unknown_mask
// CHECK-SAME: (%[[P:.*]]: tensor<4x!tz.ptr<f32>>, %[[M:.*]]: tensor<4xi1>, %[[O:.*]]: tensor<4xf32>)
func.func @load_unknown_mask(%p: tensor<4x!tz.ptr<f32>>, %m: tensor<4xi1>, %o: tensor<4xf32>) -> tensor<4xf32> {
  // CHECK: tz.load %[[P]], mask %[[M]], other %[[O]]
  %0 = tz.load %p, mask %m, other %o : tensor<4x!tz.ptr<f32>> -> tensor<4xf32>, tensor<4xi1>, tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @store_all_false_mask
func.func @store_all_false_mask(%p: tensor<4x!tz.ptr<f32>>, %v: tensor<4xf32>, %s: !tz.ptr<f32>, %x: f32) {
  // CHECK-NOT: tz.store
  // CHECK: return
  %m = arith.constant dense<false> : tensor<4xi1>
  %f = arith.constant false
  tz.store %p, %v, mask %m : tensor<4x!tz.ptr<f32>>, tensor<4xf32>, tensor<4xi1>
  tz.store %s, %x, mask %f : !tz.ptr<f32>, f32, i1
  return
}

// -----

// CHECK-LABEL: func.func @store_all_true_mask
// CHECK-SAME: (%[[P:.*]]: tensor<4x!tz.ptr<f32>>, %[[V:.*]]: tensor<4xf32>)
func.func @store_all_true_mask(%p: tensor<4x!tz.ptr<f32>>, %v: tensor<4xf32>) {
  // CHECK: tz.store %[[P]], %[[V]] : tensor<4x!tz.ptr<f32>>, tensor<4xf32>
  // CHECK-NOT: mask
  %m = arith.constant dense<true> : tensor<4xi1>
  tz.store %p, %v, mask %m : tensor<4x!tz.ptr<f32>>, tensor<4xf32>, tensor<4xi1>
  return
}

// -----

// CHECK-LABEL: func.func @store_unknown_mask
// CHECK-SAME: (%[[P:.*]]: tensor<4x!tz.ptr<f32>>, %[[V:.*]]: tensor<4xf32>, %[[M:.*]]: tensor<4xi1>)
func.func @store_unknown_mask(%p: tensor<4x!tz.ptr<f32>>, %v: tensor<4xf32>, %m: tensor<4xi1>) {
  // CHECK: tz.store %[[P]], %[[V]], mask %[[M]]
  tz.store %p, %v, mask %m : tensor<4x!tz.ptr<f32>>, tensor<4xf32>, tensor<4xi1>
  return
}

// -----

// A mask built from a splat of `true` is all true once the splat folds.
// CHECK-LABEL: func.func @store_splat_true_mask
func.func @store_splat_true_mask(%p: tensor<4x!tz.ptr<f32>>, %v: tensor<4xf32>) {
  // CHECK: tz.store %{{.*}}, %{{.*}} : tensor<4x!tz.ptr<f32>>, tensor<4xf32>
  // CHECK-NOT: mask
  %t = arith.constant true
  %m = tz.splat %t : i1 -> tensor<4xi1>
  tz.store %p, %v, mask %m : tensor<4x!tz.ptr<f32>>, tensor<4xf32>, tensor<4xi1>
  return
}
