# Which pipelined loads planTmaCopy turns into TMA copies (tzc --tma,
# sm_90a, one 64x64x64 wgmma matmul loop each). A load becomes one only when
# a tensor map describes exactly what it reads; otherwise the loop keeps
# cp.async.
#
# Rows bounded by a constant, columns by an argument: TMA, extents [K, 320].
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*fp32,i32:16,None' -D BK=64 -D A_LOAD='"bounded"' --emit=tzgpu --tma | FileCheck %s --check-prefix=BOUNDED
# BOUNDED: !tzgpu.tensormap {tzgpu.tensormap = #tzgpu.tensormap<base = 0, element_type = bf16, swizzle = 128, box = [64, 64], extent_args = [3, -1], extents = [0, 320], stride_args = [3], strides = [0]>}
# BOUNDED: tzgpu.async_tma_copy
#
# `other` not zero: masked-off elements would not read as TMA's zeros.
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*fp32,i32:16,None' -D BK=64 -D A_LOAD='"nonzero_other"' --emit=tzgpu --tma | FileCheck %s --check-prefix=CPASYNC
#
# A row stride not known to be whole 16 bytes (no :16): A is not even
# copied ahead (its rows are not 16-byte aligned), and B, read by a dot
# whose A goes through scratch, is padded for ldmatrix, not swizzled: no
# TMA for either.
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*fp32,i32,None' -D BK=64 -D A_LOAD='"bounded"' --emit=tzgpu --tma | FileCheck %s --check-prefix=NOLOOP
#
# A mask compared with != is no bound.
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*fp32,i32:16,None' -D BK=64 -D A_LOAD='"not_equal_mask"' --emit=tzgpu --tma | FileCheck %s --check-prefix=CPASYNC
#
# A bound the host does not know (read from memory): no extent to encode.
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*fp32,i32:16,*i32' -D BK=64 -D A_LOAD='"loaded_bound"' --emit=tzgpu --tma | FileCheck %s --check-prefix=CPASYNC
#
# Columns counted backwards: not a box.
# RUN: tzc %s --kernel matmul --signature '*bf16,*bf16,*fp32,i32:16,None' -D BK=64 -D A_LOAD='"reversed"' --emit=tzgpu --tma | FileCheck %s --check-prefix=CPASYNC
#
# CPASYNC-NOT: tzgpu.tensormap
# CPASYNC: tzgpu.async_copy
# CPASYNC-NOT: tzgpu.async_tma_copy
# NOLOOP-NOT: tzgpu.tensormap
# NOLOOP: scf.for
# NOLOOP: tz.load
# NOLOOP-NOT: tzgpu.async_tma_copy
import terrazzo as tz


@tz.jit
def matmul(a, b, c, K, n_ptr, BK: tz.constexpr, A_LOAD: tz.constexpr):
    # A_LOAD picks how the A tile is read; B is always a plain 64-column box.
    r = tz.arange(0, 64)
    n = K
    if A_LOAD == "loaded_bound":
        n = tz.load(n_ptr)
    acc = tz.zeros((64, 64), dtype=tz.float32)
    for k in range(0, K, BK):
        kk = k + tz.arange(0, BK)
        rows = a + r[:, None] * K
        if A_LOAD == "bounded":
            x = tz.load(rows + kk[None, :], mask=(r[:, None] < 320) & (kk[None, :] < K), other=0.0)
        elif A_LOAD == "nonzero_other":
            x = tz.load(rows + kk[None, :], mask=kk[None, :] < K, other=1.0)
        elif A_LOAD == "not_equal_mask":
            x = tz.load(rows + kk[None, :], mask=kk[None, :] != 3, other=0.0)
        elif A_LOAD == "loaded_bound":
            x = tz.load(rows + kk[None, :], mask=kk[None, :] < n, other=0.0)
        else:  # reversed
            x = tz.load(rows + (K - 1 - kk)[None, :])
        y = tz.load(b + kk[:, None] * 64 + r[None, :])
        acc = tz.dot(x, y, acc)
    tz.store(c + r[:, None] * 64 + r[None, :], acc)
