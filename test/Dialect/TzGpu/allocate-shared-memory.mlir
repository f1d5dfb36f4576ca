// tzgpu-allocate-shared-memory on IR that already has buffers: each
// local_alloc gets an offset, buffers whose lifetimes overlap get disjoint
// bytes, the others share them, and the module records the total.
// RUN: tz-opt %s --split-input-file --tzgpu-allocate-shared-memory | FileCheck %s
// RUN: not tz-opt %s --split-input-file --tzgpu-allocate-shared-memory=max-bytes=8192 2>&1 | FileCheck %s --check-prefix=SMALL

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
// Two buffers alive at once (a and b), then c after both are dead: c
// reuses the bytes of the larger one (allocated first, at 0).
// CHECK-LABEL: module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 24576 : i64}
// CHECK: %[[A:.*]] = tzgpu.local_alloc {offset = 0 : i64} : !tzgpu.memdesc<2x64x64xf16
// CHECK: %[[B:.*]] = tzgpu.local_alloc {offset = 16384 : i64} : !tzgpu.memdesc<64x64xf16
// CHECK: %[[C:.*]] = tzgpu.local_alloc {offset = 0 : i64} : !tzgpu.memdesc<64x64xf16
// SMALL: error: kernel 'disjoint_lifetimes' needs 24576 bytes of shared memory, but a block may use at most 8192; the largest buffers:
// SMALL-NEXT: 16384 bytes for !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
module attributes {tzgpu.num_warps = 4 : i32} {
  func.func @disjoint_lifetimes(%x: tensor<64x64xf16, #blk>, %i: i32) -> tensor<64x64xf16, #blk> attributes {tz.kernel} {
    %a = tzgpu.local_alloc : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
    %b = tzgpu.local_alloc : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
    %a1 = tzgpu.memdesc_index %a[%i] : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
    tzgpu.local_store %x, %a1 : tensor<64x64xf16, #blk> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
    tzgpu.local_store %x, %b : tensor<64x64xf16, #blk> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
    %y = tzgpu.local_load %a1 : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf16, #blk>
    %z = tzgpu.local_load %b : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf16, #blk>
    %s = arith.addf %y, %z : tensor<64x64xf16, #blk>
    %c = tzgpu.local_alloc : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
    tzgpu.local_store %s, %c : tensor<64x64xf16, #blk> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
    %w = tzgpu.local_load %c : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf16, #blk>
    return %w : tensor<64x64xf16, #blk>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
// A buffer allocated before a loop and last used inside it lives through
// the whole loop: the buffer allocated in the loop body after its last
// use in program order still may not share its bytes. Padded buffers
// (16-byte aligned) pack without the 1024-byte alignment of swizzled ones.
// CHECK-LABEL: module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 18432 : i64}
// CHECK: tzgpu.local_alloc {offset = 0 : i64} : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
// CHECK: scf.for
// CHECK: tzgpu.local_alloc {offset = 9216 : i64} : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
// SMALL: error: kernel 'loop_keeps_outer_buffer' needs 18432 bytes
module attributes {tzgpu.num_warps = 4 : i32} {
  func.func @loop_keeps_outer_buffer(%x: tensor<64x64xf16, #blk>, %n: i32) -> tensor<64x64xf16, #blk> attributes {tz.kernel} {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %outer = tzgpu.local_alloc : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
    tzgpu.local_store %x, %outer : tensor<64x64xf16, #blk> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
    %r = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %x) -> (tensor<64x64xf16, #blk>) : i32 {
      %y = tzgpu.local_load %outer : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> tensor<64x64xf16, #blk>
      %s = arith.addf %acc, %y : tensor<64x64xf16, #blk>
      %inner = tzgpu.local_alloc : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
      tzgpu.local_store %s, %inner : tensor<64x64xf16, #blk> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
      %t = tzgpu.local_load %inner : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> tensor<64x64xf16, #blk>
      scf.yield %t : tensor<64x64xf16, #blk>
    }
    return %r : tensor<64x64xf16, #blk>
  }
}
