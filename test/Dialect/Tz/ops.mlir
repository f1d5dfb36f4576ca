// Every tz op survives printing and parsing, in the custom and the generic form.
// RUN: tz-opt %s | tz-opt | FileCheck %s
// RUN: tz-opt %s --mlir-print-op-generic | tz-opt | FileCheck %s
// The %-forms of the tools, and locations, round-trip as well.
// RUN: %tz_opt %s --mlir-print-debuginfo | %tz_opt | %FileCheck %s

// CHECK-LABEL: func.func @program_ids
func.func @program_ids() -> (i32, i32, i32, i32) {
  // CHECK: tz.program_id 0 : i32
  // CHECK: tz.program_id 2 : i32
  // CHECK: tz.num_programs 0 : i32
  // CHECK: tz.num_programs 1 : i32
  %0 = tz.program_id 0 : i32
  %1 = tz.program_id 2 : i32
  %2 = tz.num_programs 0 : i32
  %3 = tz.num_programs 1 : i32
  return %0, %1, %2, %3 : i32, i32, i32, i32
}

// CHECK-LABEL: func.func @make_range
func.func @make_range() -> (tensor<128xi32>, tensor<1xi32>) {
  // CHECK: tz.make_range 0, 128 : tensor<128xi32>
  // CHECK: tz.make_range 5, 6 : tensor<1xi32>
  %0 = tz.make_range 0, 128 : tensor<128xi32>
  %1 = tz.make_range 5, 6 : tensor<1xi32>
  return %0, %1 : tensor<128xi32>, tensor<1xi32>
}

// CHECK-LABEL: func.func @splat
// CHECK-SAME: (%[[X:.*]]: f32, %[[P:.*]]: !tz.ptr<f16>)
func.func @splat(%x: f32, %p: !tz.ptr<f16>) -> (tensor<16x32xf32>, tensor<64x!tz.ptr<f16>>) {
  // CHECK: tz.splat %[[X]] : f32 -> tensor<16x32xf32>
  // CHECK: tz.splat %[[P]] : !tz.ptr<f16> -> tensor<64x!tz.ptr<f16>>
  %0 = tz.splat %x : f32 -> tensor<16x32xf32>
  %1 = tz.splat %p : !tz.ptr<f16> -> tensor<64x!tz.ptr<f16>>
  return %0, %1 : tensor<16x32xf32>, tensor<64x!tz.ptr<f16>>
}

// CHECK-LABEL: func.func @expand_and_broadcast
// CHECK-SAME: (%[[A:.*]]: tensor<16xi32>)
func.func @expand_and_broadcast(%a: tensor<16xi32>) -> (tensor<16x32xi32>, tensor<8x16xi32>) {
  // CHECK: %[[E1:.*]] = tz.expand_dims %[[A]] {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
  // CHECK: tz.broadcast %[[E1]] : tensor<16x1xi32> -> tensor<16x32xi32>
  // CHECK: %[[E0:.*]] = tz.expand_dims %[[A]] {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32>
  // CHECK: tz.broadcast %[[E0]] : tensor<1x16xi32> -> tensor<8x16xi32>
  %0 = tz.expand_dims %a {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
  %1 = tz.broadcast %0 : tensor<16x1xi32> -> tensor<16x32xi32>
  %2 = tz.expand_dims %a {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32>
  %3 = tz.broadcast %2 : tensor<1x16xi32> -> tensor<8x16xi32>
  return %1, %3 : tensor<16x32xi32>, tensor<8x16xi32>
}

// CHECK-LABEL: func.func @reshape_and_trans
// CHECK-SAME: (%[[B:.*]]: tensor<4x8xf32>)
func.func @reshape_and_trans(%b: tensor<4x8xf32>) -> (tensor<2x4x4xf32>, tensor<8x4xf32>, tensor<4x2x4xf32>) {
  // CHECK: %[[R:.*]] = tz.reshape %[[B]] : tensor<4x8xf32> -> tensor<2x4x4xf32>
  // CHECK: tz.trans %[[B]] {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  // CHECK: tz.trans %[[R]] {order = array<i32: 2, 0, 1>} : tensor<2x4x4xf32> -> tensor<4x2x4xf32>
  %0 = tz.reshape %b : tensor<4x8xf32> -> tensor<2x4x4xf32>
  %1 = tz.trans %b {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  %2 = tz.trans %0 {order = array<i32: 2, 0, 1>} : tensor<2x4x4xf32> -> tensor<4x2x4xf32>
  return %0, %1, %2 : tensor<2x4x4xf32>, tensor<8x4xf32>, tensor<4x2x4xf32>
}

// CHECK-LABEL: func.func @addptr
// CHECK-SAME: (%[[P:.*]]: !tz.ptr<f32>, %[[O:.*]]: i64, %[[PT:.*]]: tensor<128x!tz.ptr<f32>>, %[[OT:.*]]: tensor<128xi32>)
func.func @addptr(%p: !tz.ptr<f32>, %o: i64, %pt: tensor<128x!tz.ptr<f32>>, %ot: tensor<128xi32>)
    -> (!tz.ptr<f32>, tensor<128x!tz.ptr<f32>>) {
  // CHECK: tz.addptr %[[P]], %[[O]] : !tz.ptr<f32>, i64
  // CHECK: tz.addptr %[[PT]], %[[OT]] : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %0 = tz.addptr %p, %o : !tz.ptr<f32>, i64
  %1 = tz.addptr %pt, %ot : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  return %0, %1 : !tz.ptr<f32>, tensor<128x!tz.ptr<f32>>
}

// CHECK-LABEL: func.func @load
// CHECK-SAME: (%[[P:.*]]: !tz.ptr<f32>, %[[PT:.*]]: tensor<128x!tz.ptr<f32>>, %[[M:.*]]: tensor<128xi1>, %[[OT:.*]]: tensor<128xf32>)
func.func @load(%p: !tz.ptr<f32>, %pt: tensor<128x!tz.ptr<f32>>, %m: tensor<128xi1>, %other: tensor<128xf32>)
    -> (f32, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>) {
  // CHECK: tz.load %[[P]] : !tz.ptr<f32> -> f32
  // CHECK: tz.load %[[PT]] : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
  // CHECK: tz.load %[[PT]], mask %[[M]] : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<128xi1>
  // CHECK: tz.load %[[PT]], mask %[[M]], other %[[OT]] : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<128xi1>, tensor<128xf32>
  %0 = tz.load %p : !tz.ptr<f32> -> f32
  %1 = tz.load %pt : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
  %2 = tz.load %pt, mask %m : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<128xi1>
  %3 = tz.load %pt, mask %m, other %other : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<128xi1>, tensor<128xf32>
  return %0, %1, %2, %3 : f32, tensor<128xf32>, tensor<128xf32>, tensor<128xf32>
}

// CHECK-LABEL: func.func @scalar_masked_load
// CHECK-SAME: (%[[P:.*]]: !tz.ptr<i8>, %[[M:.*]]: i1, %[[O:.*]]: i8)
func.func @scalar_masked_load(%p: !tz.ptr<i8>, %m: i1, %o: i8) -> i8 {
  // CHECK: tz.load %[[P]], mask %[[M]], other %[[O]] : !tz.ptr<i8> -> i8, i1, i8
  %0 = tz.load %p, mask %m, other %o : !tz.ptr<i8> -> i8, i1, i8
  return %0 : i8
}

// CHECK-LABEL: func.func @store
// CHECK-SAME: (%[[P:.*]]: !tz.ptr<bf16>, %[[V:.*]]: bf16, %[[PT:.*]]: tensor<4x8x!tz.ptr<bf16>>, %[[VT:.*]]: tensor<4x8xbf16>, %[[M:.*]]: tensor<4x8xi1>)
func.func @store(%p: !tz.ptr<bf16>, %v: bf16, %pt: tensor<4x8x!tz.ptr<bf16>>, %vt: tensor<4x8xbf16>,
                 %m: tensor<4x8xi1>) {
  // CHECK: tz.store %[[P]], %[[V]] : !tz.ptr<bf16>, bf16
  // CHECK: tz.store %[[PT]], %[[VT]] : tensor<4x8x!tz.ptr<bf16>>, tensor<4x8xbf16>
  // CHECK: tz.store %[[PT]], %[[VT]], mask %[[M]] : tensor<4x8x!tz.ptr<bf16>>, tensor<4x8xbf16>, tensor<4x8xi1>
  tz.store %p, %v : !tz.ptr<bf16>, bf16
  tz.store %pt, %vt : tensor<4x8x!tz.ptr<bf16>>, tensor<4x8xbf16>
  tz.store %pt, %vt, mask %m : tensor<4x8x!tz.ptr<bf16>>, tensor<4x8xbf16>, tensor<4x8xi1>
  return
}

// CHECK-LABEL: func.func @atomics
// CHECK-SAME: (%[[P:.*]]: tensor<64x!tz.ptr<i32>>, %[[V:.*]]: tensor<64xi32>, %[[M:.*]]: tensor<64xi1>, %[[F:.*]]: !tz.ptr<f32>, %[[X:.*]]: f32)
func.func @atomics(%p: tensor<64x!tz.ptr<i32>>, %v: tensor<64xi32>, %m: tensor<64xi1>,
                   %f: !tz.ptr<f32>, %x: f32) {
  // CHECK: tz.atomic_rmw add %[[P]], %[[V]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  // CHECK: tz.atomic_rmw max %[[P]], %[[V]], mask %[[M]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>, tensor<64xi1>
  // CHECK: tz.atomic_rmw min %[[P]], %[[V]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  // CHECK: tz.atomic_rmw and %[[P]], %[[V]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  // CHECK: tz.atomic_rmw or %[[P]], %[[V]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  // CHECK: tz.atomic_rmw xor %[[P]], %[[V]], mask %[[M]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>, tensor<64xi1>
  // CHECK: tz.atomic_rmw xchg %[[P]], %[[V]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  // CHECK: tz.atomic_rmw add %[[F]], %[[X]] : !tz.ptr<f32>, f32
  // CHECK: tz.atomic_cas %[[P]], %[[V]], %[[V]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  // CHECK: tz.atomic_cas %[[F]], %[[X]], %[[X]] : !tz.ptr<f32>, f32
  %0 = tz.atomic_rmw add %p, %v : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  %1 = tz.atomic_rmw max %p, %v, mask %m : tensor<64x!tz.ptr<i32>>, tensor<64xi32>, tensor<64xi1>
  %2 = tz.atomic_rmw min %p, %v : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  %3 = tz.atomic_rmw and %p, %v : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  %4 = tz.atomic_rmw or %p, %v : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  %5 = tz.atomic_rmw xor %p, %v, mask %m : tensor<64x!tz.ptr<i32>>, tensor<64xi32>, tensor<64xi1>
  %6 = tz.atomic_rmw xchg %p, %v : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  %7 = tz.atomic_rmw add %f, %x : !tz.ptr<f32>, f32
  %8 = tz.atomic_cas %p, %v, %v : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
  %9 = tz.atomic_cas %f, %x, %x : !tz.ptr<f32>, f32
  return
}

// CHECK-LABEL: func.func @dot
// CHECK-SAME: (%[[A:.*]]: tensor<32x16xf16>, %[[B:.*]]: tensor<16x64xf16>, %[[C:.*]]: tensor<32x64xf32>, %[[D:.*]]: tensor<32x64xf16>)
func.func @dot(%a: tensor<32x16xf16>, %b: tensor<16x64xf16>, %acc: tensor<32x64xf32>, %acc16: tensor<32x64xf16>)
    -> (tensor<32x64xf32>, tensor<32x64xf16>) {
  // CHECK: tz.dot %[[A]], %[[B]], %[[C]] : tensor<32x16xf16> * tensor<16x64xf16> -> tensor<32x64xf32>
  // CHECK: tz.dot %[[A]], %[[B]], %[[D]] : tensor<32x16xf16> * tensor<16x64xf16> -> tensor<32x64xf16>
  %0 = tz.dot %a, %b, %acc : tensor<32x16xf16> * tensor<16x64xf16> -> tensor<32x64xf32>
  %1 = tz.dot %a, %b, %acc16 : tensor<32x16xf16> * tensor<16x64xf16> -> tensor<32x64xf16>
  return %0, %1 : tensor<32x64xf32>, tensor<32x64xf16>
}

// CHECK-LABEL: func.func @reduce
// CHECK-SAME: (%[[X:.*]]: tensor<16x32xf32>, %[[V:.*]]: tensor<64xi32>)
func.func @reduce(%x: tensor<16x32xf32>, %v: tensor<64xi32>)
    -> (tensor<16xf32>, tensor<32xf32>, tensor<16xi32>, i32, i32, tensor<32xf32>, tensor<16xf32>, i32, i32) {
  // CHECK: tz.reduce sum %[[X]] {axis = 1 : i32} : tensor<16x32xf32> -> tensor<16xf32>
  // CHECK: tz.reduce max %[[X]] {axis = 0 : i32} : tensor<16x32xf32> -> tensor<32xf32>
  // CHECK: tz.reduce argmax %[[X]] {axis = 1 : i32} : tensor<16x32xf32> -> tensor<16xi32>
  // CHECK: tz.reduce argmin %[[V]] {axis = 0 : i32} : tensor<64xi32> -> i32
  // CHECK: tz.reduce xor_sum %[[V]] {axis = 0 : i32} : tensor<64xi32> -> i32
  // CHECK: tz.reduce min %[[X]] {axis = 0 : i32} : tensor<16x32xf32> -> tensor<32xf32>
  // CHECK: tz.reduce prod %[[X]] {axis = 1 : i32} : tensor<16x32xf32> -> tensor<16xf32>
  // CHECK: tz.reduce sum %[[V]] {axis = 0 : i32} : tensor<64xi32> -> i32
  %0 = tz.reduce sum %x {axis = 1 : i32} : tensor<16x32xf32> -> tensor<16xf32>
  %1 = tz.reduce max %x {axis = 0 : i32} : tensor<16x32xf32> -> tensor<32xf32>
  %2 = tz.reduce argmax %x {axis = 1 : i32} : tensor<16x32xf32> -> tensor<16xi32>
  %3 = tz.reduce argmin %v {axis = 0 : i32} : tensor<64xi32> -> i32
  %4 = tz.reduce xor_sum %v {axis = 0 : i32} : tensor<64xi32> -> i32
  %5 = tz.reduce min %x {axis = 0 : i32} : tensor<16x32xf32> -> tensor<32xf32>
  %6 = tz.reduce prod %x {axis = 1 : i32} : tensor<16x32xf32> -> tensor<16xf32>
  %7 = tz.reduce sum %v {axis = 0 : i32} : tensor<64xi32> -> i32
  return %0, %1, %2, %3, %4, %5, %6, %7, %7
      : tensor<16xf32>, tensor<32xf32>, tensor<16xi32>, i32, i32, tensor<32xf32>, tensor<16xf32>, i32, i32
}

// CHECK-LABEL: func.func @scan
// CHECK-SAME: (%[[X:.*]]: tensor<16x32xf32>, %[[V:.*]]: tensor<64xi32>)
func.func @scan(%x: tensor<16x32xf32>, %v: tensor<64xi32>) -> (tensor<16x32xf32>, tensor<64xi32>, tensor<16x32xf32>) {
  // CHECK: tz.scan sum %[[X]] {axis = 1 : i32} : tensor<16x32xf32>
  // CHECK: tz.scan prod %[[V]] {axis = 0 : i32, reverse} : tensor<64xi32>
  // CHECK: tz.scan max %[[X]] {axis = 0 : i32} : tensor<16x32xf32>
  %0 = tz.scan sum %x {axis = 1 : i32} : tensor<16x32xf32>
  %1 = tz.scan prod %v {axis = 0 : i32, reverse} : tensor<64xi32>
  %2 = tz.scan max %x {axis = 0 : i32} : tensor<16x32xf32>
  return %0, %1, %2 : tensor<16x32xf32>, tensor<64xi32>, tensor<16x32xf32>
}

// CHECK-LABEL: func.func @debug
// CHECK-SAME: (%[[X:.*]]: tensor<16xf32>, %[[I:.*]]: i32, %[[C:.*]]: tensor<16xi1>, %[[S:.*]]: i1)
func.func @debug(%x: tensor<16xf32>, %i: i32, %c: tensor<16xi1>, %s: i1) {
  // CHECK: tz.print "x = " %[[X]], %[[I]] : tensor<16xf32>, i32
  // CHECK: tz.print "hello"
  // CHECK: tz.assert %[[C]], "x is negative" : tensor<16xi1>
  // CHECK: tz.assert %[[S]], "oops" : i1
  tz.print "x = " %x, %i : tensor<16xf32>, i32
  tz.print "hello"
  tz.assert %c, "x is negative" : tensor<16xi1>
  tz.assert %s, "oops" : i1
  return
}

// A kernel: the tz.kernel attribute and argument attributes round-trip too.
// CHECK-LABEL: func.func @kernel
// CHECK-SAME: (%{{.*}}: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %{{.*}}: i32) attributes {tz.kernel}
func.func @kernel(%out: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %n: i32) attributes {tz.kernel} {
  %pid = tz.program_id 0 : i32
  %c = arith.constant 64 : i32
  %start = arith.muli %pid, %c : i32
  %r = tz.make_range 0, 64 : tensor<64xi32>
  %s = tz.splat %start : i32 -> tensor<64xi32>
  %offs = arith.addi %s, %r : tensor<64xi32>
  %ns = tz.splat %n : i32 -> tensor<64xi32>
  %m = arith.cmpi slt, %offs, %ns : tensor<64xi32>
  %p = tz.splat %out : !tz.ptr<f32> -> tensor<64x!tz.ptr<f32>>
  %ptrs = tz.addptr %p, %offs : tensor<64x!tz.ptr<f32>>, tensor<64xi32>
  %v = arith.sitofp %offs : tensor<64xi32> to tensor<64xf32>
  // CHECK: tz.store %{{.*}}, %{{.*}}, mask %{{.*}} : tensor<64x!tz.ptr<f32>>, tensor<64xf32>, tensor<64xi1>
  tz.store %ptrs, %v, mask %m : tensor<64x!tz.ptr<f32>>, tensor<64xf32>, tensor<64xi1>
  return
}
