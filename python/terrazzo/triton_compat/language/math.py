"""triton.language.math on terrazzo: the same builtins as tl.<name>."""

from ...language import (umulhi, exp, exp2, fma, log, log2, cos, rsqrt, sin, sqrt, sqrt_rn, abs, fdiv,  # noqa: F401
                         div_rn, erf, floor, ceil)

__terrazzo_kind__ = "module"
