# The size of tz.arange must be a power of two (BLOCK=100 is not).
# RUN: not tzc %s --kernel kernel --signature '*i32' -D BLOCK=100 2>&1 | FileCheck %s --strict-whitespace
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# CHECK: {{^.*/}}arange_not_power_of_two.py:15:12: error: tz.arange(0, 100) has 100 elements; the size of a range must be a power of two{{$}}
# CHECK-NEXT: {{^}}    offs = tz.arange(0, BLOCK){{$}}
# CHECK-NEXT: {{^}}           ^{{$}}
# CHECK-NOT: {{.}}

import terrazzo as tz

@tz.jit
def kernel(x_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, offs)
