// tzgpu-pipeline with tma=1 and warp-specialize=1 on the encoded IR of the
// masked 64x64x64 bf16 matmul of pipeline-tma.mlir (4 warps: one consumer
// warpgroup): the loop's loads are both TMA copies, so the loop is split.
// A producer loop (tzgpu.producer_loop) over the same range waits on the
// "empty" barrier of slot n % 3 for parity ((n / 3) % 2) xor 1 (a fresh
// barrier passes parity 1 at once), arms the slot's "full" barrier with
// both tiles' bytes and issues the copies of iteration n itself; the loop
// waits on the full barrier for parity (n / 3) % 2, reads the slot and, at
// the end of the iteration, every consumer thread (128) arrives on the
// slot's empty barrier. No copy is issued before the loops: the producer
// runs as far ahead as the stages allow. Both barrier sets are
// invalidated after the loop.
// RUN: tz-opt %s --tzgpu-pipeline="num-stages=3 tma=1 warp-specialize=1" --canonicalize --cse | FileCheck %s
// Without warp-specialize the loop keeps its copies (pipeline-tma.mlir).
// RUN: tz-opt %s --tzgpu-pipeline="num-stages=3 tma=1" --canonicalize --cse | FileCheck %s --check-prefix=TMA

// CHECK: %[[ABUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: %[[BBUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: %[[FULL:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable>
// CHECK: %[[EMPTY:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable>
// CHECK: tzgpu.init_barrier %{{.*}}, 1
// CHECK: tzgpu.init_barrier %{{.*}}, 128
// CHECK-COUNT-2: tzgpu.init_barrier %{{.*}}, 1
// CHECK-NOT: tzgpu.async_tma_copy
// CHECK: scf.for %[[J:.*]] = %c0_i32 to %arg5 step %c64_i32  : i32 {
// CHECK: %[[N:.*]] = arith.divsi %[[J]], %c64_i32
// CHECK: %[[SLOT:.*]] = arith.remsi %[[N]], %c3_i32
// CHECK: %[[USE:.*]] = arith.divsi %[[N]], %c3_i32
// CHECK: %[[PAR:.*]] = arith.andi %[[USE]], %c1_i32
// CHECK: %[[EPHASE:.*]] = arith.xori %[[PAR]], %c1_i32
// CHECK: %[[EBAR:.*]] = tzgpu.memdesc_index %[[EMPTY]][%[[SLOT]]]
// CHECK: tzgpu.wait_barrier %[[EBAR]], %[[EPHASE]]
// CHECK: %[[FBAR:.*]] = tzgpu.memdesc_index %[[FULL]][%[[SLOT]]]
// CHECK: tzgpu.barrier_expect %[[FBAR]], 16384,
// CHECK: tzgpu.async_tma_copy %arg6[%[[J]], %{{.*}}] into %{{.*}}, %[[FBAR]],
// CHECK: tzgpu.async_tma_copy %arg7[%{{.*}}, %[[J]]] into %{{.*}}, %[[FBAR]],
// CHECK: } {tzgpu.producer_loop}
// CHECK: scf.for %[[K:.*]] = %c0_i32 to %arg5 step %c64_i32 iter_args
// CHECK: %[[I:.*]] = arith.divsi %[[K]], %c64_i32
// CHECK: %[[CSLOT:.*]] = arith.remsi %[[I]], %c3_i32
// CHECK: %[[CUSE:.*]] = arith.divsi %[[I]], %c3_i32
// CHECK: %[[CPHASE:.*]] = arith.andi %[[CUSE]], %c1_i32
// CHECK: %[[CBAR:.*]] = tzgpu.memdesc_index %[[FULL]][%[[CSLOT]]]
// CHECK: tzgpu.wait_barrier %[[CBAR]], %[[CPHASE]]
// CHECK-NOT: tzgpu.async_tma_copy
// CHECK: tzgpu.local_load
// CHECK: tzgpu.local_load
// CHECK: tz.dot
// CHECK: %[[REL:.*]] = tzgpu.memdesc_index %[[EMPTY]][%[[CSLOT]]]
// CHECK: tzgpu.arrive_barrier %[[REL]], %true
// CHECK-NEXT: scf.yield
// CHECK-COUNT-6: tzgpu.inval_barrier
// CHECK-NOT: tzgpu.producer_loop

// TMA-NOT: tzgpu.producer_loop
// TMA-NOT: tzgpu.arrive_barrier
// TMA: tzgpu.async_tma_copy
// TMA: scf.for

module attributes {tzgpu.num_warps = 4 : i32, tzgpu.wgmma} {
  func.func @matmul(%arg0: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg3: i32 {tz.divisibility = 16 : i32}, %arg4: i32 {tz.divisibility = 16 : i32}, %arg5: i32 {tz.divisibility = 16 : i32}) attributes {tz.kernel} {
    %cst = arith.constant dense<0.000000e+00> : tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %cst_0 = arith.constant dense<0.000000e+00> : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    %c0_i32 = arith.constant 0 : i32
    %c64_i32 = arith.constant 64 : i32
    %0 = tz.program_id 0 : i32
    %1 = arith.muli %0, %c64_i32 : i32
    %2 = tz.make_range 0, 64 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %3 = tz.splat %1 : i32 -> tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %4 = arith.addi %3, %2 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %5 = tz.program_id 1 : i32
    %6 = arith.muli %5, %c64_i32 : i32
    %7 = tz.splat %6 : i32 -> tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %8 = arith.addi %7, %2 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
    %9 = scf.for %arg6 = %c0_i32 to %arg5 step %c64_i32 iter_args(%arg7 = %cst_0) -> (tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>)  : i32 {
      %28 = tz.splat %arg6 : i32 -> tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
      %29 = arith.addi %28, %2 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
      %30 = tz.expand_dims %4 {axis = 1 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %31 = tz.splat %arg5 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %32 = arith.muli %30, %31 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %33 = tz.splat %arg0 : !tz.ptr<bf16> -> tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %34 = tz.addptr %33, %32 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>, tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %35 = tz.expand_dims %29 {axis = 0 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %36 = tz.broadcast %34 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %37 = tz.broadcast %35 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %38 = tz.addptr %36, %37 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %39 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %40 = arith.cmpi slt, %30, %39 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %41 = tz.splat %arg5 : i32 -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %42 = arith.cmpi slt, %35, %41 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %43 = tz.broadcast %40 : tensor<64x1xi1, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %44 = tz.broadcast %42 : tensor<1x64xi1, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %45 = arith.andi %43, %44 : tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %46 = tz.load %38, mask %45, other %cst : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>> -> tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %47 = tz.expand_dims %29 {axis = 1 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %48 = tz.splat %arg4 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %49 = arith.muli %47, %48 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %50 = tz.splat %arg1 : !tz.ptr<bf16> -> tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %51 = tz.addptr %50, %49 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>, tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %52 = tz.expand_dims %8 {axis = 0 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %53 = tz.broadcast %51 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %54 = tz.broadcast %52 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %55 = tz.addptr %53, %54 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %56 = arith.cmpi slt, %47, %31 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %57 = tz.splat %arg4 : i32 -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %58 = arith.cmpi slt, %52, %57 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %59 = tz.broadcast %56 : tensor<64x1xi1, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %60 = tz.broadcast %58 : tensor<1x64xi1, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %61 = arith.andi %59, %60 : tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %62 = tz.load %55, mask %61, other %cst : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>> -> tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %63 = tz.dot %46, %62, %arg7 : tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>> * tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>> -> tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      scf.yield %63 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    }
    %10 = tz.expand_dims %4 {axis = 1 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %11 = tz.splat %arg4 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %12 = arith.muli %10, %11 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %13 = tz.splat %arg2 : !tz.ptr<bf16> -> tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %14 = tz.addptr %13, %12 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>, tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %15 = tz.expand_dims %8 {axis = 0 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %16 = tz.broadcast %14 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %17 = tz.broadcast %15 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %18 = tz.addptr %16, %17 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %19 = arith.truncf %9 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> to tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
    %20 = tzgpu.convert_layout %19 : tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> -> tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %21 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %22 = arith.cmpi slt, %10, %21 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
    %23 = tz.splat %arg4 : i32 -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %24 = arith.cmpi slt, %15, %23 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
    %25 = tz.broadcast %22 : tensor<64x1xi1, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %26 = tz.broadcast %24 : tensor<1x64xi1, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    %27 = arith.andi %25, %26 : tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    tz.store %18, %20, mask %27 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    return
  }
}

