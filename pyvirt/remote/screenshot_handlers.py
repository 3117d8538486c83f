"""DOMAIN_SCREENSHOT, server side: the reply names the MIME type, then the image follows on
the call's stream (one CONTINUE packet per chunk, an empty one at the end), as libvirtd sends
it. Registered into ``handlers.HANDLERS`` when :mod:`pyvirt.remote.handlers` imports this."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.remote import protocol as P
from pyvirt.remote.handlers import serves

if TYPE_CHECKING:
    from pyvirt.remote.dispatch import RemoteSession


@serves(P.DOMAIN_SCREENSHOT)
async def screenshot(s: RemoteSession, a: P.ScreenshotArgs) -> P.ScreenshotRet:
    serial = s.current_serial  # read before the first await (see handlers.open_console)
    mime, stream = await s.drv.screenshot(a.dom, a.screen, a.flags)
    s.start_stream(serial, P.DOMAIN_SCREENSHOT.number, stream)
    return P.ScreenshotRet(mime)
