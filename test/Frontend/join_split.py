# tz.join stacks two tiles along a new minor axis of 2 (expand_dims, broadcast,
# a select on that axis's index); tz.split takes each half back bit-exactly: a
# select on the integer image of the elements and an integer sum over the axis.
# RUN: tzc %s --kernel join_split --signature '*fp32,*fp32,*fp32' | FileCheck %s

# CHECK-LABEL: func.func @join_split
# CHECK: %[[A:.*]] = tz.expand_dims %{{.*}} {axis = 1 : i32} : tensor<8xf32> -> tensor<8x1xf32>
# CHECK: %[[B:.*]] = tz.expand_dims %{{.*}} {axis = 1 : i32} : tensor<8xf32> -> tensor<8x1xf32>
# CHECK: %[[AB:.*]] = tz.broadcast %[[A]] : tensor<8x1xf32> -> tensor<8x2xf32>
# CHECK: %[[BB:.*]] = tz.broadcast %[[B]] : tensor<8x1xf32> -> tensor<8x2xf32>
# CHECK: %[[FIRST:.*]] = tz.broadcast %{{.*}} : tensor<1x2xi1> -> tensor<8x2xi1>
# CHECK: %[[J:.*]] = arith.select %[[FIRST]], %[[AB]], %[[BB]] : tensor<8x2xi1>, tensor<8x2xf32>
# CHECK: %[[BITS:.*]] = arith.bitcast %[[J]] : tensor<8x2xf32> to tensor<8x2xi32>
# CHECK: %[[LOBITS:.*]] = arith.select %[[FIRST]], %[[BITS]], %{{.*}} : tensor<8x2xi1>, tensor<8x2xi32>
# CHECK: %[[LOSUM:.*]] = tz.reduce  sum %[[LOBITS]] {axis = 1 : i32} : tensor<8x2xi32> -> tensor<8xi32>
# CHECK: %[[LO:.*]] = arith.bitcast %[[LOSUM]] : tensor<8xi32> to tensor<8xf32>
# CHECK: %[[HISUM:.*]] = tz.reduce  sum %{{.*}} {axis = 1 : i32} : tensor<8x2xi32> -> tensor<8xi32>
# CHECK: %[[HI:.*]] = arith.bitcast %[[HISUM]] : tensor<8xi32> to tensor<8xf32>
# CHECK: arith.subf %[[LO]], %[[HI]] : tensor<8xf32>

import terrazzo as tz

@tz.jit
def join_split(a_ptr, b_ptr, out_ptr):
    offs = tz.arange(0, 8)
    j = tz.join(tz.load(a_ptr + offs), tz.load(b_ptr + offs))
    lo, hi = tz.split(j)
    tz.store(out_ptr + offs, lo - hi)
