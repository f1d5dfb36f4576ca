// tzgpu-pipeline on a matmul loop: both operand loads (one masked with a
// zero `other`) become cp.async copies num-stages - 1 iterations ahead, into
// padded slots the dot reads with ldmatrix.
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot --tzgpu-remove-layout-conversions --canonicalize --cse --tzgpu-pipeline=num-stages=3 --canonicalize --cse | FileCheck %s
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot --tzgpu-remove-layout-conversions --canonicalize --cse --tzgpu-pipeline=num-stages=3 --canonicalize --cse --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s --check-prefix=LLVM
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-pipeline=num-stages=1 | FileCheck %s --check-prefix=OFF

// One buffer per operand, three tiles each, padded by 16 bytes a row for
// ldmatrix; the offsets come later (tzgpu-allocate-shared-memory).
// CHECK: module attributes {tzgpu.num_warps = 4 : i32}
// CHECK: %[[ABUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x64x32xf16, #tzgpu.shared<pad = 16>, mutable>
// CHECK: %[[BBUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x32x32xf16, #tzgpu.shared<pad = 16>, mutable>
// The prologue copies iterations 0 and 1 (tiles 0 and 1), each masked by
// "that iteration exists"; B's mask also keeps its own condition.
// CHECK: %[[A0:.*]] = tzgpu.memdesc_index %[[ABUF]][%c0_i32] : !tzgpu.memdesc<3x64x32xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<64x32xf16, #tzgpu.shared<pad = 16>, mutable>
// CHECK: tzgpu.async_copy %{{.*}} mask %{{.*}} into %[[A0]]
// CHECK: %[[B0:.*]] = tzgpu.memdesc_index %[[BBUF]][%c0_i32]
// CHECK: tzgpu.async_copy %{{.*}} mask %{{.*}} into %[[B0]]
// CHECK-NEXT: tzgpu.async_commit
// CHECK: %[[A1:.*]] = tzgpu.memdesc_index %[[ABUF]][%c1_i32]
// CHECK: tzgpu.async_copy {{.*}} into %[[A1]]
// CHECK: %[[B1:.*]] = tzgpu.memdesc_index %[[BBUF]][%c1_i32]
// CHECK: tzgpu.async_copy {{.*}} into %[[B1]]
// CHECK-NEXT: tzgpu.async_commit
// Each iteration waits until its own tile has landed (one group may stay
// in flight), refills the tile of iteration i + 2, then reads tile i % 3.
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %[[END:.*]] step %{{.*}} iter_args
// CHECK-NEXT: tzgpu.async_wait 1 on %[[ABUF]], %[[BBUF]]
// CHECK-NEXT: %[[I:.*]] = arith.divsi %[[K]], %c32_i32
// CHECK-NEXT: %[[SLOT:.*]] = arith.remsi %[[I]], %c3_i32
// CHECK-NEXT: %[[AHEAD:.*]] = arith.addi %[[I]], %c2_i32
// CHECK-NEXT: %[[NEXT:.*]] = arith.remsi %[[AHEAD]], %c3_i32
// CHECK-NEXT: %[[KNEXT:.*]] = arith.addi %[[K]], %c64_i32
// CHECK: arith.cmpi slt, %[[KNEXT]], %[[END]] : i32
// CHECK: %[[AN:.*]] = tzgpu.memdesc_index %[[ABUF]][%[[NEXT]]]
// CHECK: tzgpu.async_copy {{.*}} into %[[AN]]
// CHECK: %[[BN:.*]] = tzgpu.memdesc_index %[[BBUF]][%[[NEXT]]]
// CHECK: tzgpu.async_copy {{.*}} into %[[BN]]
// CHECK-NEXT: tzgpu.async_commit
// CHECK-NEXT: %[[AS:.*]] = tzgpu.memdesc_index %[[ABUF]][%[[SLOT]]]
// CHECK-NEXT: %[[A:.*]] = tzgpu.local_load %[[AS]] : !tzgpu.memdesc<64x32xf16, #tzgpu.shared<pad = 16>, mutable> -> tensor<64x32xf16
// CHECK-NEXT: %[[BS:.*]] = tzgpu.memdesc_index %[[BBUF]][%[[SLOT]]]
// CHECK-NEXT: %[[B:.*]] = tzgpu.local_load %[[BS]] : !tzgpu.memdesc<32x32xf16, #tzgpu.shared<pad = 16>, mutable> -> tensor<32x32xf16
// CHECK-NEXT: tz.dot %[[A]], %[[B]]
// CHECK-NOT: tz.load
// CHECK: tzgpu.async_wait 0 on %[[ABUF]], %[[BBUF]]
// CHECK-NEXT: tzgpu.convert_layout

// 16-byte copies (8 halves per thread along a row), zero-filled by a
// source size of 0 where masked; the dot reads both slots with ldmatrix.
// LLVM: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// LLVM: nvvm.cp.async.commit.group
// LLVM: nvvm.cp.async.wait.group 1
// LLVM-NEXT: nvvm.barrier0
// LLVM: nvvm.ldmatrix
// LLVM: nvvm.mma.sync
// LLVM: nvvm.cp.async.wait.group 0

// One stage: nothing changes.
// OFF-NOT: tzgpu.async_copy
// OFF: tz.load
module {
  func.func @matmul(%arg0: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg3: i32 {tz.divisibility = 16 : i32}) attributes {tz.kernel} {
    %cst = arith.constant dense<32> : tensor<64x1xi32>
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<32x32xf16>
    %cst_1 = arith.constant dense<32> : tensor<32x1xi32>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<64x32xf32>
    %c32_i32 = arith.constant 32 : i32
    %c0_i32 = arith.constant 0 : i32
    %0 = tz.make_range 0, 64 : tensor<64xi32>
    %1 = tz.make_range 0, 32 : tensor<32xi32>
    %2 = scf.for %arg4 = %c0_i32 to %arg3 step %c32_i32 iter_args(%arg5 = %cst_2) -> (tensor<64x32xf32>)  : i32 {
      %11 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
      %12 = tz.splat %arg3 : i32 -> tensor<64x1xi32>
      %13 = arith.muli %11, %12 : tensor<64x1xi32>
      %14 = tz.splat %arg0 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>>
      %15 = tz.addptr %14, %13 : tensor<64x1x!tz.ptr<f16>>, tensor<64x1xi32>
      %16 = tz.splat %arg4 : i32 -> tensor<32xi32>
      %17 = arith.addi %16, %1 : tensor<32xi32>
      %18 = tz.expand_dims %17 {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
      %19 = tz.broadcast %15 : tensor<64x1x!tz.ptr<f16>> -> tensor<64x32x!tz.ptr<f16>>
      %20 = tz.broadcast %18 : tensor<1x32xi32> -> tensor<64x32xi32>
      %21 = tz.addptr %19, %20 : tensor<64x32x!tz.ptr<f16>>, tensor<64x32xi32>
      %22 = tz.load %21 : tensor<64x32x!tz.ptr<f16>> -> tensor<64x32xf16>
      %23 = tz.expand_dims %17 {axis = 1 : i32} : tensor<32xi32> -> tensor<32x1xi32>
      %24 = arith.muli %23, %cst_1 : tensor<32x1xi32>
      %25 = tz.splat %arg1 : !tz.ptr<f16> -> tensor<32x1x!tz.ptr<f16>>
      %26 = tz.addptr %25, %24 : tensor<32x1x!tz.ptr<f16>>, tensor<32x1xi32>
      %27 = tz.expand_dims %1 {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
      %28 = tz.broadcast %26 : tensor<32x1x!tz.ptr<f16>> -> tensor<32x32x!tz.ptr<f16>>
      %29 = tz.broadcast %27 : tensor<1x32xi32> -> tensor<32x32xi32>
      %30 = tz.addptr %28, %29 : tensor<32x32x!tz.ptr<f16>>, tensor<32x32xi32>
      %31 = tz.splat %arg3 : i32 -> tensor<32x1xi32>
      %32 = arith.cmpi slt, %23, %31 : tensor<32x1xi32>
      %33 = tz.broadcast %32 : tensor<32x1xi1> -> tensor<32x32xi1>
      %34 = tz.load %30, mask %33, other %cst_0 : tensor<32x32x!tz.ptr<f16>> -> tensor<32x32xf16>, tensor<32x32xi1>, tensor<32x32xf16>
      %35 = tz.dot %22, %34, %arg5 : tensor<64x32xf16> * tensor<32x32xf16> -> tensor<64x32xf32>
      scf.yield %35 : tensor<64x32xf32>
    }
    %3 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
    %4 = arith.muli %3, %cst : tensor<64x1xi32>
    %5 = tz.splat %arg2 : !tz.ptr<f32> -> tensor<64x1x!tz.ptr<f32>>
    %6 = tz.addptr %5, %4 : tensor<64x1x!tz.ptr<f32>>, tensor<64x1xi32>
    %7 = tz.expand_dims %1 {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
    %8 = tz.broadcast %6 : tensor<64x1x!tz.ptr<f32>> -> tensor<64x32x!tz.ptr<f32>>
    %9 = tz.broadcast %7 : tensor<1x32xi32> -> tensor<64x32xi32>
    %10 = tz.addptr %8, %9 : tensor<64x32x!tz.ptr<f32>>, tensor<64x32xi32>
    tz.store %10, %2 : tensor<64x32x!tz.ptr<f32>>, tensor<64x32xf32>
    return
  }
}
