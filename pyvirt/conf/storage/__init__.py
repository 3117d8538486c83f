"""Storage pool and volume XML: parse -> defaults -> validate -> format (libvirt's layout)."""

from pyvirt.conf.storage.pool import PoolDef, PoolType, parse_pool_xml
from pyvirt.conf.storage.volume import VolDef, VolFormat, VolType, parse_vol_xml

__all__ = ["PoolDef", "PoolType", "VolDef", "VolFormat", "VolType", "parse_pool_xml", "parse_vol_xml"]
