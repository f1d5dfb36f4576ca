// The warpgroup-dot lowering on encoded IR whose buffers are already placed
// and synchronised (sm_90a, 4 warps, 64x64x64 f16 into f32; B copied ahead
// into a padded buffer, so tzgpu-lower-warp-group-dots stored both operands
// into swizzled buffers of their own): each local_store writes runs of
// registers as vectors and ends with a proxy fence (wgmma reads through the
// async proxy), the barrier tzgpu-insert-barriers put before the MMA
// follows, then four m64n64k16 MMAs (one per k step of 16) on descriptors
// form one commit group, and the wait retires the accumulator through
// inline assembly that passes every accumulator register through it.
// RUN: tz-opt %s --convert-tzgpu-to-llvm | FileCheck %s

// CHECK-LABEL: llvm.func @mm
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: nvvm.barrier0
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<4xf16>, !llvm.ptr<3>
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-COUNT-8: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<4xf16>, !llvm.ptr<3>
// CHECK-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// CHECK-NEXT: nvvm.barrier0
// CHECK: nvvm.wgmma.fence.aligned
// CHECK-COUNT-4: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16
// CHECK-NOT: wgmma.mma_async
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK-NEXT: llvm.inline_asm has_side_effects asm_dialect = att "wgmma.wait_group.sync.aligned 0;", "=f,=f,{{.*}},0,1,{{.*}},31"
#l0 = #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>
#l1 = #tzgpu.linear<reg = [[0, 0], [0, 0], [0, 0], [16, 0], [32, 0]], lane = [[0, 0], [0, 0], [0, 0], [1, 0], [2, 0]], warp = [[4, 0], [8, 0]]>
#l2 = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
#l3 = #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>
#l4 = #tzgpu.linear<reg = [[1], [2], [4], [0], [0]], lane = [[8], [16], [32], [0], [0]], warp = [[0], [0]]>
#l5 = #tzgpu.linear<reg = [[0], [0], [0], [16], [32]], lane = [[0], [0], [0], [1], [2]], warp = [[4], [8]]>
#l6 = #tzgpu.linear<reg = [[0, 1], [0, 2], [0, 4], [0, 0], [0, 0]], lane = [[0, 8], [0, 16], [0, 32], [0, 0], [0, 0]], warp = [[0, 0], [0, 0]]>
#l7 = #tzgpu.linear<reg = [[0, 1], [0, 2], [0, 4], [16, 0], [32, 0]], lane = [[0, 8], [0, 16], [0, 32], [1, 0], [2, 0]], warp = [[4, 0], [8, 0]]>
#l8 = #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>
#l9 = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 34816 : i64, tzgpu.wgmma} {
  func.func @mm(%arg0: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg3: i32) attributes {tz.kernel} {
    %c1_i32 = arith.constant 1 : i32
    %c2_i32 = arith.constant 2 : i32
    %cst = arith.constant dense<64> : tensor<64x1xi32, #l0>
    %cst_0 = arith.constant dense<64> : tensor<64x1xi32, #l1>
    %cst_1 = arith.constant dense<0.000000e+00> : tensor<64x64xf32, #l2>
    %c64_i32 = arith.constant 64 : i32
    %c0_i32 = arith.constant 0 : i32
    %0 = tz.make_range 0, 64 : tensor<64xi32, #l3>
    %1 = tz.make_range 0, 64 : tensor<64xi32, #l4>
    %2 = tz.make_range 0, 64 : tensor<64xi32, #l5>
    %3 = tzgpu.local_alloc {offset = 0 : i64} : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<pad = 16>, mutable>
    %4 = tz.expand_dims %2 {axis = 1 : i32} : tensor<64xi32, #l5> -> tensor<64x1xi32, #l1>
    %5 = arith.muli %4, %cst_0 : tensor<64x1xi32, #l1>
    %6 = tz.splat %arg1 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>, #l1>
    %7 = tz.addptr %6, %5 : tensor<64x1x!tz.ptr<f16>, #l1>, tensor<64x1xi32, #l1>
    %8 = tz.expand_dims %1 {axis = 0 : i32} : tensor<64xi32, #l4> -> tensor<1x64xi32, #l6>
    %9 = tz.broadcast %7 : tensor<64x1x!tz.ptr<f16>, #l1> -> tensor<64x64x!tz.ptr<f16>, #l7>
    %10 = tz.broadcast %8 : tensor<1x64xi32, #l6> -> tensor<64x64xi32, #l7>
    %11 = tz.addptr %9, %10 : tensor<64x64x!tz.ptr<f16>, #l7>, tensor<64x64xi32, #l7>
    %12 = arith.cmpi sgt, %arg3, %c0_i32 : i32
    %13 = tzgpu.memdesc_index %3[%c0_i32] : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
    %14 = tz.splat %12 : i1 -> tensor<64x64xi1, #l7>
    tzgpu.async_copy %11 mask %14 into %13 : tensor<64x64x!tz.ptr<f16>, #l7>, tensor<64x64xi1, #l7> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
    tzgpu.async_commit
    %15 = scf.for %arg4 = %c0_i32 to %arg3 step %c64_i32 iter_args(%arg5 = %cst_1) -> (tensor<64x64xf32, #l2>)  : i32 {
      tzgpu.async_wait 0 on %3 : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<pad = 16>, mutable>
      %25 = arith.divsi %arg4, %c64_i32 : i32
      %26 = arith.remsi %25, %c2_i32 : i32
      %27 = arith.addi %25, %c1_i32 : i32
      %28 = arith.remsi %27, %c2_i32 : i32
      %29 = arith.addi %arg4, %c64_i32 : i32
      %30 = tz.splat %29 : i32 -> tensor<64xi32, #l5>
      %31 = arith.addi %30, %2 : tensor<64xi32, #l5>
      %32 = tz.expand_dims %31 {axis = 1 : i32} : tensor<64xi32, #l5> -> tensor<64x1xi32, #l1>
      %33 = arith.muli %32, %cst_0 : tensor<64x1xi32, #l1>
      %34 = tz.addptr %6, %33 : tensor<64x1x!tz.ptr<f16>, #l1>, tensor<64x1xi32, #l1>
      %35 = tz.broadcast %34 : tensor<64x1x!tz.ptr<f16>, #l1> -> tensor<64x64x!tz.ptr<f16>, #l7>
      %36 = tz.addptr %35, %10 : tensor<64x64x!tz.ptr<f16>, #l7>, tensor<64x64xi32, #l7>
      %37 = arith.cmpi slt, %29, %arg3 : i32
      %38 = tzgpu.memdesc_index %3[%28] : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
      %39 = tz.splat %37 : i1 -> tensor<64x64xi1, #l7>
      tzgpu.async_copy %36 mask %39 into %38 : tensor<64x64x!tz.ptr<f16>, #l7>, tensor<64x64xi1, #l7> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
      tzgpu.async_commit
      %40 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32, #l3> -> tensor<64x1xi32, #l0>
      %41 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #l0>
      %42 = arith.muli %40, %41 : tensor<64x1xi32, #l0>
      %43 = tz.splat %arg0 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>, #l0>
      %44 = tz.addptr %43, %42 : tensor<64x1x!tz.ptr<f16>, #l0>, tensor<64x1xi32, #l0>
      %45 = tz.splat %arg4 : i32 -> tensor<64xi32, #l3>
      %46 = arith.addi %45, %0 : tensor<64xi32, #l3>
      %47 = tz.expand_dims %46 {axis = 0 : i32} : tensor<64xi32, #l3> -> tensor<1x64xi32, #l8>
      %48 = tz.broadcast %44 {tzgpu.scratch_bytes = 512 : i64, tzgpu.scratch_offset = 18432 : i64} : tensor<64x1x!tz.ptr<f16>, #l0> -> tensor<64x64x!tz.ptr<f16>, #l9>
      %49 = tz.broadcast %47 {tzgpu.scratch_bytes = 256 : i64, tzgpu.scratch_offset = 18432 : i64} : tensor<1x64xi32, #l8> -> tensor<64x64xi32, #l9>
      %50 = tz.addptr %48, %49 : tensor<64x64x!tz.ptr<f16>, #l9>, tensor<64x64xi32, #l9>
      %51 = tz.load %50 : tensor<64x64x!tz.ptr<f16>, #l9> -> tensor<64x64xf16, #l9>
      %52 = tzgpu.memdesc_index %3[%26] : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable>
      %53 = tzgpu.local_load %52 : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<pad = 16>, mutable> -> tensor<64x64xf16, #l9>
      %54 = tzgpu.local_alloc {offset = 18432 : i64} : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.local_store %51, %54 : tensor<64x64xf16, #l9> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
      %55 = tzgpu.local_alloc {offset = 26624 : i64} : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.local_store %53, %55 : tensor<64x64xf16, #l9> -> !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
      tzgpu.barrier
      %56 = tzgpu.warp_group_dot %54, %55, %cst_1 : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> * !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf32, #l2>
      %57 = tzgpu.warp_group_dot_wait 0, %56 : tensor<64x64xf32, #l2>
      %58 = arith.addf %arg5, %57 : tensor<64x64xf32, #l2>
      scf.yield %58 : tensor<64x64xf32, #l2>
    }
    tzgpu.async_wait 0 on %3 : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<pad = 16>, mutable>
    %16 = tzgpu.convert_layout %15 {tzgpu.scratch_bytes = 16384 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<64x64xf32, #l2> -> tensor<64x64xf32, #l9>
    %17 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32, #l3> -> tensor<64x1xi32, #l0>
    %18 = arith.muli %17, %cst : tensor<64x1xi32, #l0>
    %19 = tz.splat %arg2 : !tz.ptr<f32> -> tensor<64x1x!tz.ptr<f32>, #l0>
    %20 = tz.addptr %19, %18 : tensor<64x1x!tz.ptr<f32>, #l0>, tensor<64x1xi32, #l0>
    %21 = tz.expand_dims %0 {axis = 0 : i32} : tensor<64xi32, #l3> -> tensor<1x64xi32, #l8>
    %22 = tz.broadcast %20 {tzgpu.scratch_bytes = 512 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<64x1x!tz.ptr<f32>, #l0> -> tensor<64x64x!tz.ptr<f32>, #l9>
    %23 = tz.broadcast %21 {tzgpu.scratch_bytes = 256 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<1x64xi32, #l8> -> tensor<64x64xi32, #l9>
    %24 = tz.addptr %22, %23 : tensor<64x64x!tz.ptr<f32>, #l9>, tensor<64x64xi32, #l9>
    tz.store %24, %16 : tensor<64x64x!tz.ptr<f32>, #l9>, tensor<64x64xf32, #l9>
    return
  }
}
