# tz.cumsum is an inclusive tz.scan with the sum kind.
# RUN: tzc %s --kernel prefix --signature '*i32,*i32,*i32' -D BLOCK=64 | FileCheck %s

# CHECK-LABEL: func.func @prefix
# CHECK: %[[X:.*]] = tz.load %{{.*}} : tensor<64x!tz.ptr<i32>> -> tensor<64xi32>
# CHECK: %[[S:.*]] = tz.scan sum %[[X]] {axis = 0 : i32} : tensor<64xi32>
# CHECK: tz.store %{{.*}}, %[[S]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>
# CHECK: %[[R:.*]] = tz.scan sum %[[X]] {axis = 0 : i32, reverse} : tensor<64xi32>
# CHECK: tz.store %{{.*}}, %[[R]] : tensor<64x!tz.ptr<i32>>, tensor<64xi32>

import terrazzo as tz

@tz.jit
def prefix(x_ptr, out_ptr, rev_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    tz.store(out_ptr + offs, tz.cumsum(x, axis=0))
    tz.store(rev_ptr + offs, x.cumsum(0, reverse=True))
