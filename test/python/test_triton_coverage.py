"""The Triton-compatibility tables of docs/language.md (section 14) against the
public names of Triton 3.6.0 (triton36_names.txt): one row per name, and each
row's status holds — supported names compile inside a kernel, unsupported ones
fail with a CompilationError that names them, and every name exists on the
host in terrazzo.triton_compat."""

import pathlib
import re

import numpy as np
import pytest

import terrazzo
import terrazzo.triton_compat as triton
import terrazzo.triton_compat.language as tl
from terrazzo import _terrazzo
from terrazzo.triton_compat.language.extra.cuda import libdevice

HERE = pathlib.Path(__file__).resolve().parent
DOC = HERE.parent.parent / "docs" / "language.md"

MODULE_OF_HEADING = {
    "`triton` (`terrazzo.triton_compat`)": "triton",
    "`triton.language` (`terrazzo.triton_compat.language`)": "triton.language",
    "`triton.language.math`": "triton.language.math",
    "`triton.language.extra.cuda.libdevice`": "triton.language.extra.cuda.libdevice",
}
STATUSES = {"supported", "accepted", "not supported"}


def triton_names():
    names = []
    for line in (HERE / "triton36_names.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            module, name = line.split()
            names.append((module, name))
    return names


def doc_rows():
    """(module, name) -> (status, notes) from section 14's tables."""
    text = DOC.read_text()
    section = text[text.index("## 14. Triton compatibility"):]
    rows, module, seen = {}, None, []
    for line in section.splitlines():
        if line.startswith("#### "):
            module = MODULE_OF_HEADING[line[5:].strip()]
            continue
        m = re.match(r"^\| `([^`]+)` \| ([^|]+) \|(.*)\|$", line)
        if m and module:
            key = (module, m.group(1))
            seen.append(key)
            rows[key] = (m.group(2).strip(), m.group(3).strip())
    duplicates = {k for k in seen if seen.count(k) > 1}
    assert not duplicates, f"names listed twice in docs/language.md: {sorted(duplicates)}"
    return rows


ROWS = doc_rows()
NAMES = triton_names()


def test_every_triton_name_has_exactly_one_row():
    missing = [n for n in NAMES if n not in ROWS]
    extra = [k for k in ROWS if k not in NAMES]
    assert not missing, f"Triton names without a row in docs/language.md: {missing}"
    assert not extra, f"rows for names Triton 3.6 does not export: {extra}"
    bad = {k: v[0] for k, v in ROWS.items() if v[0] not in STATUSES}
    assert not bad, f"unknown statuses: {bad}"


def test_every_name_exists_on_the_host():
    modules = {"triton": triton, "triton.language": tl, "triton.language.math": tl.math,
               "triton.language.extra.cuda.libdevice": libdevice}
    absent = []
    for (module, name), (status, _) in ROWS.items():
        if module == "triton" and status == "not supported":
            continue  # host API terrazzo does not offer (compile, runtime, ...)
        if not hasattr(modules[module], name):
            absent.append(f"{module}.{name}")
    assert not absent, f"names missing from terrazzo.triton_compat: {absent}"


def compile_probe(body, params="x_ptr"):
    """Compiles a one-function kernel whose body is `body`; raises
    CompilationError as a user's kernel would."""
    source = f"def probe({params}):\n" + "".join(f"    {line}\n" for line in body.splitlines())
    globals_ = {"tl": tl, "triton": triton, "libdevice": libdevice}

    def lookup(name):
        return (globals_[name],) if name in globals_ else None
    kernel = _terrazzo.Kernel(source, "probe.py", 0, "probe", lookup)
    return kernel.ir((np.zeros(4, np.float32),), {})


def kernel_rows():
    prefix = {"triton.language": "tl.", "triton.language.math": "tl.math.",
              "triton.language.extra.cuda.libdevice": "libdevice."}
    for (module, name), (status, notes) in sorted(ROWS.items()):
        if module in prefix:
            yield pytest.param(prefix[module] + name, status, notes, id=f"{module}.{name}")


@pytest.mark.parametrize("expr,status,notes", list(kernel_rows()))
def test_kernel_use_matches_status(expr, status, notes):
    name = expr.rsplit(".", 1)[1]
    if status == "accepted" and "annotation" in notes:
        # A type: fine as an annotation, an error inside the body.
        compile_probe("pass", params=f"x_ptr: {expr}")
        with pytest.raises(terrazzo.CompilationError, match=re.escape(name)):
            compile_probe(f"value = {expr}")
    elif "host-side" in notes:
        pass  # e.g. tl.dtype: a host class; kernels use x.dtype
    elif status in ("supported", "accepted"):
        compile_probe(f"value = {expr}")
    else:
        with pytest.raises(terrazzo.CompilationError, match=re.escape(name)):
            compile_probe(f"value = {expr}")


def test_unsupported_dtype_argument_names_the_dtype():
    with pytest.raises(terrazzo.CompilationError, match="float8e4nv"):
        compile_probe("pass", params="x_ptr, D: tl.constexpr = tl.float8e4nv")


def test_supported_libdevice_functions_compute(rng):
    """The libdevice names the table marks supported, run and checked."""
    x = rng.uniform(0.1, 0.9, 16).astype(np.float32)
    y = rng.uniform(0.1, 0.9, 16).astype(np.float32)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    cases = {
        "tan": np.tan(x64), "atan": np.arctan(x64), "expm1": np.expm1(x64), "log10": np.log10(x64),
        "log1p": np.log1p(x64), "trunc": np.trunc(x64 * 8), "round": np.floor(np.abs(x64 * 8) + 0.5),
        "rint": np.rint(x64 * 8), "pow": x64 ** y64, "atan2": np.arctan2(x64, y64),
        "copysign": np.copysign(x64, -y64),
    }
    args = {"trunc": "x * 8.0", "round": "x * 8.0", "rint": "x * 8.0", "pow": "x, y", "atan2": "x, y",
            "copysign": "x, -y"}
    for name, ref in cases.items():
        source = ("def probe(x_ptr, y_ptr, out_ptr):\n"
                  "    offs = tl.arange(0, 16)\n"
                  "    x = tl.load(x_ptr + offs)\n"
                  "    y = tl.load(y_ptr + offs)\n"
                  f"    tl.store(out_ptr + offs, libdevice.{name}({args.get(name, 'x')}))\n")
        kernel = _terrazzo.Kernel(source, "probe.py", 0, "probe",
                                  lambda n: {"tl": (tl,), "libdevice": (libdevice,)}.get(n))
        out = np.full(16, np.nan, np.float32)
        kernel.interpret((1,), (x, y, out), {})
        np.testing.assert_allclose(out.astype(np.float64), ref, rtol=2e-6, atol=1e-7, err_msg=name)
