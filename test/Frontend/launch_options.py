# tzc takes the launch options of a Python launch: --num-stages sets how many
# pipeline tiles a K loop's operand buffers get (3: a 3-tile buffer; 1: no
# async copies at all), and --min-blocks-per-sm is accepted beside --num-warps.
# RUN: tzc %s --kernel matmul --signature '*fp16,*fp16,*fp32,i32' -D BM=64 -D BN=64 -D BK=32 --emit=tzgpu --arch=sm_80 --num-stages=3 --num-warps=4 --min-blocks-per-sm=1 | FileCheck %s --check-prefix=THREE
# RUN: tzc %s --kernel matmul --signature '*fp16,*fp16,*fp32,i32' -D BM=64 -D BN=64 -D BK=32 --emit=tzgpu --arch=sm_80 --num-stages=1 | FileCheck %s --check-prefix=ONE
# Each option reaches the code: num_warps bounds the block's threads and
# min_blocks_per_sm becomes PTX's .minnctapersm; `--opt VALUE` is the same as
# `--opt=VALUE`.
# RUN: tzc %s --kernel matmul --signature '*fp16,*fp16,*fp32,i32' -D BM=64 -D BN=64 -D BK=32 --emit=ptx --arch sm_80 --num-warps 8 --min-blocks-per-sm 2 | FileCheck %s --check-prefix=PTX
# A value that is not an integer is an error naming the option, as in Python.
# RUN: not tzc %s --kernel matmul --num-warps=eight 2>&1 | FileCheck %s --check-prefix=BAD
# RUN: not tzc %s --kernel matmul --signature '*fp16,*fp16,*fp32,i32' -D BM=64 -D BN=64 -D BK=32 --emit=ptx --num-warps=3 2>&1 | FileCheck %s --check-prefix=RANGE

# THREE: tzgpu.local_alloc {offset = {{[0-9]+}} : i64} : !tzgpu.memdesc<3x32x64xf16
# THREE: tzgpu.async_copy
# ONE-NOT: tzgpu.async_copy
# PTX: .maxntid 256
# PTX: .minnctapersm 2
# BAD: tzc: error: --num-warps needs an integer, got 'eight'
# RANGE: num_warps must be a power of two from 1 to 32, got 3

import terrazzo as tz

@tz.jit
def matmul(a_ptr, b_ptr, c_ptr, K, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr):
    rm = tz.arange(0, BM)
    rn = tz.arange(0, BN)
    rk = tz.arange(0, BK)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, K, BK):
        a = tz.load(a_ptr + rm[:, None] * K + (k + rk)[None, :])
        b = tz.load(b_ptr + (k + rk)[:, None] * BN + rn[None, :])
        acc = tz.dot(a, b, acc)
    tz.store(c_ptr + rm[:, None] * BN + rn[None, :], acc)
