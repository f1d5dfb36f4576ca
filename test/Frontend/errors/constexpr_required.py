# Run-time values where compile-time ones are required.
# RUN: not tzc %s --kernel arange_of_runtime --signature '*i32,i32' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=ARANGE
# RUN: not tzc %s --kernel runtime_to_constexpr --signature '*i32,i32' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=CALL
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# ARANGE: {{^.*/}}constexpr_required.py:20:12: error: argument 'end' of tz.arange must be a constexpr integer, but it is a run-time int32 (annotate the parameter with tz.constexpr){{$}}
# ARANGE-NEXT: {{^}}    offs = tz.arange(0, n){{$}}
# ARANGE-NEXT: {{^}}           ^{{$}}
# ARANGE-NOT: {{.}}
# CALL: {{^.*/}}constexpr_required.py:30:5: error: argument 'BLOCK' of 'tile' must be a constexpr, but int32 was given{{$}}
# CALL-NEXT: {{^}}    tile(x_ptr, n){{$}}
# CALL-NEXT: {{^}}    ^{{$}}
# CALL-NOT: {{.}}

import terrazzo as tz

@tz.jit
def arange_of_runtime(x_ptr, n):
    offs = tz.arange(0, n)
    tz.store(x_ptr + offs, offs)

@tz.jit
def tile(x_ptr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    tz.store(x_ptr + offs, offs)

@tz.jit
def runtime_to_constexpr(x_ptr, n):
    tile(x_ptr, n)
