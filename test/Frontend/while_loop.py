# A while loop becomes scf.while: the condition goes to the `before` region,
# the body to `do`, and the rebound names (n, steps) are carried by both.
# RUN: tzc %s --kernel collatz --signature '*i32,i32' | FileCheck %s

# CHECK-LABEL: func.func @collatz
# CHECK-SAME: (%[[OUT:[^:]*]]: !tz.ptr<i32> {{.*}}, %[[N:[^:]*]]: i32)
# CHECK-DAG: %[[C0:.*]] = arith.constant 0 : i32
# CHECK-DAG: %[[C1:.*]] = arith.constant 1 : i32
# CHECK-DAG: %[[C2:.*]] = arith.constant 2 : i32
# CHECK: %[[W:.*]]:2 = scf.while (%[[BN:.*]] = %[[N]], %[[BS:.*]] = %[[C0]]) : (i32, i32) -> (i32, i32) {
# CHECK-NEXT: %[[COND:.*]] = arith.cmpi ne, %[[BN]], %[[C1]] : i32
# CHECK-NEXT: scf.condition(%[[COND]]) %[[BN]], %[[BS]] : i32, i32
# CHECK-NEXT: } do {
# CHECK-NEXT: ^bb0(%[[AN:.*]]: i32, %[[AS:.*]]: i32):
# CHECK: %[[NEXT:.*]] = scf.if %{{.*}} -> (i32) {
# CHECK: arith.divsi %[[AN]], %[[C2]] : i32
# CHECK: } else {
# CHECK: arith.muli %[[AN]]
# CHECK: }
# CHECK: %[[STEPS:.*]] = arith.addi %[[AS]], %[[C1]] : i32
# CHECK: scf.yield %[[NEXT]], %[[STEPS]] : i32, i32
# CHECK: tz.store %[[OUT]], %[[W]]#1 : !tz.ptr<i32>, i32

import terrazzo as tz

@tz.jit
def collatz(out_ptr, n):
    steps = 0
    while n != 1:
        if n % 2 == 0:
            n = n // 2
        else:
            n = 3 * n + 1
        steps += 1
    tz.store(out_ptr, steps)
