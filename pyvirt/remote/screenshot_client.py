"""DOMAIN_SCREENSHOT, client side, mixed into RemoteDriver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.remote import protocol as P

if TYPE_CHECKING:
    from pyvirt.drivers.base import ByteStream, DomainRef
    from pyvirt.rpc.client import RPCClient


class RemoteScreenshotMixin:
    _rpc: RPCClient

    async def screenshot(self, dom: DomainRef, screen: int, flags: int = 0) -> tuple[str | None, ByteStream]:
        from pyvirt.remote.client import _RemoteStream
        from pyvirt.rpc import xdr

        payload = xdr.encode(P.DOMAIN_SCREENSHOT.args, P.ScreenshotArgs(dom, screen, flags))
        raw, ch = await self._rpc.call_stream(P.DOMAIN_SCREENSHOT.number, payload)
        ret = xdr.decode(P.DOMAIN_SCREENSHOT.ret, raw)
        return ret.mime, _RemoteStream(self._rpc, ch)
