# tz.dot of two f16 tiles accumulates in f32, into zeros when no acc is given.
# RUN: tzc %s --kernel matmul --signature '*fp16,*fp16,*fp32' -D M=32 -D N=64 -D K=16 | FileCheck %s

# CHECK-LABEL: func.func @matmul
# CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<32x64xf32>
# CHECK: %[[A:.*]] = tz.load %{{.*}} : tensor<32x16x!tz.ptr<f16>> -> tensor<32x16xf16>
# CHECK: %[[B:.*]] = tz.load %{{.*}} : tensor<16x64x!tz.ptr<f16>> -> tensor<16x64xf16>
# CHECK: %[[C:.*]] = tz.dot %[[A]], %[[B]], %[[ZERO]] : tensor<32x16xf16> * tensor<16x64xf16> -> tensor<32x64xf32>
# CHECK: tz.store %{{.*}}, %[[C]] : tensor<32x64x!tz.ptr<f32>>, tensor<32x64xf32>

import terrazzo as tz

@tz.jit
def matmul(a_ptr, b_ptr, c_ptr, M: tz.constexpr, N: tz.constexpr, K: tz.constexpr):
    rm = tz.arange(0, M)
    rn = tz.arange(0, N)
    rk = tz.arange(0, K)
    a = tz.load(a_ptr + rm[:, None] * K + rk[None, :])
    b = tz.load(b_ptr + rk[:, None] * N + rn[None, :])
    c = tz.dot(a, b)
    tz.store(c_ptr + rm[:, None] * N + rn[None, :], c)
