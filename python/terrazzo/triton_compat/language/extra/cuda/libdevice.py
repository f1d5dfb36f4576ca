"""triton.language.extra.cuda.libdevice on terrazzo: see ..libdevice."""

from ..libdevice import __getattr__  # noqa: F401

__terrazzo_kind__ = "module"
