"""Triton's Python API on terrazzo, so that Triton source runs with only its
imports changed:

    import terrazzo.triton_compat as triton
    import terrazzo.triton_compat.language as tl

`triton.jit`, `triton.autotune`, `triton.Config`, `triton.heuristics`,
`triton.cdiv`, `triton.next_power_of_2` and `triton.testing.do_bench` take
Triton's arguments. Kernels compile with terrazzo's compiler; docs/language.md
("Triton compatibility") lists every name of triton.language with its status.
"""

from .._terrazzo import CompilationError
from ..jit import JITFunction, jit
from .autotuning import Config, autotune, heuristics, Heuristics
from ..autotune import Autotuner
from . import language
from . import testing

__terrazzo_kind__ = "module"


def cdiv(x, y):
    """Ceiling division of two ints."""
    return (x + y - 1) // y


def next_power_of_2(n):
    """The smallest power of two >= n (1 for n <= 1)."""
    n = int(n)
    return 1 if n <= 1 else 1 << (n - 1).bit_length()


class OutOfResources(Exception):
    """Raised by Triton when a kernel needs more shared memory or registers
    than the GPU has; here for code that catches it."""


__all__ = ["jit", "JITFunction", "autotune", "Autotuner", "Config", "heuristics", "Heuristics", "cdiv",
           "next_power_of_2", "language", "testing", "CompilationError", "OutOfResources"]
