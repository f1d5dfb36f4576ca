# x[:, None] and x[None, :] insert size-1 dimensions (tz.expand_dims); mixing
# the two in one expression broadcasts both to the full 2-D shape.
# RUN: tzc %s --kernel outer --signature '*fp32,*fp32,*fp32' -D M=16 -D N=32 | FileCheck %s

# CHECK-LABEL: func.func @outer
# CHECK: %[[RM:.*]] = tz.make_range 0, 16 : tensor<16xi32>
# CHECK: %[[RN:.*]] = tz.make_range 0, 32 : tensor<32xi32>
# CHECK: %[[X:.*]] = tz.load %{{.*}} : tensor<16x!tz.ptr<f32>> -> tensor<16xf32>
# CHECK: %[[Y:.*]] = tz.load %{{.*}} : tensor<32x!tz.ptr<f32>> -> tensor<32xf32>
# CHECK: tz.expand_dims %[[RM]] {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
# CHECK: %[[COLS:.*]] = tz.expand_dims %[[RN]] {axis = 0 : i32} : tensor<32xi32> -> tensor<1x32xi32>
# CHECK: tz.broadcast %{{.*}} : tensor<16x1x!tz.ptr<f32>> -> tensor<16x32x!tz.ptr<f32>>
# CHECK: tz.broadcast %[[COLS]] : tensor<1x32xi32> -> tensor<16x32xi32>
# CHECK: %[[XC:.*]] = tz.expand_dims %[[X]] {axis = 1 : i32} : tensor<16xf32> -> tensor<16x1xf32>
# CHECK: %[[YR:.*]] = tz.expand_dims %[[Y]] {axis = 0 : i32} : tensor<32xf32> -> tensor<1x32xf32>
# CHECK: %[[XB:.*]] = tz.broadcast %[[XC]] : tensor<16x1xf32> -> tensor<16x32xf32>
# CHECK: %[[YB:.*]] = tz.broadcast %[[YR]] : tensor<1x32xf32> -> tensor<16x32xf32>
# CHECK: %[[P:.*]] = arith.mulf %[[XB]], %[[YB]] : tensor<16x32xf32>
# CHECK: tz.store %{{.*}}, %[[P]] : tensor<16x32x!tz.ptr<f32>>, tensor<16x32xf32>

import terrazzo as tz

@tz.jit
def outer(x_ptr, y_ptr, out_ptr, M: tz.constexpr, N: tz.constexpr):
    rm = tz.arange(0, M)
    rn = tz.arange(0, N)
    x = tz.load(x_ptr + rm)
    y = tz.load(y_ptr + rn)
    tz.store(out_ptr + rm[:, None] * N + rn[None, :], x[:, None] * y[None, :])
