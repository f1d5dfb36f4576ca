# Vector add: program_id, arange, splat, addptr, masked load and store.
# RUN: tzc %s --kernel add --signature '*fp32,*fp32,*fp32,i32' -D BLOCK=256 | FileCheck %s

# CHECK-LABEL: func.func @add
# CHECK-SAME: (%[[X:[^:]*]]: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %[[Y:[^:]*]]: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %[[OUT:[^:]*]]: !tz.ptr<f32> {tz.divisibility = 16 : i32}, %[[N:[^:]*]]: i32) attributes {tz.kernel}
# The constexpr BLOCK is no argument; it is folded into the IR.
# CHECK-DAG: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : tensor<256xf32>
# CHECK-DAG: %[[BLOCK:.*]] = arith.constant 256 : i32
# CHECK: %[[PID:.*]] = tz.program_id 0 : i32
# CHECK: %[[START:.*]] = arith.muli %[[PID]], %[[BLOCK]] : i32
# CHECK: %[[RANGE:.*]] = tz.make_range 0, 256 : tensor<256xi32>
# CHECK: %[[STARTS:.*]] = tz.splat %[[START]] : i32 -> tensor<256xi32>
# CHECK: %[[OFFS:.*]] = arith.addi %[[STARTS]], %[[RANGE]] : tensor<256xi32>
# CHECK: %[[NS:.*]] = tz.splat %[[N]] : i32 -> tensor<256xi32>
# CHECK: %[[MASK:.*]] = arith.cmpi slt, %[[OFFS]], %[[NS]] : tensor<256xi32>
# CHECK: %[[XS:.*]] = tz.splat %[[X]] : !tz.ptr<f32> -> tensor<256x!tz.ptr<f32>>
# CHECK: %[[XP:.*]] = tz.addptr %[[XS]], %[[OFFS]] : tensor<256x!tz.ptr<f32>>, tensor<256xi32>
# CHECK: %[[XV:.*]] = tz.load %[[XP]], mask %[[MASK]] : tensor<256x!tz.ptr<f32>> -> tensor<256xf32>, tensor<256xi1>
# CHECK: %[[YS:.*]] = tz.splat %[[Y]] : !tz.ptr<f32> -> tensor<256x!tz.ptr<f32>>
# CHECK: %[[YP:.*]] = tz.addptr %[[YS]], %[[OFFS]] : tensor<256x!tz.ptr<f32>>, tensor<256xi32>
# CHECK: %[[YV:.*]] = tz.load %[[YP]], mask %[[MASK]], other %[[ZERO]] : tensor<256x!tz.ptr<f32>> -> tensor<256xf32>, tensor<256xi1>, tensor<256xf32>
# CHECK: %[[OS:.*]] = tz.splat %[[OUT]] : !tz.ptr<f32> -> tensor<256x!tz.ptr<f32>>
# CHECK: %[[OP:.*]] = tz.addptr %[[OS]], %[[OFFS]] : tensor<256x!tz.ptr<f32>>, tensor<256xi32>
# CHECK: %[[SUM:.*]] = arith.addf %[[XV]], %[[YV]] : tensor<256xf32>
# CHECK: tz.store %[[OP]], %[[SUM]], mask %[[MASK]] : tensor<256x!tz.ptr<f32>>, tensor<256xf32>, tensor<256xi1>
# CHECK-NEXT: return

import terrazzo as tz

@tz.jit
def add(x_ptr, y_ptr, out_ptr, n, BLOCK: tz.constexpr):
    pid = tz.program_id(0)
    offs = pid * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    x = tz.load(x_ptr + offs, mask=mask)
    y = tz.load(y_ptr + offs, mask=mask, other=0.0)
    tz.store(out_ptr + offs, x + y, mask=mask)
