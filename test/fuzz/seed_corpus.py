"""The seed corpus of the fuzzing campaign: the hand-written seeds of
frontend_mutations plus every @jit kernel found in the repository's kernel
sources (test/, kernels/, python/, examples/, docs/examples, bench/), each with an args
spec under which it compiles.

A kernel taken from a file gets its arguments by guessing: parameters
annotated tz.constexpr get a block size, the others are tried as arrays, then
as integers; a kernel that compiles under none of the guesses (it calls a
helper defined elsewhere in its file, needs a tuple argument, ...) is left out.
"""

import ast
import glob
import os
import textwrap

from frontend_mutations import FILENAME, SEEDS, _make_args

REPO = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SOURCE_GLOBS = ["test/Frontend/*.py", "test/Frontend/errors/*.py", "test/python/*.py", "test/unit/kernels/*.py",
                "kernels/**/*.py", "python/terrazzo/**/*.py", "examples/**/*.py", "docs/examples/*.py", "bench/*.py"]


def _is_jit(decorator):
    text = ast.unparse(decorator)
    return "jit" in text and "autotune" not in text


def _kernels_in(path):
    try:
        text = open(path, encoding="utf-8").read()
        tree = ast.parse(text)
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and any(_is_jit(d) for d in node.decorator_list):
            lines = text.split("\n")[node.lineno - 1:node.end_lineno]
            found.append((node.name, textwrap.dedent("\n".join(lines)) + "\n", node))
    return found


def _constexpr(arg):
    return arg.annotation is not None and "constexpr" in ast.unparse(arg.annotation)


def _guesses(fn):
    """Args specs to try for a function's parameters, most likely first."""
    params = fn.args.args
    pointerish = ("ptr", "out", "x", "y", "z", "a", "b", "c", "o", "q", "k", "v", "src", "dst", "in", "buf")

    def spec(array_if, block="16"):
        return ", ".join(block if _constexpr(p) else ("f32" if array_if(p.arg) else "8") for p in params)

    return [spec(lambda n: "ptr" in n.lower() or n.lower() in pointerish or n.lower().endswith("_p")),
            spec(lambda n: "ptr" in n.lower()),
            spec(lambda n: True),
            spec(lambda n: "ptr" in n.lower() or n.lower() in pointerish, "32"),
            spec(lambda n: "ptr" in n.lower(), "4")]


def repo_seeds(tz):
    """(name, source, spec) for every kernel in the repository that compiles
    under one of the guessed specs."""
    lookup = _lookup(tz)
    seeds, seen = [], set()
    for pattern in SOURCE_GLOBS:
        for path in sorted(glob.glob(os.path.join(REPO, pattern), recursive=True)):
            for name, src, fn in _kernels_in(path):
                if src in seen or len(src) > 20000:
                    continue
                seen.add(src)
                for spec in _guesses(fn):
                    try:
                        tz._terrazzo.Kernel(src, FILENAME, 0, name, lookup).ir(_make_args(spec), {})
                    except Exception:  # noqa: BLE001 - a guess that does not fit
                        continue
                    seeds.append((name, src, spec))
                    break
    return seeds


def _lookup(tz):
    def lookup(name):
        return (tz,) if name in ("tz", "tl") else None
    return lookup


def all_seeds(tz):
    return list(SEEDS) + repo_seeds(tz)
