# A constexpr condition picks one branch while the kernel is generated: each
# specialization has the code of its branch only, and no scf.if.
# RUN: tzc %s --kernel act --signature '*fp32,*fp32' -D ACTIVATION=1 -D BLOCK=128 | FileCheck %s --check-prefixes=CHECK,RELU,BIG
# RUN: tzc %s --kernel act --signature '*fp32,*fp32' -D ACTIVATION=2 -D BLOCK=128 | FileCheck %s --check-prefixes=CHECK,SQUARE,BIG
# RUN: tzc %s --kernel act --signature '*fp32,*fp32' -D ACTIVATION=0 -D BLOCK=128 | FileCheck %s --check-prefixes=CHECK,IDENTITY,BIG
# Constexprs may come positionally too.
# RUN: tzc %s --kernel act --signature '*fp32,*fp32,1,64' | FileCheck %s --check-prefixes=CHECK,RELU,SMALL

# CHECK-LABEL: func.func @act
# CHECK-SAME: (%{{.*}}: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %{{.*}}: !tz.ptr<f32> {tz.divisibility = 16 : i32}) attributes {tz.kernel}
# CHECK-NOT: scf.if
# BIG: %[[X:.*]] = tz.load %{{.*}} : tensor<128x!tz.ptr<f32>> -> tensor<128xf32>
# SMALL: %[[X:.*]] = tz.load %{{.*}} : tensor<64x!tz.ptr<f32>> -> tensor<64xf32>
# RELU: %[[Y:.*]] = arith.maximumf %[[X]], %{{.*}}
# SQUARE: %[[Y:.*]] = arith.mulf %[[X]], %[[X]]
# RELU-NOT: arith.mulf
# SQUARE-NOT: arith.maximumf
# IDENTITY-NOT: arith.maximumf
# IDENTITY-NOT: arith.mulf
# BIG: %[[Z:.*]] = arith.addf %{{.*}}, %{{.*}} : tensor<128xf32>
# BIG: tz.store %{{.*}}, %[[Z]] : tensor<128x!tz.ptr<f32>>, tensor<128xf32>
# SMALL-NOT: arith.addf
# SMALL: tz.store %{{.*}}, %[[Y]] : tensor<64x!tz.ptr<f32>>, tensor<64xf32>
# CHECK-NOT: scf.if

import terrazzo as tz

@tz.jit
def act(x_ptr, out_ptr, ACTIVATION: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    x = tz.load(x_ptr + offs)
    if ACTIVATION == 1:
        y = tz.maximum(x, 0.0)
    elif ACTIVATION == 2:
        y = x * x
    else:
        y = x
    if BLOCK > 64:
        y = y + 1.0
    tz.store(out_ptr + offs, y)
