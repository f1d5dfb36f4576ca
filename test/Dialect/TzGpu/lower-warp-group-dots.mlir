// tzgpu-lower-warp-group-dots on encoded IR after tzgpu-pipeline: a dot
// marked for a warpgroup MMA becomes tzgpu.warp_group_dot on buffers plus
// the wait that retires it. Operands read from swizzled buffers are read
// there (the loads go away); others are stored into new swizzled buffers.
// RUN: tz-opt %s --split-input-file --tzgpu-lower-warp-group-dots | FileCheck %s

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#blkT = #tzgpu.linear<reg = [[1, 0], [2, 0], [0, 8], [0, 16], [0, 32]], lane = [[4, 0], [8, 0], [16, 0], [32, 0], [0, 1]], warp = [[0, 2], [0, 4]]>
#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
!sw = !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// q K^T with both tiles in swizzled buffers: K's buffer holds K, which
// is B transposed, so B is read K-major.
// CHECK-LABEL: func.func @both_in_buffers
// CHECK-SAME: (%[[QB:.*]]: !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>, %[[KB:.*]]: !tzgpu.memdesc
// CHECK-NOT: tzgpu.local_load
// CHECK-NOT: tz.trans
// CHECK: %[[D:.*]] = tzgpu.warp_group_dot %[[QB]], %[[KB]], %{{.*}} {b_k_major} : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> * !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf32
// CHECK-NEXT: %[[R:.*]] = tzgpu.warp_group_dot_wait 0, %[[D]] : tensor<64x64xf32
// CHECK-NEXT: return %[[R]]
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @both_in_buffers(%qb: !sw, %kb: !sw, %acc: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
    %q = tzgpu.local_load %qb : !sw -> tensor<64x64xf16, #blk>
    %k = tzgpu.local_load %kb : !sw -> tensor<64x64xf16, #blk>
    %kt = tz.trans %k {order = array<i32: 1, 0>} : tensor<64x64xf16, #blk> -> tensor<64x64xf16, #blkT>
    %d = tz.dot %q, %kt, %acc : tensor<64x64xf16, #blk> * tensor<64x64xf16, #blkT> -> tensor<64x64xf32, #acc>
    return %d : tensor<64x64xf32, #acc>
  }
}

// -----

#blk = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#blkT = #tzgpu.linear<reg = [[1, 0], [2, 0], [0, 8], [0, 16], [0, 32]], lane = [[4, 0], [8, 0], [16, 0], [32, 0], [0, 1]], warp = [[0, 2], [0, 4]]>
#acc = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
// Tiles computed in registers go to buffers of their own. A row-major B is
// stored as it is; a B whose registers run down K (#blkT) is stored
// transposed, through a tz.trans that keeps its registers, and read
// K-major.
// CHECK-LABEL: func.func @from_registers
// CHECK: %[[AB:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK-NEXT: tzgpu.local_store %{{.*}}, %[[AB]]
// CHECK-NEXT: %[[BB:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK-NEXT: tzgpu.local_store %{{.*}}, %[[BB]] : tensor<64x64xf16, #{{.*}}> -> !tzgpu.memdesc
// CHECK-NEXT: %[[D1:.*]] = tzgpu.warp_group_dot %[[AB]], %[[BB]], %{{.*}} : !tzgpu.memdesc
// CHECK-NEXT: tzgpu.warp_group_dot_wait 0, %[[D1]]
// CHECK: %[[T:.*]] = tz.trans %{{.*}} {order = array<i32: 1, 0>} : tensor<64x64xf16, #{{.*}}> -> tensor<64x64xf16, #tzgpu.linear<reg = {{\[}}[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]]
// CHECK: tzgpu.local_store %[[T]], %[[BT:.*]] :
// CHECK-NEXT: tzgpu.warp_group_dot %{{.*}}, %[[BT]], %{{.*}} {b_k_major}
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @from_registers(%a: tensor<64x64xf16, #blk>, %b: tensor<64x64xf16, #blk>, %bt: tensor<64x64xf16, #blkT>, %acc: tensor<64x64xf32, #acc>) -> tensor<64x64xf32, #acc> {
    %a2 = arith.addf %a, %a : tensor<64x64xf16, #blk>
    %d1 = tz.dot %a2, %b, %acc : tensor<64x64xf16, #blk> * tensor<64x64xf16, #blk> -> tensor<64x64xf32, #acc>
    %d2 = tz.dot %a2, %bt, %d1 : tensor<64x64xf16, #blk> * tensor<64x64xf16, #blkT> -> tensor<64x64xf32, #acc>
    return %d2 : tensor<64x64xf32, #acc>
  }
}
