// tz-make-persistent: the kernel's body runs in a loop over the tiles of the
// grid passed as three trailing i32 arguments; program ids become the tile's
// coordinates and num_programs the author's grid.
// RUN: tz-opt %s --split-input-file --tz-make-persistent --verify-diagnostics | FileCheck %s

// A 3-D grid: every axis read, num_programs(1) read, scalar index work on
// the arguments hoisted, tiles left in the loop.
// CHECK-LABEL: func.func @grid3d
// CHECK-SAME: (%[[SRC:[^:]*]]: !tz.ptr<f32>, %[[DST:[^:]*]]: !tz.ptr<f32>, %[[N:[^:]*]]: i32, %[[GX:[^:]*]]: i32, %[[GY:[^:]*]]: i32, %[[GZ:[^:]*]]: i32)
// CHECK-SAME: attributes {tz.kernel, tz.persistent_grid = 3 : i32}
// CHECK-NEXT: %[[FIRST:.*]] = tz.program_id 0 : i32
// CHECK-NEXT: %[[STEP:.*]] = tz.num_programs 0 : i32
// CHECK-NEXT: %[[PLANE:.*]] = arith.muli %[[GX]], %[[GY]] : i32
// CHECK-NEXT: %[[TILES:.*]] = arith.muli %[[PLANE]], %[[GZ]] : i32
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : i32
// CHECK-DAG: %[[N16:.*]] = arith.muli %[[N]], %[[C16]] : i32
// CHECK: scf.for %[[T:.*]] = %[[FIRST]] to %[[TILES]] step %[[STEP]] : i32 {
// CHECK-NEXT: %[[X:.*]] = arith.remui %[[T]], %[[GX]] : i32
// CHECK-NEXT: %[[TY:.*]] = arith.divui %[[T]], %[[GX]] : i32
// CHECK-NEXT: %[[Y:.*]] = arith.remui %[[TY]], %[[GY]] : i32
// CHECK-NEXT: %[[Z:.*]] = arith.divui %[[T]], %[[PLANE]] : i32
// CHECK-NOT: tz.program_id
// CHECK-NOT: tz.num_programs
// CHECK: %[[ROW:.*]] = arith.muli %[[Y]], %[[C16]] : i32
// CHECK: %[[XZ:.*]] = arith.addi %[[X]], %[[Z]] : i32
// CHECK: arith.addi %[[ROW]], %[[XZ]] : i32
// CHECK: arith.addi %{{.*}}, %[[GY]] : i32
// CHECK: arith.addi %{{.*}}, %[[N16]] : i32
// CHECK: tz.make_range 0, 16 : tensor<16xi32>
// CHECK: tz.load
// CHECK: tz.store
// CHECK-NEXT: } {tz.persistent_tiles}
// CHECK-NEXT: return
func.func @grid3d(%src: !tz.ptr<f32>, %dst: !tz.ptr<f32>, %n: i32) attributes {tz.kernel} {
  %x = tz.program_id 0 : i32
  %y = tz.program_id 1 : i32
  %z = tz.program_id 2 : i32
  %ny = tz.num_programs 1 : i32
  %c16 = arith.constant 16 : i32
  %row = arith.muli %y, %c16 : i32
  %xz = arith.addi %x, %z : i32
  %base = arith.addi %row, %xz : i32
  %off = arith.addi %base, %ny : i32
  %n16 = arith.muli %n, %c16 : i32
  %off2 = arith.addi %off, %n16 : i32
  %r = tz.make_range 0, 16 : tensor<16xi32>
  %s = tz.splat %off2 : i32 -> tensor<16xi32>
  %o = arith.addi %s, %r : tensor<16xi32>
  %p = tz.splat %src : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %pp = tz.addptr %p, %o : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  %v = tz.load %pp : tensor<16x!tz.ptr<f32>> -> tensor<16xf32>
  %q = tz.splat %dst : !tz.ptr<f32> -> tensor<16x!tz.ptr<f32>>
  %qq = tz.addptr %q, %o : tensor<16x!tz.ptr<f32>>, tensor<16xi32>
  tz.store %qq, %v : tensor<16x!tz.ptr<f32>>, tensor<16xf32>
  return
}

// -----

// A K loop inside the tile loop; a program id read twice (and one never
// read) makes one coordinate; only kernels change.
// CHECK-LABEL: func.func @helper
// CHECK-SAME: (%{{.*}}: i32) -> i32 {
// CHECK-NEXT: tz.program_id 0 : i32
func.func @helper(%a: i32) -> i32 {
  %p = tz.program_id 0 : i32
  %s = arith.addi %a, %p : i32
  return %s : i32
}

// CHECK-LABEL: func.func @k_loop
// CHECK-SAME: (%[[OUT:[^:]*]]: !tz.ptr<f32>, %[[K:[^:]*]]: i32, %[[GX:[^:]*]]: i32, %{{[^:]*}}: i32, %{{[^:]*}}: i32)
// CHECK-SAME: tz.persistent_grid = 2 : i32
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} : i32 {
// CHECK-NEXT: %[[X:.*]] = arith.remui %[[T]], %[[GX]] : i32
// CHECK-NOT: arith.remui
// CHECK: %[[SUM:.*]] = scf.for %{{.*}} = %{{.*}} to %[[K]] step %{{.*}} iter_args(%[[ACC:.*]] = %{{.*}}) -> (f32) : i32 {
// CHECK: arith.addf %[[ACC]]
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK: %[[PTR:.*]] = tz.addptr %[[OUT]], %[[X]] : !tz.ptr<f32>, i32
// CHECK-NEXT: tz.store %[[PTR]], %[[SUM]] : !tz.ptr<f32>, f32
// CHECK-NEXT: }
// CHECK-NEXT: return
func.func @k_loop(%out: !tz.ptr<f32>, %k: i32) attributes {tz.kernel} {
  %unused = tz.program_id 1 : i32
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %zero = arith.constant 0.0 : f32
  %sum = scf.for %i = %c0 to %k step %c1 iter_args(%acc = %zero) -> (f32) : i32 {
    %pid = tz.program_id 0 : i32
    %j = arith.addi %i, %pid : i32
    %f = arith.sitofp %j : i32 to f32
    %a = arith.addf %acc, %f : f32
    scf.yield %a : f32
  }
  %pid2 = tz.program_id 0 : i32
  %ptr = tz.addptr %out, %pid2 : !tz.ptr<f32>, i32
  tz.store %ptr, %sum : !tz.ptr<f32>, f32
  return
}

// -----

// A return before the end would leave the tile loop.
// expected-error @+1 {{a persistent kernel must run its whole body for every tile; 'early_exit' has several blocks (a return before its end)}}
func.func @early_exit(%out: !tz.ptr<f32>, %c: i1) attributes {tz.kernel} {
  llvm.cond_br %c, ^done, ^work
^work:
  %zero = arith.constant 0.0 : f32
  tz.store %out, %zero : !tz.ptr<f32>, f32
  return
^done:
  return
}

// -----

func.func @returns_value(%out: !tz.ptr<f32>) -> i32 attributes {tz.kernel} {
  %p = tz.program_id 0 : i32
  // expected-error @+1 {{a persistent kernel cannot return values}}
  return %p : i32
}

// -----

func.func @callee() -> i32 {
  %p = tz.program_id 0 : i32
  return %p : i32
}

func.func @calls(%out: !tz.ptr<i32>) attributes {tz.kernel} {
  // expected-error @+1 {{a persistent kernel cannot call 'callee' without inlining it: its program ids would be the hardware's, not the tile's}}
  %p = func.call @callee() : () -> i32
  tz.store %out, %p : !tz.ptr<i32>, i32
  return
}

// -----

// expected-error @+1 {{the kernel 'twice' is already persistent}}
func.func @twice(%out: !tz.ptr<i32>, %gx: i32, %gy: i32, %gz: i32) attributes {tz.kernel, tz.persistent_grid = 1 : i32} {
  return
}
