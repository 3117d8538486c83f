"""libvirt's XML text/attribute escaping alone: importable without the XML layer (lxml,
``pyvirt.errors``), for the command line's light path (pyvirsh snapshot-create-as)."""

from __future__ import annotations

_ESC = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;"})


def esc(value: object) -> str:
    """Escape text or an attribute value the way libvirt's virBufferEscapeString does."""
    return str(value).translate(_ESC)
