// mma.sync and cp.async lowerings on encoded IR whose buffers and scratch
// are already placed (sm_80, 4 warps, 64x64x32 f16 into f32): B is copied
// ahead into its two-tile padded buffer (cp.async of 16 bytes, cg), each
// iteration waits for it and synchronises; A, loaded in the loop, goes
// through the dot's scratch (stored, synchronised) and both are read with
// ldmatrix (A row-major, B transposed) into m16n8k16 MMAs.
// RUN: tz-opt %s --convert-tzgpu-to-llvm | FileCheck %s

// CHECK-LABEL: llvm.func @mm
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: nvvm.cp.async.commit.group
// CHECK: llvm.cond_br
// CHECK: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.barrier0
// CHECK: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// CHECK-COUNT-4: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : vector<4xf16>, !llvm.ptr<3>
// CHECK-NEXT: nvvm.barrier0
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32
// CHECK: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>, num = 4 : i32
// CHECK: nvvm.mma.sync A[{{.*}}] B[{{.*}}] C[{{.*}}] {{{.*}}shape = #nvvm.shape<m = 16, n = 8, k = 16>}
// CHECK: nvvm.cp.async.wait.group 0
#l0 = #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>
#l1 = #tzgpu.linear<reg = [[0, 0], [0, 0], [0, 0], [16, 0]], lane = [[0, 0], [0, 0], [0, 0], [1, 0], [2, 0]], warp = [[4, 0], [8, 0]]>
#l2 = #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>
#l3 = #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>
#l4 = #tzgpu.linear<reg = [[1], [2], [4], [0]], lane = [[8], [16], [32], [0], [0]], warp = [[0], [0]]>
#l5 = #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[0], [0]]>
#l6 = #tzgpu.linear<reg = [[0], [0], [0], [16]], lane = [[0], [0], [0], [1], [2]], warp = [[4], [8]]>
#l7 = #tzgpu.linear<reg = [[0, 1], [0, 2], [0, 4], [0, 0]], lane = [[0, 8], [0, 16], [0, 32], [0, 0], [0, 0]], warp = [[0, 0], [0, 0]]>
#l8 = #tzgpu.linear<reg = [[0, 1], [0, 2], [0, 4], [16, 0]], lane = [[0, 8], [0, 16], [0, 32], [1, 0], [2, 0]], warp = [[4, 0], [8, 0]]>
#l9 = #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 0], [0, 0]]>
#l10 = #tzgpu.linear<reg = [[0, 1], [0, 2], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [1, 0], [2, 0]], warp = [[4, 0], [8, 0]]>
#l11 = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#l12 = #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>
#l13 = #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>
module attributes {tzgpu.num_warps = 4 : i32, tzgpu.shared_bytes = 16384 : i64} {
  func.func @mm(%arg0: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %arg3: i32) attributes {tz.kernel} {
    %c1_i32 = arith.constant 1 : i32
    %c2_i32 = arith.constant 2 : i32
    %cst = arith.constant dense<64> : tensor<64x1xi32, #l0>
    %cst_0 = arith.constant dense<64> : tensor<32x1xi32, #l1>
    %cst_1 = arith.constant dense<0.000000e+00> : tensor<64x64xf32, #l2>
    %c32_i32 = arith.constant 32 : i32
    %c0_i32 = arith.constant 0 : i32
    %0 = tz.make_range 0, 64 : tensor<64xi32, #l3>
    %1 = tz.make_range 0, 64 : tensor<64xi32, #l4>
    %2 = tz.make_range 0, 32 : tensor<32xi32, #l5>
    %3 = tz.make_range 0, 32 : tensor<32xi32, #l6>
    %4 = tzgpu.local_alloc {offset = 0 : i64} : !tzgpu.memdesc<2x32x64xf16, #tzgpu.shared<pad = 16>, mutable>
    %5 = tz.expand_dims %3 {axis = 1 : i32} : tensor<32xi32, #l6> -> tensor<32x1xi32, #l1>
    %6 = arith.muli %5, %cst_0 : tensor<32x1xi32, #l1>
    %7 = tz.splat %arg1 : !tz.ptr<f16> -> tensor<32x1x!tz.ptr<f16>, #l1>
    %8 = tz.addptr %7, %6 : tensor<32x1x!tz.ptr<f16>, #l1>, tensor<32x1xi32, #l1>
    %9 = tz.expand_dims %1 {axis = 0 : i32} : tensor<64xi32, #l4> -> tensor<1x64xi32, #l7>
    %10 = tz.broadcast %8 : tensor<32x1x!tz.ptr<f16>, #l1> -> tensor<32x64x!tz.ptr<f16>, #l8>
    %11 = tz.broadcast %9 : tensor<1x64xi32, #l7> -> tensor<32x64xi32, #l8>
    %12 = tz.addptr %10, %11 : tensor<32x64x!tz.ptr<f16>, #l8>, tensor<32x64xi32, #l8>
    %13 = arith.cmpi sgt, %arg3, %c0_i32 : i32
    %14 = tzgpu.memdesc_index %4[%c0_i32] : !tzgpu.memdesc<2x32x64xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<32x64xf16, #tzgpu.shared<pad = 16>, mutable>
    %15 = tz.splat %13 : i1 -> tensor<32x64xi1, #l8>
    tzgpu.async_copy %12 mask %15 into %14 : tensor<32x64x!tz.ptr<f16>, #l8>, tensor<32x64xi1, #l8> -> !tzgpu.memdesc<32x64xf16, #tzgpu.shared<pad = 16>, mutable>
    tzgpu.async_commit
    %16 = scf.for %arg4 = %c0_i32 to %arg3 step %c32_i32 iter_args(%arg5 = %cst_1) -> (tensor<64x64xf32, #l2>)  : i32 {
      tzgpu.async_wait 0 on %4 : !tzgpu.memdesc<2x32x64xf16, #tzgpu.shared<pad = 16>, mutable>
      %26 = arith.divsi %arg4, %c32_i32 : i32
      %27 = arith.remsi %26, %c2_i32 : i32
      %28 = arith.addi %26, %c1_i32 : i32
      %29 = arith.remsi %28, %c2_i32 : i32
      %30 = arith.addi %arg4, %c32_i32 : i32
      %31 = tz.splat %30 : i32 -> tensor<32xi32, #l6>
      %32 = arith.addi %31, %3 : tensor<32xi32, #l6>
      %33 = tz.expand_dims %32 {axis = 1 : i32} : tensor<32xi32, #l6> -> tensor<32x1xi32, #l1>
      %34 = arith.muli %33, %cst_0 : tensor<32x1xi32, #l1>
      %35 = tz.addptr %7, %34 : tensor<32x1x!tz.ptr<f16>, #l1>, tensor<32x1xi32, #l1>
      %36 = tz.broadcast %35 : tensor<32x1x!tz.ptr<f16>, #l1> -> tensor<32x64x!tz.ptr<f16>, #l8>
      %37 = tz.addptr %36, %11 : tensor<32x64x!tz.ptr<f16>, #l8>, tensor<32x64xi32, #l8>
      %38 = arith.cmpi slt, %30, %arg3 : i32
      %39 = tzgpu.memdesc_index %4[%29] : !tzgpu.memdesc<2x32x64xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<32x64xf16, #tzgpu.shared<pad = 16>, mutable>
      %40 = tz.splat %38 : i1 -> tensor<32x64xi1, #l8>
      tzgpu.async_copy %37 mask %40 into %39 : tensor<32x64x!tz.ptr<f16>, #l8>, tensor<32x64xi1, #l8> -> !tzgpu.memdesc<32x64xf16, #tzgpu.shared<pad = 16>, mutable>
      tzgpu.async_commit
      %41 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32, #l3> -> tensor<64x1xi32, #l0>
      %42 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #l0>
      %43 = arith.muli %41, %42 : tensor<64x1xi32, #l0>
      %44 = tz.splat %arg0 : !tz.ptr<f16> -> tensor<64x1x!tz.ptr<f16>, #l0>
      %45 = tz.addptr %44, %43 : tensor<64x1x!tz.ptr<f16>, #l0>, tensor<64x1xi32, #l0>
      %46 = tz.splat %arg4 : i32 -> tensor<32xi32, #l5>
      %47 = arith.addi %46, %2 : tensor<32xi32, #l5>
      %48 = tz.expand_dims %47 {axis = 0 : i32} : tensor<32xi32, #l5> -> tensor<1x32xi32, #l9>
      %49 = tz.broadcast %45 {tzgpu.scratch_bytes = 512 : i64, tzgpu.scratch_offset = 9216 : i64} : tensor<64x1x!tz.ptr<f16>, #l0> -> tensor<64x32x!tz.ptr<f16>, #l10>
      %50 = tz.broadcast %48 {tzgpu.scratch_bytes = 128 : i64, tzgpu.scratch_offset = 9216 : i64} : tensor<1x32xi32, #l9> -> tensor<64x32xi32, #l10>
      %51 = tz.addptr %49, %50 : tensor<64x32x!tz.ptr<f16>, #l10>, tensor<64x32xi32, #l10>
      %52 = tz.load %51 : tensor<64x32x!tz.ptr<f16>, #l10> -> tensor<64x32xf16, #l10>
      %53 = tzgpu.memdesc_index %4[%27] : !tzgpu.memdesc<2x32x64xf16, #tzgpu.shared<pad = 16>, mutable> -> !tzgpu.memdesc<32x64xf16, #tzgpu.shared<pad = 16>, mutable>
      %54 = tzgpu.local_load %53 : !tzgpu.memdesc<32x64xf16, #tzgpu.shared<pad = 16>, mutable> -> tensor<32x64xf16, #l11>
      %55 = tz.dot %52, %54, %cst_1 {tzgpu.scratch_bytes = 5120 : i64, tzgpu.scratch_offset = 9216 : i64} : tensor<64x32xf16, #l10> * tensor<32x64xf16, #l11> -> tensor<64x64xf32, #l2>
      %56 = arith.addf %arg5, %55 : tensor<64x64xf32, #l2>
      scf.yield %56 : tensor<64x64xf32, #l2>
    }
    tzgpu.async_wait 0 on %4 : !tzgpu.memdesc<2x32x64xf16, #tzgpu.shared<pad = 16>, mutable>
    %17 = tzgpu.convert_layout %16 {tzgpu.scratch_bytes = 16384 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<64x64xf32, #l2> -> tensor<64x64xf32, #l12>
    %18 = tz.expand_dims %0 {axis = 1 : i32} : tensor<64xi32, #l3> -> tensor<64x1xi32, #l0>
    %19 = arith.muli %18, %cst : tensor<64x1xi32, #l0>
    %20 = tz.splat %arg2 : !tz.ptr<f32> -> tensor<64x1x!tz.ptr<f32>, #l0>
    %21 = tz.addptr %20, %19 : tensor<64x1x!tz.ptr<f32>, #l0>, tensor<64x1xi32, #l0>
    %22 = tz.expand_dims %0 {axis = 0 : i32} : tensor<64xi32, #l3> -> tensor<1x64xi32, #l13>
    %23 = tz.broadcast %21 {tzgpu.scratch_bytes = 512 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<64x1x!tz.ptr<f32>, #l0> -> tensor<64x64x!tz.ptr<f32>, #l12>
    %24 = tz.broadcast %22 {tzgpu.scratch_bytes = 256 : i64, tzgpu.scratch_offset = 0 : i64} : tensor<1x64xi32, #l13> -> tensor<64x64xi32, #l12>
    %25 = tz.addptr %23, %24 : tensor<64x64x!tz.ptr<f32>, #l12>, tensor<64x64xi32, #l12>
    tz.store %25, %17 : tensor<64x64x!tz.ptr<f32>, #l12>, tensor<64x64xf32, #l12>
    return
  }
}
