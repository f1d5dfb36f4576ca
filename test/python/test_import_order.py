"""`import terrazzo` and `import torch` work in either order. Our pybind11
module once shared pybind11's internals and function-record type with
torch's (another pybind11 3.x, same platform ABI tag), and torch's import
crashed with a segfault when terrazzo came first (the H100 machine,
2026-12-07). Each order runs in a fresh interpreter; skipped where torch is
not installed."""

import importlib.util
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")


@pytest.mark.parametrize("first,second", [("terrazzo", "torch"), ("torch", "terrazzo")])
def test_import_order(first, second):
    code = f"import {first}; import {second}; import torch; x = torch.ones(3); print('ok', float(x.sum()))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env=dict(os.environ))
    assert out.returncode == 0 and out.stdout.strip() == "ok 3.0", (out.returncode, out.stdout, out.stderr[-3000:])
