"""triton.language.extra.cuda on terrazzo."""

from . import libdevice  # noqa: F401

__terrazzo_kind__ = "module"
