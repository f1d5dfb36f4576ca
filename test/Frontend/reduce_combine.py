# tz.reduce with a user combine function: the axis of 4 is split into pairs of
# neighbours (reshape to 2x2), each half taken by a select and a sum over the
# pair axis, combined by the inlined function (here an add), and again on the
# resulting pair; the final size-1 axis is summed away.
# RUN: tzc %s --kernel tree --signature '*i32,*i32' | FileCheck %s

# CHECK-LABEL: func.func @tree
# CHECK: %[[PAIRS:.*]] = tz.reshape %{{.*}} : tensor<4xi32> -> tensor<2x2xi32>
# CHECK: %[[L:.*]] = tz.reduce  sum %{{.*}} {axis = 1 : i32} : tensor<2x2xi32> -> tensor<2xi32>
# CHECK: %[[R:.*]] = tz.reduce  sum %{{.*}} {axis = 1 : i32} : tensor<2x2xi32> -> tensor<2xi32>
# CHECK: %[[C:.*]] = arith.addi %[[L]], %[[R]] : tensor<2xi32>
# CHECK: tz.reshape %[[C]] : tensor<2xi32> -> tensor<1x2xi32>
# CHECK: %[[L2:.*]] = tz.reduce  sum %{{.*}} {axis = 1 : i32} : tensor<1x2xi32> -> tensor<1xi32>
# CHECK: %[[R2:.*]] = tz.reduce  sum %{{.*}} {axis = 1 : i32} : tensor<1x2xi32> -> tensor<1xi32>
# CHECK: %[[C2:.*]] = arith.addi %[[L2]], %[[R2]] : tensor<1xi32>
# CHECK: %[[S:.*]] = tz.reduce  sum %[[C2]] {axis = 0 : i32} : tensor<1xi32> -> i32
# CHECK: tz.store %{{.*}}, %[[S]] : !tz.ptr<i32>, i32

import terrazzo as tz

@tz.jit
def add(a, b):
    return a + b

@tz.jit
def tree(x_ptr, out_ptr):
    x = tz.load(x_ptr + tz.arange(0, 4))
    tz.store(out_ptr, tz.reduce(x, 0, add))
