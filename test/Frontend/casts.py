# x.to(dtype): narrower floats truncate, wider extend, float to int is fptosi.
# RUN: tzc %s --kernel convert --signature '*fp32,*fp16,*fp64,*i32' -D BLOCK=16 | FileCheck %s

# CHECK-LABEL: func.func @convert
# CHECK: %[[X:.*]] = tz.load %{{.*}} : tensor<16x!tz.ptr<f32>> -> tensor<16xf32>
# CHECK: %[[H:.*]] = arith.truncf %[[X]] : tensor<16xf32> to tensor<16xf16>
# CHECK: tz.store %{{.*}}, %[[H]] : tensor<16x!tz.ptr<f16>>, tensor<16xf16>
# CHECK: %[[D:.*]] = arith.extf %[[X]] : tensor<16xf32> to tensor<16xf64>
# CHECK: tz.store %{{.*}}, %[[D]] : tensor<16x!tz.ptr<f64>>, tensor<16xf64>
# CHECK: %[[I:.*]] = arith.fptosi %[[X]] : tensor<16xf32> to tensor<16xi32>
# CHECK: tz.store %{{.*}}, %[[I]] : tensor<16x!tz.ptr<i32>>, tensor<16xi32>

import terrazzo as tz

@tz.jit
def convert(x_ptr, h_ptr, d_ptr, i_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    tz.store(h_ptr + offs, x.to(tz.float16))
    tz.store(d_ptr + offs, x.to(tz.float64))
    tz.store(i_ptr + offs, x.to(tz.int32))
