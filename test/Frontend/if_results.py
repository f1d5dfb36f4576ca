# An if on a run-time condition becomes scf.if; the names both branches bind
# are its results.
# RUN: tzc %s --kernel pick --signature '*fp32,*fp32,i32' -D BLOCK=32 | FileCheck %s

# CHECK-LABEL: func.func @pick
# CHECK-SAME: %[[FLAG:[^:]*]]: i32)
# CHECK: %[[X:.*]] = tz.load %{{.*}} : tensor<32x!tz.ptr<f32>> -> tensor<32xf32>
# CHECK: %[[C:.*]] = arith.cmpi sgt, %[[FLAG]], %{{.*}} : i32
# CHECK: %[[R:.*]]:2 = scf.if %[[C]] -> (tensor<32xf32>, tensor<32xf32>) {
# CHECK-NEXT: %[[Y1:.*]] = arith.mulf %[[X]], %{{.*}} : tensor<32xf32>
# CHECK-NEXT: %[[Z1:.*]] = arith.addf %[[X]], %{{.*}} : tensor<32xf32>
# CHECK-NEXT: scf.yield %[[Y1]], %[[Z1]] : tensor<32xf32>, tensor<32xf32>
# CHECK-NEXT: } else {
# CHECK-NEXT: %[[Y2:.*]] = arith.subf %[[X]], %{{.*}} : tensor<32xf32>
# CHECK-NEXT: %[[Z2:.*]] = arith.mulf %[[X]], %[[X]] : tensor<32xf32>
# CHECK-NEXT: scf.yield %[[Y2]], %[[Z2]] : tensor<32xf32>, tensor<32xf32>
# CHECK-NEXT: }
# CHECK: %[[S:.*]] = arith.addf %[[R]]#0, %[[R]]#1 : tensor<32xf32>
# CHECK: tz.store %{{.*}}, %[[S]]

import terrazzo as tz

@tz.jit
def pick(x_ptr, out_ptr, flag, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    if flag > 0:
        y = x * 2.0
        z = x + 1.0
    else:
        y = x - 1.0
        z = x * x
    tz.store(out_ptr + offs, y + z)
