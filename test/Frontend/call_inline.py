# Calls to other jit functions of the file are inlined: one func, no func.call.
# A constexpr argument stays constexpr in the callee.
# RUN: tzc %s --kernel kernel --signature '*fp32,*fp32' -D BLOCK=64 | FileCheck %s

# CHECK-NOT: func.call
# CHECK-LABEL: func.func @kernel
# CHECK-DAG: %[[TWO:.*]] = arith.constant dense<2.000000e+00> : tensor<64xf32>
# CHECK-DAG: %[[C64:.*]] = arith.constant 64 : i32
# CHECK: %[[PID:.*]] = tz.program_id 0 : i32
# CHECK: arith.muli %[[PID]], %[[C64]] : i32
# CHECK: tz.make_range 0, 64 : tensor<64xi32>
# CHECK: %[[X:.*]] = tz.load %{{.*}} : tensor<64x!tz.ptr<f32>> -> tensor<64xf32>
# CHECK: %[[Y:.*]] = arith.mulf %[[X]], %[[TWO]] : tensor<64xf32>
# CHECK: tz.store %{{.*}}, %[[Y]]
# CHECK-NOT: func.call
# CHECK-NOT: func.func

import terrazzo as tz

@tz.jit
def scaled(x, factor):
    return x * factor

@tz.jit
def offsets(BLOCK: tz.constexpr):
    pid = tz.program_id(0)
    return pid * BLOCK + tz.arange(0, BLOCK)

@tz.jit
def kernel(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = offsets(BLOCK)
    x = tz.load(x_ptr + offs)
    tz.store(out_ptr + offs, scaled(x, 2.0))
