"""Shared by the frontend fuzz test (test/python/test_fuzz_frontend.py) and the
fuzzing campaign (test/fuzz/fuzz_frontend.py): the seed kernels, the source
mutators, the argument builder and the check that a diagnostic is well formed.

Everything here is deterministic given a random.Random, so that a case found
by either harness reproduces from its number or its saved source."""

import ast
import random
import re
import warnings

FILENAME = "fuzz.py"

# (name, source, args factory). Args are positional so that mutated parameter
# names still bind; the factory runs in the child, where numpy is imported.
SEEDS = [
    ("vadd", '''\
@tz.jit
def vadd(x_ptr, y_ptr, out_ptr, n, BLOCK: tz.constexpr):
    pid = tz.program_id(0)
    offs = pid * BLOCK + tz.arange(0, BLOCK)
    mask = offs < n
    x = tz.load(x_ptr + offs, mask=mask)
    y = tz.load(y_ptr + offs, mask=mask)
    tz.store(out_ptr + offs, x + y, mask=mask)
''', "f32, f32, f32, 100, 16"),
    ("softmax", '''\
@tz.jit
def softmax(out, x, stride, n_cols, BLOCK: tz.constexpr):
    row = tz.program_id(0)
    cols = tz.arange(0, BLOCK)
    m = cols < n_cols
    v = tz.load(x + row * stride + cols, mask=m, other=-float("inf"))
    v = v - tz.max(v, axis=0)
    e = tz.exp(v)
    s = tz.sum(e, axis=0)
    tz.store(out + row * stride + cols, e / s, mask=m)
''', "f32, f32, 16, 10, 16"),
    ("matmul", '''\
@tz.jit
def matmul(a, b, c, M, N, K, BM: tz.constexpr, BN: tz.constexpr, BK: tz.constexpr):
    pm = tz.program_id(0)
    pn = tz.program_id(1)
    rm = pm * BM + tz.arange(0, BM)
    rn = pn * BN + tz.arange(0, BN)
    rk = tz.arange(0, BK)
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, K, BK):
        x = tz.load(a + rm[:, None] * K + (k + rk)[None, :], mask=(rm[:, None] < M) & ((k + rk)[None, :] < K), other=0.0)
        y = tz.load(b + (k + rk)[:, None] * N + rn[None, :], mask=((k + rk)[:, None] < K) & (rn[None, :] < N), other=0.0)
        acc += tz.dot(x, y)
    tz.store(c + rm[:, None] * N + rn[None, :], acc.to(tz.float16), mask=(rm[:, None] < M) & (rn[None, :] < N))
''', "f16, f16, f16, 8, 8, 8, 16, 16, 16"),
    ("control", '''\
@tz.jit
def control(x_ptr, out_ptr, n, MODE: tz.constexpr, BLOCK: tz.constexpr):
    offs = tz.arange(0, BLOCK)
    v = tz.load(x_ptr + offs)
    i = 0
    steps = 0
    while i < n:
        if i % 2 == 0:
            v = v + 1.0
        elif i % 3 == 1:
            v = v * 2.0
        else:
            v = tz.maximum(v, 0.5)
        i += 1
        steps += 2
    if MODE == 1:
        v = tz.where(v > 0, v, -v)
    for j in tz.static_range(3):
        v = v + j
    lo, hi = tz.min(v, axis=0), tz.max(v, axis=0)
    tz.store(out_ptr + offs, (v - lo) / (hi - lo + 1e-6) + steps)
''', "f32, f32, 5, 1, 16"),
    ("layernorm", '''\
@tz.jit
def layernorm(x_ptr, y_ptr, w_ptr, b_ptr, mean_ptr, rstd_ptr, N, eps, BLOCK: tz.constexpr):
    row = tz.program_id(0)
    cols = tz.arange(0, BLOCK)
    m = cols < N
    x = tz.load(x_ptr + row * N + cols, mask=m, other=0.0).to(tz.float32)
    mean = tz.sum(x, axis=0) / N
    d = tz.where(m, x - mean, 0.0)
    var = tz.sum(d * d, axis=0) / N
    rstd = 1 / tz.sqrt(var + eps)
    w = tz.load(w_ptr + cols, mask=m)
    b = tz.load(b_ptr + cols, mask=m)
    tz.store(y_ptr + row * N + cols, d * rstd * w + b, mask=m)
    tz.store(mean_ptr + row, mean)
    tz.store(rstd_ptr + row, rstd)
''', "f32, f32, f32, f32, f32, f32, 10, 1e-5, 16"),
    ("reduce2d", '''\
@tz.jit
def reduce2d(x_ptr, out_ptr, idx_ptr, hist_ptr, R: tz.constexpr, C: tz.constexpr):
    r = tz.arange(0, R)
    c = tz.arange(0, C)
    x = tz.load(x_ptr + r[:, None] * C + c[None, :])
    tz.store(out_ptr + c, tz.sum(x, axis=0) if C > 1 else tz.cumsum(x, axis=1))
    tz.store(out_ptr + C + r, tz.cumsum(tz.max(x, axis=1), axis=0))
    tz.store(idx_ptr + r, tz.argmax(x, axis=1))
    v, i = tz.min(x.T, axis=0, return_indices=True)
    tz.atomic_add(hist_ptr + i, 1)
    q = (i // 3) % 2
    tz.store(idx_ptr + R + r, q.to(tz.int32) << 1)
''', "f32, f32, i32, i32, 4, 8"),
]

SEEDS.append(("blockptr", '''\
@tz.jit
def blockptr(a_ptr, out_ptr, M, N, BM: tz.constexpr, BN: tz.constexpr):
    pid = tz.program_id(0)
    p = tz.make_block_ptr(base=a_ptr, shape=(M, N), strides=(N, 1), offsets=(pid * BM, 0),
                          block_shape=(BM, BN), order=(1, 0))
    acc = tz.zeros((BM, BN), dtype=tz.float32)
    for k in range(0, N, BN):
        acc += tz.load(p, boundary_check=(0, 1), padding_option="zero")
        p = tz.advance(p, (0, BN))
    q = tz.make_block_ptr(out_ptr, (M, BN), (BN, 1), (pid * BM, 0), (BM, BN), (1, 0))
    tz.store(q, acc, boundary_check=(0, 1))
    d = tz.make_tensor_descriptor(a_ptr, shape=[M, N], strides=[N, 1], block_shape=[BM, BN])
    t = d.load([pid * BM, 0])
    d.store([pid * BM, BN], (t * 2).to(tz.float32))
    tz.device_print("acc", tz.sum(acc))
''', "f32, f32, 8, 8, 4, 4"))

IDENTIFIERS = ["tz", "x", "v", "offs", "mask", "BLOCK", "n", "i", "range", "static_range", "program_id",
               "load", "store", "arange", "dot", "sum", "max", "min", "float32", "float16", "int32", "None",
               "True", "False", "constexpr", "float", "int", "len", "print", "isinstance", "return", "while",
               "for", "if", "else", "elif", "def", "pass", "break", "lambda", "and", "or", "not", "in", "is",
               "axis", "mask", "other", "dtype", "T", "shape", "to", "reshape", "trans", "where", "cumsum",
               "atomic_add", "device_print", "static_assert", "num_programs", "zeros", "full", "undefined_xyz"]
NUMBERS = ["0", "1", "-1", "2", "3", "7", "16", "17", "64", "1024", "0.5", "-0.0", "1e9", "1e-40", "2**40",
           "9223372036854775807", "99999999999999999999", "0x10", "1_000", "1.", ".5", "1j", "4096", "8192"]
OPERATORS = ["+", "-", "*", "/", "//", "%", "**", "<<", ">>", "&", "|", "^", "~", "<", ">", "<=", ">=",
             "==", "!=", "=", "+=", ":", ",", ".", "(", ")", "[", "]", "@", "->", "not", "and", "or", "is"]
CHARS = list("()[]{}:,.=+-*/%<>!&|^~@#'\"\\ \n\t0123456789abcxyzT_") + ["\r", "\x00", "\u00e9", "\u2028", "\ufeff"]

TOKEN_RE = re.compile(r"[A-Za-z_][A-Za-z_0-9]*|\d+\.?\d*(?:e-?\d+)?|\*\*|//|<<|>>|<=|>=|==|!=|\+=|->|\s+|.")


def _tokens(src):
    return TOKEN_RE.findall(src)


def mutate_once(src, r):
    kind = r.randrange(13)
    if not src:
        return "x"
    if kind <= 3:  # character level
        i = r.randrange(len(src))
        if kind == 0:
            return src[:i] + src[i + 1:]
        if kind == 1:
            return src[:i] + src[i] + src[i:]
        if kind == 2 and i + 1 < len(src):
            return src[:i] + src[i + 1] + src[i] + src[i + 2:]
        return src[:i] + r.choice(CHARS) + src[i:]
    toks = _tokens(src)
    if kind <= 8:  # token level
        idx = [k for k, t in enumerate(toks) if not t.isspace()]
        if not idx:
            return src
        k = r.choice(idx)
        t = toks[k]
        if kind == 4:
            toks[k] = ""
        elif kind == 5:
            toks[k] = t + (" " if t[0].isalnum() and r.random() < 0.5 else "") + t
        elif kind == 6:
            k2 = r.choice(idx)
            toks[k], toks[k2] = toks[k2], toks[k]
        elif kind == 7:
            if t[0].isalpha() or t[0] == "_":
                pool = [x for x in toks if x and (x[0].isalpha() or x[0] == "_")]
                toks[k] = r.choice(IDENTIFIERS if r.random() < 0.5 else pool)
            elif t[0].isdigit():
                toks[k] = r.choice(NUMBERS)
            else:
                toks[k] = r.choice(OPERATORS)
        else:
            numbers = [j for j, x in enumerate(toks) if x[:1].isdigit()]
            if numbers:
                toks[r.choice(numbers)] = r.choice(NUMBERS)
        return "".join(toks)
    lines = src.split("\n")
    j = r.randrange(len(lines))
    if kind == 9:  # truncate a line
        lines[j] = lines[j][:r.randrange(len(lines[j]) + 1)]
    elif kind == 10:  # truncate the source
        return src[:r.randrange(len(src) + 1)]
    elif kind == 11:  # re-indent a line
        lines[j] = (" " * r.choice([0, 1, 2, 4, 8, 12])) + lines[j].lstrip(" ")
    else:  # delete, duplicate or move a line
        line = lines.pop(j)
        if r.random() < 0.7:
            lines.insert(r.randrange(len(lines) + 1), line)
            if r.random() < 0.5:
                lines.insert(j, line)
    return "\n".join(lines)


def _python_accepts(src):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning for odd literals
        try:
            ast.parse(src)
            return True
        except (SyntaxError, ValueError):
            return False


def make_case(i):
    """The i-th fuzz case: (seed kernel name, mutated source, args spec).
    Even cases are raw mutations (mostly syntax errors); odd cases are
    mutants that Python's own parser accepts, which reach code generation."""
    r = random.Random(1_000_003 * i + 17)
    name, seed, args = SEEDS[(i // 2) % len(SEEDS)]
    if i % 2 == 0:
        src = seed
        for _ in range(r.choice([1, 1, 1, 2, 2, 3, 5])):
            src = mutate_once(src, r)
        return name, src, args
    for _ in range(40):
        src = seed
        for _ in range(r.choice([1, 1, 2, 2, 3])):
            src = mutate_once(src, r)
        if src != seed and _python_accepts(src):
            break
    return name, src, args


DIAG_RE = re.compile(r"^" + re.escape(FILENAME) + r":(\d+):(\d+): error: \S")


def check_diagnostic(msg, src):
    """A well-formed diagnostic pointing into the source; returns a complaint
    or None."""
    if "internal compiler error" in msg:
        return "internal compiler error"
    m = DIAG_RE.match(msg)
    if not m:
        return "malformed diagnostic (no 'fuzz.py:line:col: error:')"
    line = int(m.group(1))
    nlines = src.count("\n") + 1
    if not 1 <= line <= nlines:
        return f"line {line} outside the source ({nlines} lines)"
    # the message may span lines (a static_assert text with a newline); the
    # diagnostic ends with the source line and the caret
    rendered = msg.rstrip("\n").split("\n")
    if len(rendered) < 3 or rendered[-1].strip() != "^":
        return "no source line and caret"
    return None



# Array arguments by name in an args spec; every array has ARRAY_LEN elements.
ARRAY_LEN = 64
ARRAY_DTYPES = {"f32": "float32", "f16": "float16", "f64": "float64", "i32": "int32", "i64": "int64",
                "i8": "int8", "u8": "uint8", "bool": "bool_"}


def _make_args(spec):
    """The positional arguments an args spec ("f32, f16, 100, 1e-5") names:
    fresh arrays of ones for dtype names, Python numbers otherwise."""
    import numpy as np

    args = []
    for a in spec.split(","):
        a = a.strip()
        if not a:  # "" is a kernel without arguments
            continue
        if a in ARRAY_DTYPES:
            args.append(np.ones(ARRAY_LEN, getattr(np, ARRAY_DTYPES[a])))
        elif a in ("True", "False", "None"):
            args.append({"True": True, "False": False, "None": None}[a])
        else:
            try:
                args.append(int(a, 0))
            except ValueError:
                args.append(float(a))
    return tuple(args)
