# Kernels loaded from C++ by ApiTest.cpp through terrazzo::Kernel::fromFile.
import terrazzo as tz

SCALE = tz.constexpr(2)


@tz.jit
def scaled(x):
    return x * SCALE


@tz.jit
def axpy(x_ptr, y_ptr, out_ptr, a, n, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    x = tz.load(x_ptr + offs, mask=mask)
    y = tz.load(y_ptr + offs, mask=mask)
    tz.store(out_ptr + offs, a * x + scaled(y), mask=mask)


@tz.jit
def out_of_bounds(x_ptr, out_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(out_ptr + offs, tz.load(x_ptr + offs + 1))
