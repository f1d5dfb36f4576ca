# A loop-carried tile cannot change type in the loop body.
# RUN: not tzc %s --kernel kernel --signature '*fp32,i32' 2>&1 | FileCheck %s --strict-whitespace
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# CHECK: {{^.*/}}loop_type_change.py:16:5: error: loop-carried value 'acc' changes type from tile<16xint32> to tile<16xfloat32> in the loop body{{$}}
# CHECK-NEXT: {{^}}    for i in range(n):{{$}}
# CHECK-NEXT: {{^}}    ^{{$}}
# CHECK-NOT: {{.}}

import terrazzo as tz

@tz.jit
def kernel(x_ptr, n):
    acc = tz.arange(0, 16)
    for i in range(n):
        acc = acc * 0.5
    tz.store(x_ptr + tz.arange(0, 16), acc)
