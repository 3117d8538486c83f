"""The RPC layer's own exceptions, apart from the codecs that raise them.

:mod:`pyvirt.rpc.xdr` and :mod:`pyvirt.rpc.wire` load on every client's start-up, and
:mod:`pyvirt.errors` (hundreds of IntEnum members built at import, with ``enum``) would
be most of a one-shot ``pyvirsh list``'s imports; they import this module only when they
raise. Both are re-exported where they always lived: ``xdr.XdrError``,
``packet.FramingError``.
"""

from __future__ import annotations

from pyvirt.errors import RPCError


class XdrError(RPCError):
    """Truncated, oversized or otherwise undecodable XDR data."""


class FramingError(RPCError):
    """The byte stream cannot be split into packets (bad length): the peer is dropped."""
