# Integer // and % truncate as in C (arith.divsi, arith.remsi); / is true
# division in float32.
# RUN: tzc %s --kernel divide --signature '*i32,*i32,*i32,*fp32,i32' -D BLOCK=16 | FileCheck %s

# CHECK-LABEL: func.func @divide
# CHECK-SAME: %[[D:[^:]*]]: i32)
# CHECK: %[[A:.*]] = tz.load %{{.*}} : tensor<16x!tz.ptr<i32>> -> tensor<16xi32>
# CHECK: %[[DS:.*]] = tz.splat %[[D]] : i32 -> tensor<16xi32>
# CHECK: %[[Q:.*]] = arith.divsi %[[A]], %[[DS]] : tensor<16xi32>
# CHECK: tz.store %{{.*}}, %[[Q]] : tensor<16x!tz.ptr<i32>>, tensor<16xi32>
# CHECK: %[[R:.*]] = arith.remsi %[[A]], %[[DS]] : tensor<16xi32>
# CHECK: tz.store %{{.*}}, %[[R]] : tensor<16x!tz.ptr<i32>>, tensor<16xi32>
# CHECK: %[[AF:.*]] = arith.sitofp %[[A]] : tensor<16xi32> to tensor<16xf32>
# CHECK: %[[DF:.*]] = arith.sitofp %[[DS]] : tensor<16xi32> to tensor<16xf32>
# CHECK: %[[F:.*]] = arith.divf %[[AF]], %[[DF]] : tensor<16xf32>
# CHECK: tz.store %{{.*}}, %[[F]] : tensor<16x!tz.ptr<f32>>, tensor<16xf32>

import terrazzo as tz

@tz.jit
def divide(a_ptr, q_ptr, r_ptr, f_ptr, d, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    a = tz.load(a_ptr + offs)
    tz.store(q_ptr + offs, a // d)
    tz.store(r_ptr + offs, a % d)
    tz.store(f_ptr + offs, a / d)
