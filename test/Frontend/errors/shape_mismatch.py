# Tiles of shapes [16] and [32] do not broadcast.
# RUN: not tzc %s --kernel kernel --signature '*i32' 2>&1 | FileCheck %s --strict-whitespace
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# CHECK: {{^.*/}}shape_mismatch.py:17:25: error: shape mismatch in operator '+': [16] and [32] cannot be broadcast together{{$}}
# CHECK-NEXT: {{^}}    tz.store(x_ptr + a, a + b){{$}}
# CHECK-NEXT: {{^}}                        ^{{$}}
# CHECK-NOT: {{.}}

import terrazzo as tz

@tz.jit
def kernel(x_ptr):
    a = tz.arange(0, 16)
    b = tz.arange(0, 32)
    tz.store(x_ptr + a, a + b)
