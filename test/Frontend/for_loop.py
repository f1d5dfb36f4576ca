# A run-time for loop becomes scf.for; the names the body rebinds (a tile, a
# tile of pointers and a Python int that becomes an i32) are its iter_args.
# RUN: tzc %s --kernel row_sum --signature '*fp32,*fp32,i32' -D BLOCK=64 | FileCheck %s

# CHECK-LABEL: func.func @row_sum
# CHECK-SAME: (%{{[^:]*}}: !tz.ptr<f32> {{.*}}, %{{[^:]*}}: !tz.ptr<f32> {{.*}}, %[[N:[^:]*]]: i32)
# CHECK-DAG: %[[ZEROS:.*]] = arith.constant dense<0.000000e+00> : tensor<64xf32>
# CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i32
# CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i32
# CHECK-DAG: %[[C64:.*]] = arith.constant 64 : i32
# CHECK: %[[PTRS:.*]] = tz.addptr %{{.*}} : tensor<64x!tz.ptr<f32>>, tensor<64xi32>
# CHECK: %[[LOOP:.*]]:3 = scf.for %[[IV:.*]] = %[[C0]] to %[[N]] step %[[C64]]
# CHECK-SAME: iter_args(%[[ACC:.*]] = %[[ZEROS]], %[[P:.*]] = %[[PTRS]], %[[COUNT:.*]] = %[[C0]]) -> (tensor<64xf32>, tensor<64x!tz.ptr<f32>>, i32) : i32 {
# CHECK: %[[V:.*]] = tz.load %[[P]], mask %{{.*}}, other %[[ZEROS]]
# CHECK: %[[ACC2:.*]] = arith.addf %[[ACC]], %[[V]] : tensor<64xf32>
# CHECK: %[[P2:.*]] = tz.addptr %[[P]], %{{.*}} : tensor<64x!tz.ptr<f32>>, tensor<64xi32>
# CHECK: %[[COUNT2:.*]] = arith.addi %[[COUNT]], %[[C1]] : i32
# CHECK: scf.yield %[[ACC2]], %[[P2]], %[[COUNT2]] : tensor<64xf32>, tensor<64x!tz.ptr<f32>>, i32
# CHECK-NEXT: }
# CHECK: %[[SUM:.*]] = tz.reduce sum %[[LOOP]]#0 {axis = 0 : i32} : tensor<64xf32> -> f32
# CHECK: %[[DEN:.*]] = arith.sitofp %[[LOOP]]#2 : i32 to f32
# CHECK: arith.divf %[[SUM]], %[[DEN]] : f32

import terrazzo as tz

@tz.jit
def row_sum(x_ptr, out_ptr, n_cols, BLOCK: tz.constexpr):
    row = tz.program_id(0)
    cols = tz.arange(0, BLOCK)
    acc = tz.zeros((BLOCK,), dtype=tz.float32)
    ptrs = x_ptr + row * n_cols + cols
    count = 0
    for start in range(0, n_cols, BLOCK):
        mask = start + cols < n_cols
        acc += tz.load(ptrs, mask=mask, other=0.0)
        ptrs += BLOCK
        count += 1
    tz.store(out_ptr + row, tz.sum(acc, axis=0) / count)
