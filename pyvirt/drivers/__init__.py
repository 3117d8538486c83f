"""Hypervisor and object drivers behind the public API (see drivers/base.py)."""
