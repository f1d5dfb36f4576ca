# 'return' inside a loop, in a function the kernel calls.
# RUN: not tzc %s --kernel kernel --signature '*fp32,*i32,i32' 2>&1 | FileCheck %s --strict-whitespace
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# CHECK: {{^.*/}}return_in_loop.py:17:13: error: 'return' inside a loop is not supported{{$}}
# CHECK-NEXT: {{^}}            return i{{$}}
# CHECK-NEXT: {{^}}            ^{{$}}
# CHECK-NOT: {{.}}

import terrazzo as tz

@tz.jit
def first_positive(x_ptr, n):
    for i in range(n):
        if tz.load(x_ptr + i) > 0:
            return i
    return -1

@tz.jit
def kernel(x_ptr, out_ptr, n):
    tz.store(out_ptr, first_positive(x_ptr, n))
