"""`import terrazzo` and `import torch` work in either order. On the H100
machine (2026-12-08) torch's import segfaulted when our extension had been
loaded first; terrazzo/__init__.py now imports torch before the extension
where torch is installed (the cause is not found). Each order runs in a
fresh interpreter; skipped where torch is not installed."""

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
