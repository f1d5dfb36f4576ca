// On sm_90a (tzgpu-accelerate-dot with wgmma) a 64x64x64 matmul step with 4
// warps runs as warpgroup MMAs: the dot is marked, its pipelined operand
// slots are swizzled (not padded) and 1024-byte aligned, and the lowering
// issues one wgmma.mma_async m64n64k16 per k step of 16 on descriptors of
// the slots, after a proxy fence that orders cp.async's writes before the
// tensor cores' reads.
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot=wgmma=1 --tzgpu-remove-layout-conversions --canonicalize --cse --tzgpu-pipeline=num-stages=3 --canonicalize --cse | FileCheck %s
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot=wgmma=1 --tzgpu-remove-layout-conversions --canonicalize --cse --tzgpu-pipeline=num-stages=3 --canonicalize --cse --tzgpu-lower-warp-group-dots --tzgpu-defer-warp-group-dot-waits --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s --check-prefix=LLVM
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot | FileCheck %s --check-prefix=SM80

// Buffers: 64 x 64 halves = 8192 bytes a tile, swizzled (not padded);
// 3 tiles for A, 3 for B.
// CHECK: module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma}
// CHECK: %[[ABUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: %[[BBUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: tzgpu.async_copy %{{.*}} mask %{{.*}} into %{{.*}} : {{.*}} -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// Only one tile is copied ahead (prologue and loop): the third slot is
// the one the MMA left in flight still reads (mmaGroupsInFlight).
// CHECK-COUNT-1: tzgpu.async_commit
// CHECK-NEXT: scf.for
// CHECK-NEXT: tzgpu.async_wait 0 on %[[ABUF]], %[[BBUF]]
// CHECK: tzgpu.async_commit
// CHECK-NEXT: %[[AT:.*]] = tzgpu.memdesc_index %[[ABUF]]
// CHECK-NEXT: %[[A:.*]] = tzgpu.local_load %[[AT]]
// CHECK-NEXT: %[[BT:.*]] = tzgpu.memdesc_index %[[BBUF]]
// CHECK-NEXT: %[[B:.*]] = tzgpu.local_load %[[BT]]
// CHECK-NEXT: tz.dot %[[A]], %[[B]], %{{.*}}

// The allocation places A at 0 and B at 24576, 1024-byte aligned.
// LLVM: tzgpu.shared_bytes = 49152
// LLVM: llvm.mlir.global external @tz_shared_memory() {addr_space = 3 : i32, alignment = 1024 : i64}
// The loop carries the accumulator and reads it nowhere else, so its MMA
// stays in flight into the next iteration: one of the three slots is left
// to it and the copies run one iteration ahead (wait for all but 0 groups).
// LLVM: nvvm.cp.async.wait.group 0
// LLVM-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// LLVM-NEXT: nvvm.barrier0
// Descriptors: swizzle mode 1 (128 bytes) in bits 62-63 and a stride of
// 1024 bytes (64 << 32) for both; B is N-major, its leading offset the
// 64 rows x 128 bytes of one 64-column block (512 << 16); A is K-major
// (leading offset unused: 1 << 16).
// LLVM-DAG: llvm.mlir.constant(4611686293338849280 : i64) : i64
// LLVM-DAG: llvm.mlir.constant(4611686293305360384 : i64) : i64
// LLVM: nvvm.wgmma.fence.aligned
// LLVM-NOT: nvvm.ldmatrix
// LLVM-COUNT-4: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16 {$0, {{.*}}}, $32, $33, p, 1, 1, 0, 1;
// LLVM-NOT: wgmma.mma_async
// LLVM: nvvm.wgmma.commit.group.sync.aligned
// LLVM-NEXT: nvvm.wgmma.wait.group.sync.aligned 1
// LLVM: llvm.inline_asm has_side_effects asm_dialect = att "wgmma.wait_group.sync.aligned 0;"
// LLVM: nvvm.cp.async.wait.group 0

// Without the option the dot keeps mma.sync.
// SM80: module attributes {tzgpu.num_warps = 4 : i32} {
// SM80-NOT: tzgpu.wgmma
// SM80: tz.dot
// SM80-NOT: tzgpu.wgmma
module {
  func.func @matmul(%arg0: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg3: i32 {tz.divisibility = 16 : i32}) attributes {tz.kernel} {
    %cst = arith.constant dense<64> : tensor<64x1xi32>
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<64x64xf16>
    %cst_1 = arith.constant dense<64> : tensor<64x1xi32>
    %cst_2 = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
    %c64_i32 = arith.constant 64 : i32
    %c0_i32 = arith.constant 0 : i32
    %0 = tz.make_range 0, 64 : tensor<64xi32>
    %1 = tz.make_range 0, 64 : tensor<64xi32>
    %2 = scf.for %arg4 = %c0_i32 to %arg3 step %c64_i32 iter_args(%arg5 = %cst_2) -> (tensor<64x64xf32>)  : i32 {
      %11 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
      %12 = tz.splat %arg3 : i32 -> tensor<64x1xi32>
      %13 = arith.muli %11, %12 : tensor<64x1xi32>
      %14 = tz.splat %arg0 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>>
      %15 = tz.addptr %14, %13 : tensor<64x1x!tz.ptr<f16>>, tensor<64x1xi32>
      %16 = tz.splat %arg4 : i32 -> tensor<64xi32>
      %17 = arith.addi %16, %1 : tensor<64xi32>
      %18 = tz.expand_dims %17 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
      %19 = tz.broadcast %15 : tensor<64x1x!tz.ptr<f16>> -> tensor<64x64x!tz.ptr<f16>>
      %20 = tz.broadcast %18 : tensor<1x64xi32> -> tensor<64x64xi32>
      %21 = tz.addptr %19, %20 : tensor<64x64x!tz.ptr<f16>>, tensor<64x64xi32>
      %22 = tz.load %21 : tensor<64x64x!tz.ptr<f16>> -> tensor<64x64xf16>
      %23 = tz.expand_dims %17 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
      %24 = arith.muli %23, %cst_1 : tensor<64x1xi32>
      %25 = tz.splat %arg1 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>>
      %26 = tz.addptr %25, %24 : tensor<64x1x!tz.ptr<f16>>, tensor<64x1xi32>
      %27 = tz.expand_dims %1 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
      %28 = tz.broadcast %26 : tensor<64x1x!tz.ptr<f16>> -> tensor<64x64x!tz.ptr<f16>>
      %29 = tz.broadcast %27 : tensor<1x64xi32> -> tensor<64x64xi32>
      %30 = tz.addptr %28, %29 : tensor<64x64x!tz.ptr<f16>>, tensor<64x64xi32>
      %31 = tz.splat %arg3 : i32 -> tensor<64x1xi32>
      %64 = arith.cmpi slt, %23, %31 : tensor<64x1xi32>
      %33 = tz.broadcast %64 : tensor<64x1xi1> -> tensor<64x64xi1>
      %34 = tz.load %30, mask %33, other %cst_0 : tensor<64x64x!tz.ptr<f16>> -> tensor<64x64xf16>, tensor<64x64xi1>, tensor<64x64xf16>
      %35 = tz.dot %22, %34, %arg5 : tensor<64x64xf16> * tensor<64x64xf16> -> tensor<64x64xf32>
      scf.yield %35 : tensor<64x64xf32>
    }
    %3 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
    %4 = arith.muli %3, %cst : tensor<64x1xi32>
    %5 = tz.splat %arg2 : !tz.ptr<f32> -> tensor<64x1x!tz.ptr<f32>>
    %6 = tz.addptr %5, %4 : tensor<64x1x!tz.ptr<f32>>, tensor<64x1xi32>
    %7 = tz.expand_dims %1 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %8 = tz.broadcast %6 : tensor<64x1x!tz.ptr<f32>> -> tensor<64x64x!tz.ptr<f32>>
    %9 = tz.broadcast %7 : tensor<1x64xi32> -> tensor<64x64xi32>
    %10 = tz.addptr %8, %9 : tensor<64x64x!tz.ptr<f32>>, tensor<64x64xi32>
    tz.store %10, %2 : tensor<64x64x!tz.ptr<f32>>, tensor<64x64xf32>
    return
  }
}
