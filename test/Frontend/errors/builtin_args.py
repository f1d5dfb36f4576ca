# Builtins check their arguments like Python functions do.
# RUN: not tzc %s --kernel bad_keyword --signature '*fp32' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=KEYWORD
# RUN: not tzc %s --kernel missing_argument --signature '*fp32' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=MISSING
# RUN: not tzc %s --kernel too_many --signature '*fp32' 2>&1 | FileCheck %s --strict-whitespace --check-prefix=TOO-MANY
#
# The diagnostic names the file, line and column, shows the line and puts a
# caret under the column; nothing else is printed.
# KEYWORD: {{^.*/}}builtin_args.py:26:9: error: tz.load() got an unexpected keyword argument 'msk'{{$}}
# KEYWORD-NEXT: {{^}}    x = tz.load(x_ptr + offs, msk=offs < 4){{$}}
# KEYWORD-NEXT: {{^}}        ^{{$}}
# KEYWORD-NOT: {{.}}
# MISSING: {{^.*/}}builtin_args.py:32:5: error: tz.store() is missing required argument 'value'{{$}}
# MISSING-NEXT: {{^}}    tz.store(x_ptr + offs){{$}}
# MISSING-NEXT: {{^}}    ^{{$}}
# MISSING-NOT: {{.}}
# TOO-MANY: {{^.*/}}builtin_args.py:36:11: error: tz.program_id() takes at most 1 positional argument but 2 were given{{$}}
# TOO-MANY-NEXT: {{^}}    pid = tz.program_id(0, 1){{$}}
# TOO-MANY-NEXT: {{^}}          ^{{$}}
# TOO-MANY-NOT: {{.}}

import terrazzo as tz

@tz.jit
def bad_keyword(x_ptr):
    offs = tz.arange(0, 16)
    x = tz.load(x_ptr + offs, msk=offs < 4)
    tz.store(x_ptr + offs, x)

@tz.jit
def missing_argument(x_ptr):
    offs = tz.arange(0, 16)
    tz.store(x_ptr + offs)

@tz.jit
def too_many(x_ptr):
    pid = tz.program_id(0, 1)
    tz.store(x_ptr, pid)
