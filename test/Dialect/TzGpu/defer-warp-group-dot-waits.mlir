// tzgpu-defer-warp-group-dot-waits on encoded IR after
// tzgpu-lower-warp-group-dots: a pipelined loop whose only MMA accumulates
// across iterations keeps it in flight (wait 1 in the loop, wait 0 after
// it) when its copies leave the MMA's slot alone until the next iteration's
// wait: S tiles per buffer, copies at most S - 2 iterations ahead.
// RUN: tz-opt %s --split-input-file --tzgpu-defer-warp-group-dot-waits | FileCheck %s

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
!buf = !tzgpu.memdesc<4x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
!tile = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// Four tiles, copies two iterations ahead (async_wait 1): deferred.
// CHECK-LABEL: func.func @four_stages_two_ahead
// CHECK: %[[R:.*]] = scf.for
// CHECK: %[[D:.*]] = tzgpu.warp_group_dot
// CHECK-NEXT: tzgpu.warp_group_dot_wait 1{{$}}
// CHECK-NEXT: scf.yield %[[D]]
// CHECK: %[[LAST:.*]] = tzgpu.warp_group_dot_wait 0, %[[R]]
// CHECK: arith.addf %[[LAST]], %[[LAST]]
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @four_stages_two_ahead(%pa: tensor<64x64x!tz.ptr<f16>, #blk>, %pb: tensor<64x64x!tz.ptr<f16>, #blk>, %n: i32, %init: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c2 = arith.constant 2 : i32
    %c4 = arith.constant 4 : i32
    %a = tzgpu.local_alloc : !buf
    %b = tzgpu.local_alloc : !buf
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (tensor<64x64xf32, #acc>) : i32 {
      tzgpu.async_wait 1 on %a, %b : !buf, !buf
      %next = arith.addi %i, %c2 : i32
      %ns = arith.remsi %next, %c4 : i32
      %av = tzgpu.memdesc_index %a[%ns] : !buf -> !tile
      tzgpu.async_copy %pa into %av : tensor<64x64x!tz.ptr<f16>, #blk> -> !tile
      %bv = tzgpu.memdesc_index %b[%ns] : !buf -> !tile
      tzgpu.async_copy %pb into %bv : tensor<64x64x!tz.ptr<f16>, #blk> -> !tile
      tzgpu.async_commit
      %s = arith.remsi %i, %c4 : i32
      %ra = tzgpu.memdesc_index %a[%s] : !buf -> !tile
      %rb = tzgpu.memdesc_index %b[%s] : !buf -> !tile
      %d = tzgpu.warp_group_dot %ra, %rb, %acc : !tile * !tile -> tensor<64x64xf32, #acc>
      %w = tzgpu.warp_group_dot_wait 0, %d : tensor<64x64xf32, #acc>
      scf.yield %w : tensor<64x64xf32, #acc>
    }
    tzgpu.async_wait 0 on %a, %b : !buf, !buf
    %f = arith.addf %r, %r : tensor<64x64xf32, #acc>
    return %f : tensor<64x64xf32, #acc>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
!buf = !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
!tile = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// Three tiles, copies two iterations ahead (async_wait 1): iteration i + 1
// refills the slot MMA(i) reads, so the wait stays.
// CHECK-LABEL: func.func @three_stages_two_ahead
// CHECK: tzgpu.warp_group_dot
// CHECK-NEXT: %[[W:.*]] = tzgpu.warp_group_dot_wait 0, %
// CHECK-NEXT: scf.yield %[[W]]
// CHECK-NOT: tzgpu.warp_group_dot_wait
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @three_stages_two_ahead(%pa: tensor<64x64x!tz.ptr<f16>, #blk>, %n: i32, %init: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c2 = arith.constant 2 : i32
    %c3 = arith.constant 3 : i32
    %a = tzgpu.local_alloc : !buf
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (tensor<64x64xf32, #acc>) : i32 {
      tzgpu.async_wait 1 on %a : !buf
      %next = arith.addi %i, %c2 : i32
      %ns = arith.remsi %next, %c3 : i32
      %av = tzgpu.memdesc_index %a[%ns] : !buf -> !tile
      tzgpu.async_copy %pa into %av : tensor<64x64x!tz.ptr<f16>, #blk> -> !tile
      tzgpu.async_commit
      %s = arith.remsi %i, %c3 : i32
      %ra = tzgpu.memdesc_index %a[%s] : !buf -> !tile
      %d = tzgpu.warp_group_dot %ra, %ra, %acc : !tile * !tile -> tensor<64x64xf32, #acc>
      %w = tzgpu.warp_group_dot_wait 0, %d : tensor<64x64xf32, #acc>
      scf.yield %w : tensor<64x64xf32, #acc>
    }
    return %r : tensor<64x64xf32, #acc>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
!tile = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// The accumulator is read in the loop (scaled before the next MMA): the
// MMA must be retired there, the wait stays.
// CHECK-LABEL: func.func @accumulator_read_in_loop
// CHECK: tzgpu.warp_group_dot
// CHECK-NEXT: tzgpu.warp_group_dot_wait 0, %
// CHECK-NOT: tzgpu.warp_group_dot_wait
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @accumulator_read_in_loop(%a: !tile, %b: !tile, %n: i32, %init: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (tensor<64x64xf32, #acc>) : i32 {
      %d = tzgpu.warp_group_dot %a, %b, %acc : !tile * !tile -> tensor<64x64xf32, #acc>
      %w = tzgpu.warp_group_dot_wait 0, %d : tensor<64x64xf32, #acc>
      %scaled = arith.mulf %w, %w : tensor<64x64xf32, #acc>
      scf.yield %scaled : tensor<64x64xf32, #acc>
    }
    return %r : tensor<64x64xf32, #acc>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
!tile = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// Buffers written before the loop and only read in it: deferred. A tile
// stored into a buffer in the loop is not a pipelined slot: not deferred.
// CHECK-LABEL: func.func @read_only_buffers
// CHECK: tzgpu.warp_group_dot
// CHECK-NEXT: tzgpu.warp_group_dot_wait 1{{$}}
// CHECK: tzgpu.warp_group_dot_wait 0, %
// CHECK-LABEL: func.func @stored_in_loop
// CHECK: tzgpu.local_store
// CHECK: tzgpu.warp_group_dot
// CHECK-NEXT: %[[W:.*]] = tzgpu.warp_group_dot_wait 0, %
// CHECK-NEXT: scf.yield %[[W]]
// CHECK-NOT: tzgpu.warp_group_dot_wait
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @read_only_buffers(%a: !tile, %b: !tile, %n: i32, %init: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (tensor<64x64xf32, #acc>) : i32 {
      %d = tzgpu.warp_group_dot %a, %b, %acc : !tile * !tile -> tensor<64x64xf32, #acc>
      %w = tzgpu.warp_group_dot_wait 0, %d : tensor<64x64xf32, #acc>
      scf.yield %w : tensor<64x64xf32, #acc>
    }
    return %r : tensor<64x64xf32, #acc>
  }
  func.func @stored_in_loop(%t: tensor<64x64xf16, #blk>, %b: !tile, %n: i32, %init: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %a = tzgpu.local_alloc : !tile
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (tensor<64x64xf32, #acc>) : i32 {
      tzgpu.local_store %t, %a : tensor<64x64xf16, #blk> -> !tile
      %d = tzgpu.warp_group_dot %a, %b, %acc : !tile * !tile -> tensor<64x64xf32, #acc>
      %w = tzgpu.warp_group_dot_wait 0, %d : tensor<64x64xf32, #acc>
      scf.yield %w : tensor<64x64xf32, #acc>
    }
    return %r : tensor<64x64xf32, #acc>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
!buf = !tzgpu.memdesc<4x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
!tile = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// A pipelined buffer that is a block argument (no defining op) is checked
// like an allocation: four tiles, copies two ahead, deferred.
// CHECK-LABEL: func.func @buffer_argument
// CHECK: tzgpu.warp_group_dot
// CHECK-NEXT: tzgpu.warp_group_dot_wait 1{{$}}
// CHECK: tzgpu.warp_group_dot_wait 0, %
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @buffer_argument(%a: !buf, %pa: tensor<64x64x!tz.ptr<f16>, #blk>, %n: i32, %init: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
    %c0 = arith.constant 0 : i32
    %c1 = arith.constant 1 : i32
    %c2 = arith.constant 2 : i32
    %c4 = arith.constant 4 : i32
    %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (tensor<64x64xf32, #acc>) : i32 {
      tzgpu.async_wait 1 on %a : !buf
      %next = arith.addi %i, %c2 : i32
      %ns = arith.remsi %next, %c4 : i32
      %av = tzgpu.memdesc_index %a[%ns] : !buf -> !tile
      tzgpu.async_copy %pa into %av : tensor<64x64x!tz.ptr<f16>, #blk> -> !tile
      tzgpu.async_commit
      %s = arith.remsi %i, %c4 : i32
      %ra = tzgpu.memdesc_index %a[%s] : !buf -> !tile
      %d = tzgpu.warp_group_dot %ra, %ra, %acc : !tile * !tile -> tensor<64x64xf32, #acc>
      %w = tzgpu.warp_group_dot_wait 0, %d : tensor<64x64xf32, #acc>
      scf.yield %w : tensor<64x64xf32, #acc>
    }
    return %r : tensor<64x64xf32, #acc>
  }
}
