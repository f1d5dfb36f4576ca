// A masked vector add through tzgpu-assign-layouts and convert-tzgpu-to-llvm:
// one element per thread (128 elements, 4 warps), offsets from the block id
// and the thread id, a guarded load and store, and nothing of tz left.
// RUN: tz-opt %s --tzgpu-assign-layouts --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s
// RUN: tz-opt %s --tzgpu-assign-layouts --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s --check-prefix=NOTZ

// Registers only: no shared memory.
// CHECK-NOT: tzgpu.shared_bytes
// CHECK-NOT: llvm.mlir.global
// CHECK: module attributes {tzgpu.num_warps = 4 : i32}
// CHECK-NOT: tzgpu.shared_bytes
// CHECK-NOT: llvm.mlir.global
// CHECK-LABEL: llvm.func @add
// CHECK-SAME: (%[[X:[^:]*]]: !llvm.ptr<1> {llvm.align = 16 : i64}, %[[N:[^:]*]]: i32)
// CHECK-SAME: attributes {nvvm.kernel, nvvm.maxntid = array<i32: 128, 1, 1>}
// CHECK: %[[PID:.*]] = nvvm.read.ptx.sreg.ctaid.x : i32
// CHECK: %[[START:.*]] = llvm.mul %[[PID]], %{{.*}} : i32
// CHECK: %[[TID:.*]] = nvvm.read.ptx.sreg.tid.x : i32
// The lane is tid & 31 and the warp tid >> 5.
// CHECK: llvm.and %[[TID]], %{{.*}} : i32
// CHECK: llvm.lshr %[[TID]], %{{.*}} : i32
// CHECK: %[[OFFS:.*]] = llvm.add %[[START]], %{{.*}} : i32
// CHECK: %[[MASK:.*]] = llvm.icmp "slt" %[[OFFS]], %[[N]] : i32
// CHECK: %[[PTR:.*]] = llvm.getelementptr %[[X]][%[[OFFS]]] : (!llvm.ptr<1>, i32) -> !llvm.ptr<1>, f32
// CHECK: llvm.cond_br %[[MASK]]
// CHECK: %[[LOADED:.*]] = llvm.load %[[PTR]] : !llvm.ptr<1> -> f32
// CHECK: %[[SUM:.*]] = llvm.fadd %{{.*}}, %{{.*}} : f32
// CHECK: llvm.cond_br %[[MASK]]
// CHECK: llvm.store %[[SUM]], %[[PTR]] : f32, !llvm.ptr<1>
// CHECK: llvm.return
// CHECK-NOT: nvvm.barrier0

// No tz or tzgpu op, pointer type or encoding survives.
// NOTZ-NOT: {{[^_a-z]tz\.[a-z]}}
// NOTZ-NOT: tzgpu.convert_layout
// NOTZ-NOT: #tzgpu
// NOTZ: llvm.func @add
// NOTZ-NOT: {{[^_a-z]tz\.[a-z]}}
// NOTZ-NOT: tzgpu.convert_layout
// NOTZ-NOT: #tzgpu
func.func @add(%x: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %n: i32) attributes {tz.kernel} {
  %one = arith.constant dense<1.000000e+00> : tensor<128xf32>
  %zero = arith.constant dense<0.000000e+00> : tensor<128xf32>
  %c128 = arith.constant 128 : i32
  %0 = tz.program_id 0 : i32
  %1 = arith.muli %0, %c128 : i32
  %2 = tz.make_range 0, 128 : tensor<128xi32>
  %3 = tz.splat %1 : i32 -> tensor<128xi32>
  %4 = arith.addi %3, %2 : tensor<128xi32>
  %5 = tz.splat %n : i32 -> tensor<128xi32>
  %6 = arith.cmpi slt, %4, %5 : tensor<128xi32>
  %7 = tz.splat %x : !tz.ptr<f32> -> tensor<128x!tz.ptr<f32>>
  %8 = tz.addptr %7, %4 : tensor<128x!tz.ptr<f32>>, tensor<128xi32>
  %9 = tz.load %8, mask %6, other %zero : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>, tensor<128xi1>, tensor<128xf32>
  %10 = arith.addf %9, %one : tensor<128xf32>
  tz.store %8, %10, mask %6 : tensor<128x!tz.ptr<f32>>, tensor<128xf32>, tensor<128xi1>
  return
}
