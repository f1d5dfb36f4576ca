# A name bound in only one branch of a run-time if cannot be used after it.
# RUN: not tzc %s --kernel kernel --signature '*fp32,i32' 2>&1 | FileCheck %s --strict-whitespace
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# CHECK: {{^.*/}}one_branch.py:17:21: error: 'y' is defined in only one branch of the if at line 15; define it before the if or in both branches{{$}}
# CHECK-NEXT: {{^}}    tz.store(x_ptr, y){{$}}
# CHECK-NEXT: {{^}}                    ^{{$}}
# CHECK-NOT: {{.}}

import terrazzo as tz

@tz.jit
def kernel(x_ptr, n):
    if n > 0:
        y = 1.0
    tz.store(x_ptr, y)
