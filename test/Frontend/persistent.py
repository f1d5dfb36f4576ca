# With --persistent, tzc shows the masked matmul of
# test/python/matmul_kernels.py after tz-make-persistent (--emit=tz): the
# launch grid as three more i32 arguments, the body in a loop over its
# tiles from this program's id by the number of programs, program ids the
# tile's coordinates; the K loop inside it. Compiled for sm_90a the tile
# loop steps by %nctaid.x and the dots stay wgmma (BK=64).
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*fp32,i32,i32,i32' -D BM=64 -D BN=64 -D BK=32 --persistent | FileCheck %s
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*fp32,i32,i32,i32' -D BM=64 -D BN=64 -D BK=64 --persistent --emit=ptx --arch=sm_90a | FileCheck %s --check-prefix=PTX
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*fp32,i32,i32,i32' -D BM=64 -D BN=64 -D BK=32 | FileCheck %s --check-prefix=PLAIN
# The tile loop's back edge keeps LLVM's LICM from hoisting per-thread
# values out of it (they would be held in registers through every tile).
# RUN: tzc %S/../python/matmul_kernels.py --kernel masked_matmul --signature '*bf16,*bf16,*fp32,i32,i32,i32' -D BM=64 -D BN=64 -D BK=64 --persistent --emit=llvm --arch=sm_90a | FileCheck %s --check-prefix=LICM
# LICM: !"llvm.licm.disable"

# CHECK: func.func @masked_matmul(
# CHECK-SAME: %[[K:arg5]]: i32, %[[GX:arg6]]: i32, %[[GY:arg7]]: i32, %[[GZ:arg8]]: i32)
# CHECK-SAME: attributes {tz.kernel, tz.persistent_grid = 6 : i32}
# CHECK-NEXT: %[[FIRST:.*]] = tz.program_id 0 : i32
# CHECK-NEXT: %[[STEP:.*]] = tz.num_programs 0 : i32
# CHECK-NEXT: %[[PLANE:.*]] = arith.muli %[[GX]], %[[GY]] : i32
# CHECK-NEXT: %[[TILES:.*]] = arith.muli %[[PLANE]], %[[GZ]] : i32
# CHECK: scf.for %[[T:.*]] = %[[FIRST]] to %[[TILES]] step %[[STEP]] : i32 {
# CHECK-NEXT: %[[PM:.*]] = arith.remui %[[T]], %[[GX]] : i32
# CHECK-NEXT: %[[TY:.*]] = arith.divui %[[T]], %[[GX]] : i32
# CHECK-NEXT: %[[PN:.*]] = arith.remui %[[TY]], %[[GY]] : i32
# CHECK-NOT: tz.program_id
# CHECK: arith.muli %[[PM]], %{{.*}} : i32
# CHECK: arith.muli %[[PN]], %{{.*}} : i32
# CHECK: scf.for %{{.*}} to %[[K]] step
# CHECK: tz.dot
# CHECK: scf.yield
# CHECK: tz.store
# CHECK-NEXT: } {tz.persistent_tiles}
# CHECK-NEXT: return

# PTX: .entry masked_matmul(
# PTX-COUNT-6: .param .u32 masked_matmul_param_
# PTX: mov.u32 {{.*}}%ctaid.x;
# PTX: mov.u32 {{.*}}%nctaid.x;
# PTX: wgmma.mma_async

# PLAIN: attributes {tz.kernel} {
# PLAIN-NOT: scf.for {{.*}} step %{{.*}} : i32 {
# PLAIN: tz.program_id 0
