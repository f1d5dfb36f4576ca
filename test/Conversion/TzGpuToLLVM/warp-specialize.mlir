// convert-tzgpu-to-llvm of a tzgpu.warp_specialize (the matmul of
// test/Dialect/TzGpu/insert-barriers-warp-specialize.mlir after that pass;
// 4 consumer warps). The kernel runs exactly its 256 threads, one block per
// multiprocessor (.reqntid, .minnctapersm 1: ptxas needs both for
// setmaxnreg). After the block's barrier, threads 128 and up (the producer
// warpgroup) branch off and give up registers (setmaxnreg.dec 24); thread
// 128, the producer's first, arms the full barriers and issues the copies.
// The consumers claim registers (setmaxnreg.inc 256), arrive on the empty
// barriers, and their barriers (the scratch of the epilogue's layout
// conversions) are named barrier 1 over their 128 threads. Both arms meet
// before the block's barrier that precedes the invalidations.
// RUN: tz-opt %s --convert-tzgpu-to-llvm | FileCheck %s

// CHECK: llvm.func @matmul({{.*}} attributes {nvvm.kernel, nvvm.minctasm = 1 : i32, nvvm.reqntid = array<i32: 256, 1, 1>}
// CHECK: nvvm.barrier0
// CHECK-NEXT: %[[TID:.*]] = nvvm.read.ptx.sreg.tid.x : i32
// CHECK-NEXT: %[[FIRST:.*]] = llvm.mlir.constant(128 : i32) : i32
// CHECK-NEXT: %[[PRODUCER:.*]] = llvm.icmp "uge" %[[TID]], %[[FIRST]] : i32
// CHECK-NEXT: llvm.cond_br %[[PRODUCER]], ^[[PBB:.*]], ^[[CBB:bb[0-9]+]]
// CHECK-NEXT: ^[[PBB]]:
// CHECK-NEXT: nvvm.setmaxregister  decrease 24
// CHECK: nvvm.mbarrier.try_wait.parity
// CHECK: %[[T:.*]] = nvvm.read.ptx.sreg.tid.x : i32
// CHECK-NEXT: %[[C128:.*]] = llvm.mlir.constant(128 : i32) : i32
// CHECK-NEXT: %[[ISSUER:.*]] = llvm.icmp "eq" %[[T]], %[[C128]] : i32
// CHECK-NEXT: %[[GO:.*]] = llvm.and %{{.*}}, %[[ISSUER]] : i1
// CHECK: nvvm.mbarrier.arrive.expect_tx %{{.*}}, %{{.*}}, predicate = %[[GO]]
// CHECK: nvvm.cp.async.bulk.tensor.shared.cluster.global
// CHECK: ^[[CBB]]:
// CHECK-NEXT: nvvm.setmaxregister  increase 256
// CHECK: nvvm.wgmma.commit.group.sync.aligned
// CHECK: nvvm.mbarrier.arrive %{{.*}} : !llvm.ptr<3> -> i64
// CHECK: %[[COUNT:.*]] = llvm.mlir.constant(128 : i32) : i32
// CHECK-NEXT: %[[ID:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK-NEXT: nvvm.barrier id = %[[ID]] number_of_threads = %[[COUNT]]
// CHECK-NOT: nvvm.barrier0
// CHECK: nvvm.barrier0
// CHECK: nvvm.mbarrier.inval

module attributes {tzgpu.num_warps = 4 : i32, tzgpu.producer_warps = 4 : i32, tzgpu.shared_bytes = 58112 : i64, tzgpu.wgmma} {
  func.func @matmul(%arg0: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg1: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg2: !tz.ptr<bf16> {tz.divisibility = 16 : i32}, %arg3: i32 {tz.divisibility = 16 : i32}, %arg4: i32 {tz.divisibility = 16 : i32}, %arg5: i32 {tz.divisibility = 16 : i32}, %arg6: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 0, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [5, 3], extents = [0, 0], stride_args = [5], strides = [0]>}, %arg7: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 1, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [4, 5], extents = [0, 0], stride_args = [4], strides = [0]>}) attributes {tz.kernel} {
    %true = arith.constant true
    %c3_i32 = arith.constant 3 : i32
    %c2_i32 = arith.constant 2 : i32
    %c1_i32 = arith.constant 1 : i32
    %c0_i32 = arith.constant 0 : i32
    %c64_i32 = arith.constant 64 : i32
    %0 = tzgpu.local_alloc {offset = 0 : i64} : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
    %1 = tzgpu.local_alloc {offset = 24576 : i64} : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
    %2 = tzgpu.local_alloc {offset = 57344 : i64} : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable>
    %3 = tzgpu.local_alloc {offset = 57728 : i64} : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable>
    %4 = tzgpu.memdesc_index %2[%c0_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %4, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %5 = tzgpu.memdesc_index %3[%c0_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %5, 128 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %6 = tzgpu.memdesc_index %2[%c1_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %6, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %7 = tzgpu.memdesc_index %3[%c1_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %7, 128 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %8 = tzgpu.memdesc_index %2[%c2_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %8, 1 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    %9 = tzgpu.memdesc_index %3[%c2_i32] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.init_barrier %9, 128 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.barrier
    tzgpu.warp_specialize attributes {consumer_registers = 256 : i32, consumer_warps = 4 : i32, producer_registers = 24 : i32, producer_warps = 4 : i32} producer {
      %10 = tz.program_id 0 : i32
      %11 = arith.muli %10, %c64_i32 : i32
      %12 = tz.program_id 1 : i32
      %13 = arith.muli %12, %c64_i32 : i32
      scf.for %arg8 = %c0_i32 to %arg5 step %c64_i32  : i32 {
        %14 = arith.divsi %arg8, %c64_i32 : i32
        %15 = arith.remsi %14, %c3_i32 : i32
        %16 = arith.divsi %14, %c3_i32 : i32
        %17 = arith.andi %16, %c1_i32 : i32
        %18 = arith.xori %17, %c1_i32 : i32
        %19 = tzgpu.memdesc_index %3[%15] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        tzgpu.wait_barrier %19, %18 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        %20 = arith.cmpi slt, %arg8, %arg5 : i32
        %21 = tzgpu.memdesc_index %2[%15] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        tzgpu.barrier_expect %21, 16384, %20 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        %22 = tzgpu.memdesc_index %0[%15] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
        tzgpu.async_tma_copy %arg6[%arg8, %11] into %22, %21, %20 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        %23 = tzgpu.memdesc_index %1[%15] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
        tzgpu.async_tma_copy %arg7[%13, %arg8] into %23, %21, %20 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>, !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
      }
    } consumer {
      %cst = arith.constant dense<0.000000e+00> : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      %10 = tz.program_id 0 : i32
      %11 = arith.muli %10, %c64_i32 : i32
      %12 = tz.make_range 0, 64 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
      %13 = tz.splat %11 : i32 -> tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
      %14 = arith.addi %13, %12 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
      %15 = tz.program_id 1 : i32
      %16 = arith.muli %15, %c64_i32 : i32
      %17 = tz.splat %16 : i32 -> tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
      %18 = arith.addi %17, %12 : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>>
      %19 = scf.for %arg8 = %c0_i32 to %arg5 step %c64_i32 iter_args(%arg9 = %cst) -> (tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>)  : i32 {
        %39 = arith.divsi %arg8, %c64_i32 : i32
        %40 = arith.remsi %39, %c3_i32 : i32
        %41 = arith.divsi %39, %c3_i32 : i32
        %42 = arith.andi %41, %c1_i32 : i32
        %43 = tzgpu.memdesc_index %2[%40] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        tzgpu.wait_barrier %43, %42 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        %44 = tzgpu.memdesc_index %0[%40] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
        %45 = tzgpu.memdesc_index %1[%40] : !tzgpu.memdesc<3x64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable>
        %46 = tzgpu.warp_group_dot %44, %45, %arg9 : !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> * !tzgpu.memdesc<64x64xbf16, #tzgpu.shared<swizzle = 128>, mutable> -> tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
        tzgpu.warp_group_dot_wait 1
        %c3_i32_0 = arith.constant 3 : i32
        %c2_i32_1 = arith.constant 2 : i32
        %47 = arith.addi %39, %c2_i32_1 : i32
        %48 = arith.remsi %47, %c3_i32_0 : i32
        %c0_i32_2 = arith.constant 0 : i32
        %49 = arith.cmpi sgt, %39, %c0_i32_2 : i32
        %50 = tzgpu.memdesc_index %3[%48] : !tzgpu.memdesc<3x1x1xi64, #tzgpu.shared<>, mutable> -> !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        %51 = arith.andi %49, %true : i1
        tzgpu.arrive_barrier %50, %51 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
        scf.yield %46 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      }
      %20 = tzgpu.warp_group_dot_wait 0, %19 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      %21 = tz.expand_dims %14 {axis = 1 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %22 = tz.splat %arg4 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %23 = arith.muli %21, %22 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %24 = tz.splat %arg2 : !tz.ptr<bf16> -> tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %25 = tz.addptr %24, %23 : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>, tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %26 = tz.expand_dims %18 {axis = 0 : i32} : tensor<64xi32, #tzgpu.linear<reg = [], lane = [[1], [2], [4], [8], [16]], warp = [[32], [0]]>> -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %27 = tz.broadcast %25 {tzgpu.scratch_bytes = 512 : i64, tzgpu.scratch_offset = 49152 : i64} : tensor<64x1x!tz.ptr<bf16>, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %28 = tz.broadcast %26 {tzgpu.scratch_bytes = 256 : i64, tzgpu.scratch_offset = 49152 : i64} : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %29 = tz.addptr %27, %28 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi32, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %30 = arith.truncf %20 : tensor<64x64xf32, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> to tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>>
      %31 = tzgpu.convert_layout %30 {tzgpu.scratch_bytes = 8192 : i64, tzgpu.scratch_offset = 49152 : i64} : tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [8, 0], [0, 8], [0, 16], [0, 32]], lane = [[0, 2], [0, 4], [1, 0], [2, 0], [4, 0]], warp = [[16, 0], [32, 0]]>> -> tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %32 = tz.splat %arg3 : i32 -> tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %33 = arith.cmpi slt, %21, %32 : tensor<64x1xi32, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>>
      %34 = tz.splat %arg4 : i32 -> tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %35 = arith.cmpi slt, %26, %34 : tensor<1x64xi32, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>>
      %36 = tz.broadcast %33 {tzgpu.scratch_bytes = 64 : i64, tzgpu.scratch_offset = 49152 : i64} : tensor<64x1xi1, #tzgpu.linear<reg = [], lane = [[1, 0], [2, 0], [4, 0], [8, 0], [16, 0]], warp = [[32, 0], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %37 = tz.broadcast %35 {tzgpu.scratch_bytes = 64 : i64, tzgpu.scratch_offset = 49152 : i64} : tensor<1x64xi1, #tzgpu.linear<reg = [], lane = [[0, 1], [0, 2], [0, 4], [0, 8], [0, 16]], warp = [[0, 32], [0, 0]]>> -> tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      %38 = arith.andi %36, %37 : tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
      tz.store %29, %31, mask %38 : tensor<64x64x!tz.ptr<bf16>, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xbf16, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>, tensor<64x64xi1, #tzgpu.linear<reg = [[0, 1], [0, 2], [8, 0], [16, 0], [32, 0]], lane = [[0, 4], [0, 8], [0, 16], [0, 32], [1, 0]], warp = [[2, 0], [4, 0]]>>
    }
    tzgpu.barrier
    tzgpu.inval_barrier %4 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %5 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %6 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %7 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %8 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    tzgpu.inval_barrier %9 : !tzgpu.memdesc<1x1xi64, #tzgpu.shared<>, mutable>
    return
  }
}

