"""DOMAIN_SCREENSHOT, client side, mixed into RemoteDriver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.remote import protocol as P
from pyvirt.remote.client_mixin import RemoteMixin

if TYPE_CHECKING:
    from pyvirt.drivers.base import ByteStream, DomainRef


class RemoteScreenshotMixin(RemoteMixin):
    async def screenshot(self, dom: DomainRef, screen: int, flags: int = 0) -> tuple[str | None, ByteStream]:
        from pyvirt.rpc import xdr

        raw, stream = await self._call_stream(P.DOMAIN_SCREENSHOT, P.ScreenshotArgs(dom, screen, flags))
        return xdr.decode(P.DOMAIN_SCREENSHOT.ret, raw).mime, stream
