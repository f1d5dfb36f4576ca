# Module-level constants (BLOCK = 128) are compile-time values in kernels.
# RUN: tzc %s --kernel kernel --signature '*fp32,*fp32' | FileCheck %s

# CHECK-LABEL: func.func @kernel
# CHECK-SAME: (%{{[^:]*}}: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %{{[^:]*}}: !tz.ptr<f32> {tz.divisibility = 16 : i32}) attributes {tz.kernel}
# CHECK-DAG: %[[SCALE:.*]] = arith.constant dense<-5.000000e-01> : tensor<128xf32>
# CHECK-DAG: %[[C128:.*]] = arith.constant 128 : i32
# CHECK: %[[PID:.*]] = tz.program_id 0 : i32
# CHECK: arith.muli %[[PID]], %[[C128]] : i32
# CHECK: tz.make_range 0, 128 : tensor<128xi32>
# CHECK: %[[X:.*]] = tz.load %{{.*}} : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
# CHECK: %[[Y:.*]] = arith.mulf %[[X]], %[[SCALE]] : tensor<128xf32>
# CHECK: tz.store %{{.*}}, %[[Y]] : tensor<128x!tz.ptr<f32>>, tensor<128xf32>

import terrazzo as tz

BLOCK = 128
SCALE = -0.5

@tz.jit
def kernel(x_ptr, out_ptr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    tz.store(out_ptr + offs, tz.load(x_ptr + offs) * SCALE)
