# out = alpha * x + y over n elements, one BLOCK per program (the tail masked).
import terrazzo as tz


@tz.jit
def scale_add(x_ptr, y_ptr, out_ptr, alpha, n, BLOCK: tz.constexpr):
    offs = tz.program_id(0) * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    x = tz.load(x_ptr + offs, mask=mask)
    y = tz.load(y_ptr + offs, mask=mask)
    tz.store(out_ptr + offs, alpha * x + y, mask=mask)
