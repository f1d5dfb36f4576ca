// tzgpu-insert-barriers on IR whose buffers already have offsets: a
// barrier goes before an op that touches bytes another thread may still be
// writing (or reading, for a write) since the block last synchronised, and
// nowhere else.
// RUN: tz-opt %s --split-input-file --tzgpu-insert-barriers | FileCheck %s

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
!buf = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// Writes to disjoint buffers need no barrier; reading what was written
// does, once, and a second read of the same bytes does not.
// CHECK-LABEL: func.func @store_then_load
// CHECK: tzgpu.local_store %{{.*}}, %[[A:[0-9]+]] :
// CHECK-NEXT: tzgpu.local_store %{{.*}}, %[[B:[0-9]+]] :
// CHECK-NEXT: tzgpu.barrier
// CHECK-NEXT: tzgpu.local_load %[[A]]
// CHECK-NEXT: tzgpu.local_load %[[B]]
// CHECK-NOT: tzgpu.barrier
// CHECK: return
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 16384 : i64} {
  func.func @store_then_load(%x: tensor<64x64xf16, #blk>) -> tensor<64x64xf16, #blk> attributes {tz.kernel} {
    %a = tzgpu.local_alloc {offset = 0 : i64} : !buf
    %b = tzgpu.local_alloc {offset = 8192 : i64} : !buf
    tzgpu.local_store %x, %a : tensor<64x64xf16, #blk> -> !buf
    tzgpu.local_store %x, %b : tensor<64x64xf16, #blk> -> !buf
    %y = tzgpu.local_load %a : !buf -> tensor<64x64xf16, #blk>
    %z = tzgpu.local_load %b : !buf -> tensor<64x64xf16, #blk>
    %w = tzgpu.local_load %a : !buf -> tensor<64x64xf16, #blk>
    %s = arith.addf %y, %z : tensor<64x64xf16, #blk>
    %t = arith.addf %s, %w : tensor<64x64xf16, #blk>
    return %t : tensor<64x64xf16, #blk>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
!buf = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// Two buffers sharing bytes (lifetimes that did not overlap): writing the
// second must wait until every thread has read the first.
// CHECK-LABEL: func.func @reuse_after_read
// CHECK: tzgpu.local_load
// CHECK-NEXT: tzgpu.local_alloc
// CHECK-NEXT: tzgpu.barrier
// CHECK-NEXT: tzgpu.local_store
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 8192 : i64} {
  func.func @reuse_after_read(%x: tensor<64x64xf16, #blk>) -> tensor<64x64xf16, #blk> attributes {tz.kernel} {
    %a = tzgpu.local_alloc {offset = 0 : i64} : !buf
    %y = tzgpu.local_load %a : !buf -> tensor<64x64xf16, #blk>
    %c = tzgpu.local_alloc {offset = 0 : i64} : !buf
    tzgpu.local_store %y, %c : tensor<64x64xf16, #blk> -> !buf
    return %y : tensor<64x64xf16, #blk>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
!buf = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// In a loop the end of one iteration precedes the start of the next: the
// store at the end must wait for this iteration's read, and the read at
// the top for the previous iteration's store.
// CHECK-LABEL: func.func @loop_carried
// CHECK: scf.for
// CHECK-NEXT: tzgpu.barrier
// CHECK-NEXT: tzgpu.local_load
// CHECK-NEXT: arith.addf
// CHECK-NEXT: tzgpu.barrier
// CHECK-NEXT: tzgpu.local_store
// CHECK-NEXT: scf.yield
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 8192 : i64} {
  func.func @loop_carried(%x: tensor<64x64xf16, #blk>, %n: i32) -> tensor<64x64xf16, #blk> attributes {tz.kernel} {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %a = tzgpu.local_alloc {offset = 0 : i64} : !buf
    %r = scf.for %k = %c0 to %n step %c1 iter_args(%acc = %x) -> (tensor<64x64xf16, #blk>) : i32 {
      %y = tzgpu.local_load %a : !buf -> tensor<64x64xf16, #blk>
      %s = arith.addf %acc, %y : tensor<64x64xf16, #blk>
      tzgpu.local_store %s, %a : tensor<64x64xf16, #blk> -> !buf
      scf.yield %s : tensor<64x64xf16, #blk>
    }
    return %r : tensor<64x64xf16, #blk>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
!buf = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// An async_wait synchronises (its lowering ends with a barrier): the read
// after it needs no other.
// CHECK-LABEL: func.func @async_copy_then_wait
// CHECK: tzgpu.async_copy
// CHECK-NEXT: tzgpu.async_commit
// CHECK-NEXT: tzgpu.async_wait 0 on
// CHECK-NEXT: tzgpu.local_load
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 8192 : i64} {
  func.func @async_copy_then_wait(%p: tensor<64x64x!tz.ptr<f16>, #blk>) -> tensor<64x64xf16, #blk> attributes {tz.kernel} {
    %a = tzgpu.local_alloc {offset = 0 : i64} : !buf
    tzgpu.async_copy %p into %a : tensor<64x64x!tz.ptr<f16>, #blk> -> !buf
    tzgpu.async_commit
    tzgpu.async_wait 0 on %a : !buf
    %y = tzgpu.local_load %a : !buf -> tensor<64x64xf16, #blk>
    return %y : tensor<64x64xf16, #blk>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
!buf = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// A warpgroup MMA reads its buffers: the tensor cores must see every
// thread's stores, and a later store into the same bytes must wait until
// every warpgroup has retired its MMAs.
// CHECK-LABEL: func.func @warp_group_dot_operands
// CHECK: tzgpu.local_store
// CHECK-NEXT: tzgpu.local_store
// CHECK-NEXT: tzgpu.barrier
// CHECK-NEXT: tzgpu.warp_group_dot
// CHECK-NEXT: tzgpu.warp_group_dot_wait
// CHECK-NEXT: tzgpu.local_alloc
// CHECK-NEXT: tzgpu.barrier
// CHECK-NEXT: tzgpu.local_store
module attributes {tzgpu.num_warps = 8 : i32, tzgpu.shared_bytes = 16384 : i64, tzgpu.wgmma} {
  func.func @warp_group_dot_operands(%x: tensor<64x64xf16, #blk>, %c: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> attributes {tz.kernel} {
    %a = tzgpu.local_alloc {offset = 0 : i64} : !buf
    %b = tzgpu.local_alloc {offset = 8192 : i64} : !buf
    tzgpu.local_store %x, %a : tensor<64x64xf16, #blk> -> !buf
    tzgpu.local_store %x, %b : tensor<64x64xf16, #blk> -> !buf
    %d = tzgpu.warp_group_dot %a, %b, %c : !buf * !buf -> tensor<64x64xf32, #acc>
    %r = tzgpu.warp_group_dot_wait 0, %d : tensor<64x64xf32, #acc>
    %e = tzgpu.local_alloc {offset = 0 : i64} : !buf
    tzgpu.local_store %x, %e : tensor<64x64xf16, #blk> -> !buf
    return %r : tensor<64x64xf32, #acc>
  }
}
