"""triton.language on terrazzo (`import terrazzo.triton_compat.language as tl`).

Kernels never run these Python objects: the C++ frontend compiles `tl.xyz`
inside a kernel (this module identifies itself as the terrazzo language
module). They exist so that host code, annotations and `help()` find every
name Triton 3.6 exports. docs/language.md ("Triton compatibility") gives each
one's status; a name marked unsupported raises a CompilationError naming it
when a kernel uses it.
"""

from ...language import *  # noqa: F401,F403  (the builtins and dtypes terrazzo implements)
from ...language import __all__ as _terrazzo_names
from ...language import constexpr, dtype, cdiv, _kernel_only
from . import math, extra

__terrazzo_kind__ = "module"

# Dtypes Triton has and terrazzo does not compile yet (using one in a kernel
# raises a CompilationError that names it).
uint8 = dtype("uint8", 8, False)
uint16 = dtype("uint16", 16, False)
uint32 = dtype("uint32", 32, False)
uint64 = dtype("uint64", 64, False)
float8e4nv = dtype("float8e4nv", 8, True)
float8e5 = dtype("float8e5", 8, True)
float8e4b15 = dtype("float8e4b15", 8, True)
float8e4b8 = dtype("float8e4b8", 8, True)
float8e5b16 = dtype("float8e5b16", 8, True)
void = dtype("void", 0, False)

TRITON_MAX_TENSOR_NUMEL = 1 << 20


class _TypeName:
    """A Triton type used in annotations (`x_ptr: tl.pointer_type(tl.float32)`
    is evaluated when the module loads, so building one must work); kernels
    cannot use it as a value."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs

    def __class_getitem__(cls, item):
        return cls


class tensor(_TypeName):
    pass


class block_type(_TypeName):
    pass


class pointer_type(_TypeName):
    pass


class const(_TypeName):
    pass


class tuple(_TypeName):  # noqa: A001 (Triton's name)
    """tl.tuple(iterable) inside kernels builds a tuple; on the host, a type name."""


class tuple_type(_TypeName):
    pass


class constexpr_type(_TypeName):
    pass


class tensor_descriptor(_TypeName):
    pass


class tensor_descriptor_type(_TypeName):
    pass


class slice(_TypeName):  # noqa: A001 (Triton's name)
    pass


class pi32_t(_TypeName):
    pass


class PropagateNan:
    """Triton's NaN-propagation modes; terrazzo always propagates NaN."""
    NONE = 0
    ALL = 0xFFFF


class target_info:
    """Triton's target queries (cuda_capability_geq, ...): not supported."""


def condition(*args, **kwargs):
    raise RuntimeError("tl.condition is not supported by terrazzo")


_UNSUPPORTED = ["dot_scaled", "inline_asm_elementwise",
                "map_elementwise"]
for _name in _UNSUPPORTED:
    globals()[_name] = _kernel_only(_name, "(...)", "Not supported by terrazzo: a kernel using it fails to compile.")

__all__ = list(_terrazzo_names) + [
    "uint8", "uint16", "uint32", "uint64", "float8e4nv", "float8e5", "float8e4b15", "float8e4b8", "float8e5b16",
    "void", "TRITON_MAX_TENSOR_NUMEL", "tensor", "block_type", "pointer_type", "const", "tuple", "tuple_type",
    "constexpr_type", "tensor_descriptor", "tensor_descriptor_type", "slice", "pi32_t", "PropagateNan",
    "target_info", "condition", "math", "extra"] + _UNSUPPORTED
