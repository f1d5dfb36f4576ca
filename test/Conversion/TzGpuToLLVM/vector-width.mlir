// Vector width of a 2-D load x[rows[:, None] * stride + cols[None, :]]
// masked by row only: the runs along the columns start at every row, so
// they are aligned only as far as the stride is. With a row stride of no
// known divisibility (139 elements, say) each element is loaded alone; with
// a stride divisible by 16 elements, as many as the layout gives a thread
// in a row (4 here) at a time.
// RUN: tz-opt %s --tzgpu-assign-layouts --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s

// CHECK-LABEL: llvm.func @odd_stride
// CHECK-NOT: vector<
// CHECK: llvm.return
// CHECK-LABEL: llvm.func @aligned_stride
// CHECK: llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<4xf16>
// CHECK: llvm.return
func.func @odd_stride(%x: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %y: !tz.ptr<f16> {tz.divisibility = 16 : i32},
                      %stride: i32, %n: i32) attributes {tz.kernel} {
  %zero = arith.constant dense<0.000000e+00> : tensor<32x64xf16>
  %rows = tz.make_range 0, 32 : tensor<32xi32>
  %cols = tz.make_range 0, 64 : tensor<64xi32>
  %r = tz.expand_dims %rows {axis = 1 : i32} : tensor<32xi32> -> tensor<32x1xi32>
  %s = tz.splat %stride : i32 -> tensor<32x1xi32>
  %roff = arith.muli %r, %s : tensor<32x1xi32>
  %rb = tz.broadcast %roff : tensor<32x1xi32> -> tensor<32x64xi32>
  %c = tz.expand_dims %cols {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %cb = tz.broadcast %c : tensor<1x64xi32> -> tensor<32x64xi32>
  %off = arith.addi %rb, %cb : tensor<32x64xi32>
  %base = tz.splat %x : !tz.ptr<f16> -> tensor<32x64x!tz.ptr<f16>>
  %ptrs = tz.addptr %base, %off : tensor<32x64x!tz.ptr<f16>>, tensor<32x64xi32>
  %ns = tz.splat %n : i32 -> tensor<32x1xi32>
  %rok = arith.cmpi slt, %r, %ns : tensor<32x1xi32>
  %mask = tz.broadcast %rok : tensor<32x1xi1> -> tensor<32x64xi1>
  %v = tz.load %ptrs, mask %mask, other %zero : tensor<32x64x!tz.ptr<f16>> -> tensor<32x64xf16>, tensor<32x64xi1>, tensor<32x64xf16>
  %ybase = tz.splat %y : !tz.ptr<f16> -> tensor<32x64x!tz.ptr<f16>>
  %yptrs = tz.addptr %ybase, %off : tensor<32x64x!tz.ptr<f16>>, tensor<32x64xi32>
  tz.store %yptrs, %v, mask %mask : tensor<32x64x!tz.ptr<f16>>, tensor<32x64xf16>, tensor<32x64xi1>
  return
}

func.func @aligned_stride(%x: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %y: !tz.ptr<f16> {tz.divisibility = 16 : i32},
                          %stride: i32 {tz.divisibility = 16 : i32}, %n: i32) attributes {tz.kernel} {
  %zero = arith.constant dense<0.000000e+00> : tensor<32x64xf16>
  %rows = tz.make_range 0, 32 : tensor<32xi32>
  %cols = tz.make_range 0, 64 : tensor<64xi32>
  %r = tz.expand_dims %rows {axis = 1 : i32} : tensor<32xi32> -> tensor<32x1xi32>
  %s = tz.splat %stride : i32 -> tensor<32x1xi32>
  %roff = arith.muli %r, %s : tensor<32x1xi32>
  %rb = tz.broadcast %roff : tensor<32x1xi32> -> tensor<32x64xi32>
  %c = tz.expand_dims %cols {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %cb = tz.broadcast %c : tensor<1x64xi32> -> tensor<32x64xi32>
  %off = arith.addi %rb, %cb : tensor<32x64xi32>
  %base = tz.splat %x : !tz.ptr<f16> -> tensor<32x64x!tz.ptr<f16>>
  %ptrs = tz.addptr %base, %off : tensor<32x64x!tz.ptr<f16>>, tensor<32x64xi32>
  %ns = tz.splat %n : i32 -> tensor<32x1xi32>
  %rok = arith.cmpi slt, %r, %ns : tensor<32x1xi32>
  %mask = tz.broadcast %rok : tensor<32x1xi1> -> tensor<32x64xi1>
  %v = tz.load %ptrs, mask %mask, other %zero : tensor<32x64x!tz.ptr<f16>> -> tensor<32x64xf16>, tensor<32x64xi1>, tensor<32x64xf16>
  %ybase = tz.splat %y : !tz.ptr<f16> -> tensor<32x64x!tz.ptr<f16>>
  %yptrs = tz.addptr %ybase, %off : tensor<32x64x!tz.ptr<f16>>, tensor<32x64xi32>
  tz.store %yptrs, %v, mask %mask : tensor<32x64x!tz.ptr<f16>>, tensor<32x64xf16>, tensor<32x64xi1>
  return
}
