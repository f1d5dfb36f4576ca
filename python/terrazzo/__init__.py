"""Terrazzo: a tile-level kernel language and JIT compiler.

Write a kernel as a Python-syntax function over tiles, decorate it with
``@terrazzo.jit``, and launch it with ``kernel[grid](*args)``. The body is
never executed by Python: the C++ frontend compiles its source. Kernels run
on an NVIDIA GPU when given CUDA tensors (torch, or anything with
__cuda_array_interface__), and on the CPU interpreter over numpy arrays (or
DLPack CPU tensors), or always under TZ_INTERPRET=1.
"""

import importlib.util as _importlib_util

# Where torch is installed it is imported first: on the H100 machine's torch
# (pybind11 3.1 there), `import torch` after our extension was loaded
# segfaulted inside torch's own import (torch/_subclasses/functional_tensor.py),
# while torch first and then terrazzo works. The cause is not found yet (a
# separate pybind11 ABI tag did not change it); test_import_order.py checks
# both orders.
if _importlib_util.find_spec("torch") is not None:
    import torch as _torch  # noqa: F401

from ._terrazzo import CompilationError, version as _version
from .jit import JITFunction, jit
from .autotune import Autotuner, AutotuneError, Config, autotune
from .language import *  # noqa: F401,F403  (the language namespace: tz.load, tz.dot, ...)
from .language import constexpr, dtype, cdiv
from . import language
from . import ops
from .strided import strided

__version__ = _version()
__terrazzo_kind__ = "module"

__all__ = ["jit", "JITFunction", "autotune", "Config", "Autotuner", "AutotuneError", "CompilationError", "constexpr", "dtype", "cdiv", "language", "ops", "strided"] + language.__all__
