"""Terrazzo: a tile-level kernel language and JIT compiler.

Write a kernel as a Python-syntax function over tiles, decorate it with
``@terrazzo.jit``, and launch it with ``kernel[grid](*args)``. The body is
never executed by Python: the C++ frontend compiles its source. Kernels run
on the CPU interpreter over numpy arrays (or DLPack CPU tensors); the GPU
backend is not there yet.
"""

from ._terrazzo import CompilationError, version as _version
from .jit import JITFunction, jit
from .language import *  # noqa: F401,F403  (the language namespace: tz.load, tz.dot, ...)
from .language import constexpr, dtype, cdiv
from . import language
from . import ops

__version__ = _version()
__terrazzo_kind__ = "module"

__all__ = ["jit", "JITFunction", "CompilationError", "constexpr", "dtype", "cdiv", "language", "ops"] + language.__all__
