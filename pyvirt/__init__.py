"""pyvirt: libvirt, rebuilt in Python and wire-compatible with it."""

__version__ = "0.1.0"
