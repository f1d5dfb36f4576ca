# A name that is neither local, global nor builtin.
# RUN: not tzc %s --kernel kernel --signature '*fp32' -D BLOCK=16 2>&1 | FileCheck %s --strict-whitespace
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# CHECK: {{^.*/}}unknown_name.py:16:28: error: unknown name 'scale'{{$}}
# CHECK-NEXT: {{^}}    tz.store(x_ptr + offs, scale * 2.0){{$}}
# CHECK-NEXT: {{^}}                           ^{{$}}
# CHECK-NOT: {{.}}

import terrazzo as tz

@tz.jit
def kernel(x_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, scale * 2.0)
