"""``tz.strided(x)``: pass an array that is not C-contiguous to a kernel.

A kernel reaches a pointer argument's memory from its first element, so an
array whose elements are not laid out in row-major order (a slice with a step,
a transpose, a Fortran-order array, a broadcast) is read as if it were one
unless the kernel indexes it with its strides. Launches refuse such arrays;
wrapping one in ``tz.strided`` says the kernel does index it with its strides
(passed as separate arguments), and the interpreter then checks every access
against the elements the array really covers."""


class strided:
    __terrazzo_kind__ = "strided"

    def __init__(self, array):
        self.array = array

    def __repr__(self):
        return f"tz.strided({self.array!r})"
