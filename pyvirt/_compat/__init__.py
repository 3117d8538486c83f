"""Machinery of the libvirt-python facade (pyvirt.libvirt): runtime, objects, events."""
