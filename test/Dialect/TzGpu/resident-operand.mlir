// A loop-invariant wgmma A operand (q, loaded once before the loop and
// read by the dot of every iteration) is copied once into a swizzled slot
// of its own, after the loop's buffers, and the dot reads it there instead
// of holding it in registers. Its copy is committed as its own group before
// the loop's prologue, so the pipelined loop's first wait covers it.
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot=wgmma=1 --tzgpu-remove-layout-conversions --canonicalize --cse --tzgpu-pipeline=num-stages=2 --canonicalize --cse | FileCheck %s
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot=wgmma=1 --tzgpu-remove-layout-conversions --canonicalize --cse --tzgpu-pipeline=num-stages=2 --canonicalize --cse --tzgpu-lower-warp-group-dots --tzgpu-allocate-shared-memory --tzgpu-insert-barriers --convert-tzgpu-to-llvm | FileCheck %s --check-prefix=LLVM
// RUN: tz-opt %s --tzgpu-assign-layouts=num-warps=4 --tzgpu-accelerate-dot=wgmma=1 --tzgpu-remove-layout-conversions --canonicalize --cse --tzgpu-pipeline="num-stages=2 max-bytes=16384" --canonicalize --cse | FileCheck %s --check-prefix=FULL

// q gets a one-tile swizzled buffer of its own, K a two-tile one.
// CHECK-LABEL: func.func @scores
// CHECK-NOT: tz.load
// CHECK: %[[QBUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK-NEXT: tzgpu.async_copy %{{.*}} mask %{{.*}} into %[[QBUF]]
// CHECK-NEXT: tzgpu.async_commit
// CHECK: %[[KBUF:.*]] = tzgpu.local_alloc : !tzgpu.memdesc<2x64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: tzgpu.async_copy {{.*}} into %{{.*}}
// CHECK: tzgpu.async_commit
// CHECK-NOT: tzgpu.convert_layout
// CHECK: scf.for
// CHECK-NEXT: tzgpu.async_wait 0 on %[[KBUF]]
// CHECK-DAG: %[[Q:.*]] = tzgpu.local_load %[[QBUF]]
// CHECK-DAG: tzgpu.local_load %{{.*}} : !tzgpu.memdesc<64x64xf16, #tzgpu.shared<swizzle = 128>, mutable>
// CHECK: tz.dot %[[Q]], %{{.*}}, %{{.*}}

// The allocation puts K's tiles (2 x 8192 bytes) first and q after them.
// The lowering reads q through a descriptor: no A operand goes through the
// scratch space, so the only shared memory is the buffers.
// LLVM: tzgpu.shared_bytes = 24576
// LLVM: wgmma.mma_async.sync.aligned.m64n64k16.f32.f16.f16

// Without room after the loop's buffers q stays a register operand.
// FULL: tz.load
// FULL: tzgpu.local_alloc : !tzgpu.memdesc<2x64x64xf16
// FULL-NOT: tzgpu.local_alloc
// FULL: scf.for

func.func @scores(%q: !tz.ptr<f16> {tz.divisibility = 16 : i32}, %k: !tz.ptr<f16> {tz.divisibility = 16 : i32},
                  %out: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %n: i32 {tz.divisibility = 16 : i32},
                  %nq: i32) attributes {tz.kernel} {
  %zero = arith.constant dense<0.000000e+00> : tensor<64x64xf16>
  %acc0 = arith.constant dense<0.000000e+00> : tensor<64x64xf32>
  %c64 = arith.constant dense<64> : tensor<64x1xi32>
  %c0_i32 = arith.constant 0 : i32
  %c64_i32 = arith.constant 64 : i32
  %rows = tz.make_range 0, 64 : tensor<64xi32>
  %r = tz.expand_dims %rows {axis = 1 : i32} : tensor<64xi32> -> tensor<64x1xi32>
  %roff = arith.muli %r, %c64 : tensor<64x1xi32>
  %rb = tz.broadcast %roff : tensor<64x1xi32> -> tensor<64x64xi32>
  %c = tz.expand_dims %rows {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
  %cb = tz.broadcast %c : tensor<1x64xi32> -> tensor<64x64xi32>
  %off = arith.addi %rb, %cb : tensor<64x64xi32>
  %qbase = tz.splat %q : !tz.ptr<f16> -> tensor<64x64x!tz.ptr<f16>>
  %qptrs = tz.addptr %qbase, %off : tensor<64x64x!tz.ptr<f16>>, tensor<64x64xi32>
  %nqs = tz.splat %nq : i32 -> tensor<64x1xi32>
  %rok = arith.cmpi slt, %r, %nqs : tensor<64x1xi32>
  %qmask = tz.broadcast %rok : tensor<64x1xi1> -> tensor<64x64xi1>
  %qt = tz.load %qptrs, mask %qmask, other %zero : tensor<64x64x!tz.ptr<f16>> -> tensor<64x64xf16>, tensor<64x64xi1>, tensor<64x64xf16>
  %acc = scf.for %i = %c0_i32 to %n step %c64_i32 iter_args(%a = %acc0) -> (tensor<64x64xf32>) : i32 {
    %kstart = arith.muli %i, %c64_i32 : i32
    %kbase = tz.addptr %k, %kstart : !tz.ptr<f16>, i32
    %kb = tz.splat %kbase : !tz.ptr<f16> -> tensor<64x64x!tz.ptr<f16>>
    %kptrs = tz.addptr %kb, %off : tensor<64x64x!tz.ptr<f16>>, tensor<64x64xi32>
    %kt = tz.load %kptrs : tensor<64x64x!tz.ptr<f16>> -> tensor<64x64xf16>
    %ktt = tz.trans %kt {order = array<i32: 1, 0>} : tensor<64x64xf16> -> tensor<64x64xf16>
    %s = tz.dot %qt, %ktt, %a : tensor<64x64xf16> * tensor<64x64xf16> -> tensor<64x64xf32>
    scf.yield %s : tensor<64x64xf32>
  }
  %obase = tz.splat %out : !tz.ptr<f32> -> tensor<64x64x!tz.ptr<f32>>
  %optrs = tz.addptr %obase, %off : tensor<64x64x!tz.ptr<f32>>, tensor<64x64xi32>
  tz.store %optrs, %acc : tensor<64x64x!tz.ptr<f32>>, tensor<64x64xf32>
  return
}
