"""Fuzzing the C++ frontend: valid kernels, mutated a few thousand times
(characters and tokens deleted, duplicated, swapped; identifiers, numbers and
operators replaced; lines truncated or re-indented), are compiled through
tz._terrazzo.Kernel(...).ir(...). Every outcome must be either success or a
tz.CompilationError with a well-formed 'fuzz.py:line:col: error:' diagnostic;
no other exception, no internal compiler error, and no crash.

The cases run in a child process so that a crash (a signal, an abort) is
reported with the mutated source that caused it instead of killing pytest.
The mutations are deterministic: a failure names a case that reproduces with

    python3 test/python/test_fuzz_frontend.py show <case>

Hand-written edge cases (int64 limits in constant folding, unrolling near the
limits, very deep or very long constructs) go through the same harness.
"""

import ast
import json
import os
import random
import re
import subprocess
import sys
import time
import warnings

import pytest

FILENAME = "fuzz.py"
NUM_CASES = 6000
CHILD_TIMEOUT_S = 240

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


# Hand-written sources at the limits: constant folding at the edges of
# int64, unrolling near the int64 limits, very deep or very long constructs.
# Each must compile or be diagnosed, quickly, without a crash.
_EDGE_HEADER = "def k(x_ptr, n, B: tz.constexpr):\n"
EDGE_BODIES = [
    "    c = (-9223372036854775807 - 1) // -1\n",
    "    c = (-9223372036854775807 - 1) % -1\n",
    "    c = 2 ** 1000000000000\n",
    "    c = 1 ** 1000000000000000\n",
    "    c = (-1) ** 999999999999999999\n",
    "    c = 3 ** 40\n",
    "    c = 1 << 70\n",
    "    c = 2 ** 63 * 2\n",
    "    c = 1 // 0\n",
    "    c = n // 0\n",
    "    c = 1e999 * 0\n",
    "    c = " + "9" * 400 + "\n",
    "    for i in tz.static_range(-9223372036854775807, 9223372036854775807, 1):\n        pass\n",
    "    for i in tz.static_range(9223372036854775800, 9223372036854775807, 4):\n        c = i\n",
    "    for i in tz.static_range(9223372036854775807, -9223372036854775807 - 1, -1):\n        pass\n",
    "    for i in tz.static_range(0, 10, -1):\n        pass\n",
    "    for i in range(0, n, 0):\n        pass\n",
    "    c = tz.arange(0, 2 ** 40)\n",
    "    c = tz.arange(2147483640, 2147483656)\n",
    "    c = tz.zeros((1 << 62, 4))\n",
    "    c = tz.reshape(tz.arange(0, 16), ())\n",
    "    c = tz.arange(0, 16) << 99\n",
    "    c = " + "(" * 5000 + "1" + ")" * 5000 + "\n",
    "    c = n" + " + 1" * 50000 + "\n",
    "    c = 1" + " * 1" * 50000 + "\n",
    "    c = " + "-" * 50000 + "n\n",
    "    c = " + "not " * 50000 + "n\n",
    "    c = n" + " < n" * 20000 + "\n",
    "    c = n" + " and n" * 20000 + "\n",
    "    c = n" + "[None]" * 3000 + "\n",
    "    c = x_ptr" + ".dtype" * 3000 + "\n",
    "    c = " + "tz.abs(" * 3000 + "n" + ")" * 3000 + "\n",
    "    c = (" + "n, " * 30000 + ")\n",
    "    if n > 0:\n        c = 0\n" + "".join("    elif n > %d:\n        c = %d\n" % (d, d) for d in range(1, 20000))
    + "    else:\n        c = 1\n    tz.store(x_ptr, c)\n",
    "".join("    " + "    " * d + "if n > %d:\n" % d for d in range(150)) + "    " + "    " * 150 + "c = 1\n",
    "    c = 0\n" + "".join("    for i%d in range(n):\n        c += 1\n" % d for d in range(300))
    + "    tz.store(x_ptr, c)\n",
    "".join("    c%d = n + %d\n" % (d, d) for d in range(20000)),
    "    \u00e9 = 1\n",
    "\tc = 1\n        d = 2\n",
    "    c = 'abc\\\n",
    "    c = \"\"\"never closed\n",
    "    c = 1 if n else\n",
]


def make_edge_case(i):
    return "k", _EDGE_HEADER + EDGE_BODIES[i], "f32, 5, 16"


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
    rendered = msg.split("\n")
    if len(rendered) < 3 or rendered[2].strip() != "^":
        return "no source line and caret"
    return None


# ---------------------------------------------------------------------------
# the child process
# ---------------------------------------------------------------------------

def _make_args(spec):
    import numpy as np

    arrays = {"f32": np.float32, "f16": np.float16, "i32": np.int32}
    args = []
    for a in spec.split(","):
        a = a.strip()
        if a in arrays:
            args.append(np.ones(64, arrays[a]))
        elif "." in a or "e" in a:
            args.append(float(a))
        else:
            args.append(int(a))
    return tuple(args)


def run_cases(suite, start, stop, progress):
    import terrazzo as tz

    def lookup(n):
        return (tz,) if n == "tz" else None

    problems, outcomes = [], {"ok": 0, "error": 0}
    crash_at = int(os.environ.get("TZ_FUZZ_CRASH_AT", "-1"))  # tests the harness itself
    for i in range(start, stop):
        name, src, spec = (make_case if suite == "fuzz" else make_edge_case)(i)
        progress.write(f"{i}\n")
        progress.flush()
        if i == crash_at:
            os.abort()
        try:
            k = tz._terrazzo.Kernel(src, FILENAME, 0, name, lookup)
            k.ir(_make_args(spec), {})
            outcomes["ok"] += 1
        except tz.CompilationError as e:
            outcomes["error"] += 1
            complaint = check_diagnostic(str(e), src)
            if complaint:
                problems.append({"case": i, "kind": complaint, "message": str(e)[:2000]})
        except BaseException as e:  # noqa: B902 - anything else is a finding
            problems.append({"case": i, "kind": type(e).__name__, "message": str(e)[:2000]})
    return {"problems": problems, "outcomes": outcomes}


def _child_main(argv):
    suite, start, stop, progress_path = argv[0], int(argv[1]), int(argv[2]), argv[3]
    with open(progress_path, "w") as progress:
        result = run_cases(suite, start, stop, progress)
    sys.stdout.write("@@RESULT@@" + json.dumps(result) + "\n")


# ---------------------------------------------------------------------------
# the test
# ---------------------------------------------------------------------------

def _describe(case, suite="fuzz"):
    name, src, spec = (make_case if suite == "fuzz" else make_edge_case)(case)
    if len(src) > 3000:
        src = src[:1500] + "\n[...]\n" + src[-1500:]
    return f"{suite} case {case} (kernel {name!r}, args {spec}):\n{src}"


def run_fuzz(tmp_path, num_cases, extra_env=None, suite="fuzz", timeout=CHILD_TIMEOUT_S):
    """Runs cases [0, num_cases) in child processes, restarting after a crash;
    returns (findings, outcome counts)."""
    progress = tmp_path / "progress.txt"
    env = dict(os.environ)
    env.update(extra_env or {})
    # the child imports terrazzo the same way this process did
    import terrazzo

    pkg_root = os.path.dirname(os.path.dirname(os.path.abspath(terrazzo.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([pkg_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    start = 0
    findings = []
    total = {"ok": 0, "error": 0}
    while start < num_cases:
        progress.write_text("")
        try:
            proc = subprocess.run([sys.executable, os.path.abspath(__file__), "child", suite, str(start),
                                   str(num_cases), str(progress)], env=env, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            done = progress.read_text().split()
            case = int(done[-1]) if done else start
            findings.append({"case": case, "kind": "hang (child timed out)", "message": ""})
            start = case + 1
            continue
        marker = [ln for ln in proc.stdout.splitlines() if ln.startswith("@@RESULT@@")]
        if proc.returncode == 0 and marker:
            result = json.loads(marker[-1][len("@@RESULT@@"):])
            findings += result["problems"]
            for k in total:
                total[k] += result["outcomes"][k]
            break
        # the child died: the last case it started is the culprit; go on after it
        done = progress.read_text().split()
        case = int(done[-1]) if done else start
        findings.append({"case": case, "kind": f"crash (exit status {proc.returncode})",
                         "message": proc.stderr[-2000:]})
        total["ok"] += max(case - start, 0)  # not exact: the child's counts died with it
        start = case + 1
    return findings, total


def test_fuzz_frontend(tmp_path):
    t0 = time.time()
    findings, total = run_fuzz(tmp_path, NUM_CASES)
    elapsed = time.time() - t0
    print(f"fuzz: {NUM_CASES} cases, {total['ok']} compiled, {total['error']} diagnosed, "
          f"{len(findings)} findings, {elapsed:.1f}s")
    if findings:
        pytest.fail(_report(findings, "fuzz"))
    # a sanity check on the mutator: both outcomes must be common
    assert total["ok"] > NUM_CASES // 10 and total["error"] > NUM_CASES // 4, total


def _report(findings, suite):
    report = []
    for f in findings[:10]:
        report.append(f"--- {f['kind']} in " + _describe(f["case"], suite) + f"\n>>> {f['message']}")
    return f"{len(findings)} {suite} case(s) failed:\n" + "\n".join(report)


def test_edge_cases(tmp_path):
    findings, total = run_fuzz(tmp_path, len(EDGE_BODIES), suite="edge", timeout=60)
    if findings:
        pytest.fail(_report(findings, "edge"))
    assert total["error"] > len(EDGE_BODIES) // 2, total


def test_fuzz_harness_reports_crashes(tmp_path):
    findings, _ = run_fuzz(tmp_path, 12, {"TZ_FUZZ_CRASH_AT": "5"})
    assert [f["case"] for f in findings] == [5]
    assert findings[0]["kind"].startswith("crash")


def test_mutations_are_deterministic():
    assert [make_case(i)[1] for i in range(50)] == [make_case(i)[1] for i in range(50)]
    # they change the source, and the odd cases are valid Python
    seeds = {name: src for name, src, _ in SEEDS}
    changed = sum(make_case(i)[1] != seeds[make_case(i)[0]] for i in range(200))
    assert changed > 180
    assert sum(_python_accepts(make_case(i)[1]) for i in range(1, 200, 2)) > 90


def test_seed_kernels_compile():
    import terrazzo as tz

    for name, src, spec in SEEDS:
        k = tz._terrazzo.Kernel(src, FILENAME, 0, name, lambda n: (tz,) if n == "tz" else None)
        assert "tz.kernel" in k.ir(_make_args(spec), {})


if __name__ == "__main__":
    if sys.argv[1:2] == ["child"]:
        _child_main(sys.argv[2:])
    elif sys.argv[1:2] == ["show"]:
        print(_describe(int(sys.argv[2])))
    else:
        sys.exit("usage: test_fuzz_frontend.py child fuzz|edge START STOP PROGRESS | show CASE")
