// One case per tz verifier error.
// RUN: tz-opt %s --split-input-file --verify-diagnostics

func.func @program_id_axis_3() -> i32 {
  // expected-error @+1 {{'tz.program_id' op attribute 'axis' failed to satisfy constraint}}
  %0 = tz.program_id 3 : i32
  return %0 : i32
}

// -----

func.func @num_programs_negative_axis() -> i32 {
  // expected-error @+1 {{'tz.num_programs' op attribute 'axis' failed to satisfy constraint}}
  %0 = tz.num_programs -1 : i32
  return %0 : i32
}

// -----

func.func @make_range_not_power_of_two() -> tensor<3xi32> {
  // expected-error @+1 {{'tz.make_range' op range size 3 must be a positive power of two}}
  %0 = tz.make_range 0, 3 : tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @make_range_empty() -> tensor<1xi32> {
  // expected-error @+1 {{'tz.make_range' op range size 0 must be a positive power of two}}
  %0 = tz.make_range 4, 4 : tensor<1xi32>
  return %0 : tensor<1xi32>
}

// -----

// The bounds are signed: -3..0 has 3 elements, not 2^32 - 3.
func.func @make_range_negative_start() -> tensor<3xi32> {
  // expected-error @+1 {{'tz.make_range' op range size 3 must be a positive power of two}}
  %0 = tz.make_range -3, 0 : tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

func.func @make_range_wrong_result() -> tensor<8xi32> {
  // expected-error @+1 {{'tz.make_range' op result must be a 1-D tile of 16 elements}}
  %0 = tz.make_range 16, 32 : tensor<8xi32>
  return %0 : tensor<8xi32>
}

// -----

func.func @splat_element_mismatch(%x: f32) -> tensor<4xf16> {
  // expected-error @+1 {{'tz.splat' op failed to verify that result element type matches the scalar}}
  %0 = "tz.splat"(%x) : (f32) -> tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @broadcast_rank(%x: tensor<16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'tz.broadcast' op source and result must have the same rank}}
  %0 = tz.broadcast %x : tensor<16xf32> -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @broadcast_bad_dim(%x: tensor<2x16xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{'tz.broadcast' op cannot broadcast dimension of size 2 to 4}}
  %0 = tz.broadcast %x : tensor<2x16xf32> -> tensor<4x16xf32>
  return %0 : tensor<4x16xf32>
}

// -----

func.func @expand_dims_bad_axis(%x: tensor<16xf32>) -> tensor<16x1xf32> {
  // expected-error @+1 {{'tz.expand_dims' op axis 2 is out of range for rank 2}}
  %0 = tz.expand_dims %x {axis = 2 : i32} : tensor<16xf32> -> tensor<16x1xf32>
  return %0 : tensor<16x1xf32>
}

// -----

func.func @expand_dims_negative_axis(%x: tensor<16xf32>) -> tensor<1x16xf32> {
  // expected-error @+1 {{'tz.expand_dims' op axis -1 is out of range for rank 2}}
  %0 = tz.expand_dims %x {axis = -1 : i32} : tensor<16xf32> -> tensor<1x16xf32>
  return %0 : tensor<1x16xf32>
}

// -----

func.func @expand_dims_bad_result(%x: tensor<16xf32>) -> tensor<16x1xf32> {
  // expected-error @+1 {{'tz.expand_dims' op result shape must be the source shape with a 1 inserted at axis}}
  %0 = tz.expand_dims %x {axis = 0 : i32} : tensor<16xf32> -> tensor<16x1xf32>
  return %0 : tensor<16x1xf32>
}

// -----

func.func @reshape_element_count(%x: tensor<4x8xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{'tz.reshape' op source and result must have the same number of elements}}
  %0 = tz.reshape %x : tensor<4x8xf32> -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

func.func @trans_order_length(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{'tz.trans' op order must name every dimension once}}
  %0 = tz.trans %x {order = array<i32: 1, 0, 2>} : tensor<4x8xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @trans_not_a_permutation(%x: tensor<4x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{'tz.trans' op order must be a permutation of the dimensions}}
  %0 = tz.trans %x {order = array<i32: 1, 1>} : tensor<4x8xf32> -> tensor<8x8xf32>
  return %0 : tensor<8x8xf32>
}

// -----

func.func @trans_out_of_range(%x: tensor<4x8xf32>) -> tensor<8x4xf32> {
  // expected-error @+1 {{'tz.trans' op order must be a permutation of the dimensions}}
  %0 = tz.trans %x {order = array<i32: 2, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
  return %0 : tensor<8x4xf32>
}

// -----

func.func @trans_bad_result(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{'tz.trans' op result shape must be the permuted source shape}}
  %0 = tz.trans %x {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @addptr_shape_mismatch(%p: tensor<128x!tz.ptr<f32>>, %o: tensor<64xi32>) -> tensor<128x!tz.ptr<f32>> {
  // expected-error @+1 {{'tz.addptr' op offset shape must match the pointer shape}}
  %0 = tz.addptr %p, %o : tensor<128x!tz.ptr<f32>>, tensor<64xi32>
  return %0 : tensor<128x!tz.ptr<f32>>
}

// -----

func.func @addptr_scalar_offset_on_tile(%p: tensor<128x!tz.ptr<f32>>, %o: i32) -> tensor<128x!tz.ptr<f32>> {
  // expected-error @+1 {{'tz.addptr' op offset shape must match the pointer shape}}
  %0 = tz.addptr %p, %o : tensor<128x!tz.ptr<f32>>, i32
  return %0 : tensor<128x!tz.ptr<f32>>
}

// -----

func.func @load_pointee_mismatch(%p: tensor<128x!tz.ptr<f32>>) -> tensor<128xf16> {
  // expected-error @+1 {{'tz.load' op value element type 'f16' does not match the pointee type 'f32'}}
  %0 = tz.load %p : tensor<128x!tz.ptr<f32>> -> tensor<128xf16>
  return %0 : tensor<128xf16>
}

// -----

func.func @load_result_shape(%p: tensor<128x!tz.ptr<f32>>) -> tensor<64xf32> {
  // expected-error @+1 {{'tz.load' op value shape must match the pointer shape}}
  %0 = tz.load %p : tensor<128x!tz.ptr<f32>> -> tensor<64xf32>
  return %0 : tensor<64xf32>
}

// -----

func.func @load_mask_shape(%p: tensor<128x!tz.ptr<f32>>, %m: tensor<64xi1>) -> tensor<128xf32> {
  // expected-error @+1 {{'tz.load' op mask shape must match the pointer shape}}
  %0 = tz.load %p, mask %m : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<64xi1>
  return %0 : tensor<128xf32>
}

// -----

func.func @load_other_shape(%p: tensor<128x!tz.ptr<f32>>, %m: tensor<128xi1>, %o: f32) -> tensor<128xf32> {
  // expected-error @+1 {{'tz.load' op other shape must match the pointer shape}}
  %0 = tz.load %p, mask %m, other %o : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<128xi1>, f32
  return %0 : tensor<128xf32>
}

// -----

func.func @load_other_type(%p: tensor<128x!tz.ptr<f32>>, %m: tensor<128xi1>, %o: tensor<128xf16>) -> tensor<128xf32> {
  // expected-error @+1 {{'tz.load' op other must have the result type}}
  %0 = tz.load %p, mask %m, other %o : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<128xi1>, tensor<128xf16>
  return %0 : tensor<128xf32>
}

// -----

// `other` without `mask` would never be used; the custom syntax cannot even
// print it back, so the generic form is the only way to write it.
func.func @load_other_without_mask(%p: !tz.ptr<f32>, %o: f32) -> f32 {
  // expected-error @+1 {{'tz.load' op other needs a mask}}
  %0 = "tz.load"(%p, %o) {operandSegmentSizes = array<i32: 1, 0, 1>} : (!tz.ptr<f32>, f32) -> f32
  return %0 : f32
}

// -----

func.func @store_pointee_mismatch(%p: !tz.ptr<f32>, %v: i32) {
  // expected-error @+1 {{'tz.store' op value element type 'i32' does not match the pointee type 'f32'}}
  tz.store %p, %v : !tz.ptr<f32>, i32
  return
}

// -----

func.func @store_shape(%p: tensor<128x!tz.ptr<f32>>, %v: tensor<64xf32>) {
  // expected-error @+1 {{'tz.store' op value shape must match the pointer shape}}
  tz.store %p, %v : tensor<128x!tz.ptr<f32>>, tensor<64xf32>
  return
}

// -----

func.func @store_scalar_value_to_tile(%p: tensor<128x!tz.ptr<f32>>, %v: f32) {
  // expected-error @+1 {{'tz.store' op value shape must match the pointer shape}}
  tz.store %p, %v : tensor<128x!tz.ptr<f32>>, f32
  return
}

// -----

func.func @store_mask_shape(%p: tensor<128x!tz.ptr<f32>>, %v: tensor<128xf32>, %m: tensor<1xi1>) {
  // expected-error @+1 {{'tz.store' op mask shape must match the pointer shape}}
  tz.store %p, %v, mask %m : tensor<128x!tz.ptr<f32>>, tensor<128xf32>, tensor<1xi1>
  return
}

// -----

func.func @atomic_bitwise_on_float(%p: !tz.ptr<f32>, %v: f32) -> f32 {
  // expected-error @+1 {{'tz.atomic_rmw' op bitwise atomics need integer elements}}
  %0 = tz.atomic_rmw and %p, %v : !tz.ptr<f32>, f32
  return %0 : f32
}

// -----

func.func @atomic_xor_on_float_tile(%p: tensor<8x!tz.ptr<f16>>, %v: tensor<8xf16>) -> tensor<8xf16> {
  // expected-error @+1 {{'tz.atomic_rmw' op bitwise atomics need integer elements}}
  %0 = tz.atomic_rmw xor %p, %v : tensor<8x!tz.ptr<f16>>, tensor<8xf16>
  return %0 : tensor<8xf16>
}

// -----

func.func @atomic_pointee_mismatch(%p: !tz.ptr<i64>, %v: i32) -> i32 {
  // expected-error @+1 {{'tz.atomic_rmw' op value element type 'i32' does not match the pointee type 'i64'}}
  %0 = tz.atomic_rmw add %p, %v : !tz.ptr<i64>, i32
  return %0 : i32
}

// -----

func.func @atomic_mask_shape(%p: tensor<8x!tz.ptr<i32>>, %v: tensor<8xi32>, %m: i1) -> tensor<8xi32> {
  // expected-error @+1 {{'tz.atomic_rmw' op mask shape must match the pointer shape}}
  %0 = tz.atomic_rmw add %p, %v, mask %m : tensor<8x!tz.ptr<i32>>, tensor<8xi32>, i1
  return %0 : tensor<8xi32>
}

// -----

func.func @atomic_result_type(%p: !tz.ptr<i32>, %v: i32) -> i64 {
  // expected-error @+1 {{'tz.atomic_rmw' op failed to verify that all of {value, result} have same type}}
  %0 = "tz.atomic_rmw"(%p, %v) {kind = #tz<atomic_kind add>} : (!tz.ptr<i32>, i32) -> i64
  return %0 : i64
}

// -----

func.func @atomic_cas_pointee_mismatch(%p: !tz.ptr<f32>, %v: i32) -> i32 {
  // expected-error @+1 {{'tz.atomic_cas' op value element type 'i32' does not match the pointee type 'f32'}}
  %0 = tz.atomic_cas %p, %v, %v : !tz.ptr<f32>, i32
  return %0 : i32
}

// -----

func.func @atomic_cas_types(%p: !tz.ptr<i32>, %c: i64, %v: i32) -> i32 {
  // expected-error @+1 {{'tz.atomic_cas' op failed to verify that all of {cmp, value, result} have same type}}
  %0 = "tz.atomic_cas"(%p, %c, %v) : (!tz.ptr<i32>, i64, i32) -> i32
  return %0 : i32
}

// -----

func.func @dot_not_2d(%a: tensor<16xf32>, %b: tensor<16x16xf32>, %c: tensor<16x16xf32>) -> tensor<16x16xf32> {
  // expected-error @+1 {{'tz.dot' op operands must be 2-D tiles}}
  %0 = tz.dot %a, %b, %c : tensor<16xf32> * tensor<16x16xf32> -> tensor<16x16xf32>
  return %0 : tensor<16x16xf32>
}

// -----

func.func @dot_inner_dims(%a: tensor<16x32xf16>, %b: tensor<16x64xf16>, %c: tensor<16x64xf32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'tz.dot' op inner dimensions differ: 32 vs 16}}
  %0 = tz.dot %a, %b, %c : tensor<16x32xf16> * tensor<16x64xf16> -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @dot_acc_shape(%a: tensor<16x32xf16>, %b: tensor<32x64xf16>, %c: tensor<64x16xf32>) -> tensor<64x16xf32> {
  // expected-error @+1 {{'tz.dot' op accumulator must be M x N}}
  %0 = tz.dot %a, %b, %c : tensor<16x32xf16> * tensor<32x64xf16> -> tensor<64x16xf32>
  return %0 : tensor<64x16xf32>
}

// -----

func.func @dot_mixed_inputs(%a: tensor<16x32xf16>, %b: tensor<32x64xbf16>, %c: tensor<16x64xf32>) -> tensor<16x64xf32> {
  // expected-error @+1 {{'tz.dot' op a and b must have the same element type}}
  %0 = tz.dot %a, %b, %c : tensor<16x32xf16> * tensor<32x64xbf16> -> tensor<16x64xf32>
  return %0 : tensor<16x64xf32>
}

// -----

func.func @dot_narrower_acc(%a: tensor<16x32xf32>, %b: tensor<32x64xf32>, %c: tensor<16x64xf16>) -> tensor<16x64xf16> {
  // expected-error @+1 {{'tz.dot' op accumulator must be at least as wide as the inputs}}
  %0 = tz.dot %a, %b, %c : tensor<16x32xf32> * tensor<32x64xf32> -> tensor<16x64xf16>
  return %0 : tensor<16x64xf16>
}

// -----

func.func @reduce_bad_axis(%x: tensor<16x32xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{'tz.reduce' op axis 2 is out of range for rank 2}}
  %0 = tz.reduce sum %x {axis = 2 : i32} : tensor<16x32xf32> -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

func.func @reduce_negative_axis(%x: tensor<16x32xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{'tz.reduce' op axis -1 is out of range for rank 2}}
  %0 = tz.reduce sum %x {axis = -1 : i32} : tensor<16x32xf32> -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

func.func @reduce_result_shape(%x: tensor<16x32xf32>) -> tensor<32xf32> {
  // expected-error @+1 {{'tz.reduce' op result type must be 'tensor<16xf32>'}}
  %0 = tz.reduce max %x {axis = 1 : i32} : tensor<16x32xf32> -> tensor<32xf32>
  return %0 : tensor<32xf32>
}

// -----

func.func @reduce_1d_to_tile(%x: tensor<32xf32>) -> tensor<1xf32> {
  // expected-error @+1 {{'tz.reduce' op result type must be 'f32'}}
  %0 = tz.reduce sum %x {axis = 0 : i32} : tensor<32xf32> -> tensor<1xf32>
  return %0 : tensor<1xf32>
}

// -----

func.func @argmax_result_type(%x: tensor<16x32xf32>) -> tensor<16xf32> {
  // expected-error @+1 {{'tz.reduce' op result type must be 'tensor<16xi32>'}}
  %0 = tz.reduce argmax %x {axis = 1 : i32} : tensor<16x32xf32> -> tensor<16xf32>
  return %0 : tensor<16xf32>
}

// -----

func.func @xor_sum_on_float(%x: tensor<32xf32>) -> f32 {
  // expected-error @+1 {{'tz.reduce' op xor_sum needs integer elements}}
  %0 = tz.reduce xor_sum %x {axis = 0 : i32} : tensor<32xf32> -> f32
  return %0 : f32
}

// -----

func.func @scan_bad_axis(%x: tensor<32xf32>) -> tensor<32xf32> {
  // expected-error @+1 {{'tz.scan' op axis 1 is out of range for rank 1}}
  %0 = tz.scan sum %x {axis = 1 : i32} : tensor<32xf32>
  return %0 : tensor<32xf32>
}

// -----

func.func @scan_negative_axis(%x: tensor<32xf32>) -> tensor<32xf32> {
  // expected-error @+1 {{'tz.scan' op axis -1 is out of range for rank 1}}
  %0 = tz.scan sum %x {axis = -1 : i32} : tensor<32xf32>
  return %0 : tensor<32xf32>
}

// -----

func.func @scan_argmax(%x: tensor<32xf32>) -> tensor<32xf32> {
  // expected-error @+1 {{'tz.scan' op a scan cannot use argmax or argmin}}
  %0 = tz.scan argmax %x {axis = 0 : i32} : tensor<32xf32>
  return %0 : tensor<32xf32>
}

// -----

func.func @scan_argmin(%x: tensor<4x8xi32>) -> tensor<4x8xi32> {
  // expected-error @+1 {{'tz.scan' op a scan cannot use argmax or argmin}}
  %0 = tz.scan argmin %x {axis = 1 : i32} : tensor<4x8xi32>
  return %0 : tensor<4x8xi32>
}
