// tz.atomic_rmw on a tile whose layout has copies (32 elements over 128
// threads): the side effect happens once per element, by the thread that
// owns it, and the old value reaches the copies through the scratch space
// the allocation gave the op.
// RUN: tz-opt %s --convert-tzgpu-to-llvm | FileCheck %s

// CHECK-LABEL: llvm.func @fetch_add
// CHECK: %[[OWNER:.*]] = llvm.icmp "eq"
// CHECK: llvm.cond_br %[[OWNER]], ^[[DO:bb[0-9]+]], ^[[SKIP:bb[0-9]+]]
// CHECK: ^[[DO]]:
// CHECK-NEXT: %[[OLD:.*]] = llvm.atomicrmw fadd %{{.*}}, %{{.*}} acq_rel : !llvm.ptr<1>, f32
// CHECK-NOT: llvm.atomicrmw
// CHECK: llvm.store %{{.*}}, %{{.*}} : f32, !llvm.ptr<3>
// CHECK: nvvm.barrier0
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> f32
// CHECK-NEXT: nvvm.barrier0
#l0 = #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[0], [0]]>
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 128 : i64} {
  func.func @fetch_add(%arg0: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f32> {tz.divisibility = 16 : i32}) attributes {tz.kernel} {
    %cst = arith.constant dense<1.000000e+00> : tensor<32xf32, #l0>
    %0 = tz.make_range 0, 32 : tensor<32xi32, #l0>
    %1 = tz.splat %arg0 : !tz.ptr<f32> -> tensor<32x!tz.ptr<f32>, #l0>
    %2 = tz.addptr %1, %0 : tensor<32x!tz.ptr<f32>, #l0>, tensor<32xi32, #l0>
    %3 = tz.atomic_rmw  add %2, %cst {tzgpu.scratch_bytes = 128 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<32x!tz.ptr<f32>, #l0>, tensor<32xf32, #l0>
    %4 = tz.splat %arg1 : !tz.ptr<f32> -> tensor<32x!tz.ptr<f32>, #l0>
    %5 = tz.addptr %4, %0 : tensor<32x!tz.ptr<f32>, #l0>, tensor<32xi32, #l0>
    tz.store %5, %3 : tensor<32x!tz.ptr<f32>, #l0>, tensor<32xf32, #l0>
    return
  }
}
