"""triton.language.extra on terrazzo (`from triton.language.extra import libdevice`)."""

from . import cuda, libdevice  # noqa: F401

__terrazzo_kind__ = "module"
