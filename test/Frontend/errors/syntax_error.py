# An unclosed parenthesis is a syntax error at the '('.
# RUN: not tzc %s --kernel kernel --signature '*fp32' -D BLOCK=16 2>&1 | FileCheck %s --strict-whitespace
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# CHECK: {{^.*/}}syntax_error.py:15:21: error: '(' was never closed{{$}}
# CHECK-NEXT: {{^}}    offs = tz.arange(0, BLOCK{{$}}
# CHECK-NEXT: {{^}}                    ^{{$}}
# CHECK-NOT: {{.}}

import terrazzo as tz

@tz.jit
def kernel(x_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK
    tz.store(x_ptr + offs, 1.0)
