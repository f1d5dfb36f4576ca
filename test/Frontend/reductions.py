# Reductions along an axis drop it (a 1-D tile reduces to a scalar); argmax
# gives i32 indices; a reduction without an axis flattens first.
# RUN: tzc %s --kernel reduce --signature '*fp32,*fp32,*fp32,*i32' -D ROWS=8 -D COLS=16 | FileCheck %s

# CHECK-LABEL: func.func @reduce
# CHECK: %[[X:.*]] = tz.load %{{.*}} : tensor<8x16x!tz.ptr<f32>> -> tensor<8x16xf32>
# CHECK: %[[SUM:.*]] = tz.reduce sum %[[X]] {axis = 1 : i32} : tensor<8x16xf32> -> tensor<8xf32>
# CHECK: tz.store %{{.*}}, %[[SUM]] : tensor<8x!tz.ptr<f32>>, tensor<8xf32>
# CHECK: %[[MAX:.*]] = tz.reduce max %[[X]] {axis = 0 : i32} : tensor<8x16xf32> -> tensor<16xf32>
# CHECK: tz.store %{{.*}}, %[[MAX]] : tensor<16x!tz.ptr<f32>>, tensor<16xf32>
# CHECK: %[[ARG:.*]] = tz.reduce argmax %[[X]] {axis = 1 : i32} : tensor<8x16xf32> -> tensor<8xi32>
# CHECK: tz.store %{{.*}}, %[[ARG]] : tensor<8x!tz.ptr<i32>>, tensor<8xi32>
# x.argmax(axis=-1) is the same reduction (CSE'd); its max is a scalar.
# CHECK: %[[ARGMAX:.*]] = tz.reduce max %[[ARG]] {axis = 0 : i32} : tensor<8xi32> -> i32
# CHECK: tz.store %{{.*}}, %[[ARGMAX]] : !tz.ptr<i32>, i32
# CHECK: %[[FLAT:.*]] = tz.reshape %[[X]] : tensor<8x16xf32> -> tensor<128xf32>
# CHECK: %[[ALL:.*]] = tz.reduce max %[[FLAT]] {axis = 0 : i32} : tensor<128xf32> -> f32
# CHECK: tz.store %{{.*}}, %[[ALL]] : !tz.ptr<f32>, f32

import terrazzo as tz

@tz.jit
def reduce(x_ptr, sum_ptr, max_ptr, arg_ptr, ROWS: tz.constexpr, COLS: tz.constexpr):
    r = tz.arange(0, ROWS)
    c = tz.arange(0, COLS)
    x = tz.load(x_ptr + r[:, None] * COLS + c[None, :])
    tz.store(sum_ptr + r, tz.sum(x, axis=1))
    tz.store(max_ptr + c, tz.max(x, axis=0))
    tz.store(arg_ptr + r, tz.argmax(x, axis=1))
    tz.store(arg_ptr, x.argmax(axis=-1).max(axis=0))
    tz.store(max_ptr, tz.max(x))
