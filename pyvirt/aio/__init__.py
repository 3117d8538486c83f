"""pyvirt's asyncio-native API.

::

    import pyvirt.aio as virt

    async with await virt.open("test:///default") as conn:
        dom = await conn.define_xml(xml)
        await dom.create()
        print(await dom.info())
        async with conn.domain_events() as events:
            async for d, ev in events:
                ...

:func:`open` resolves the URI like libvirt (argument, else ``LIBVIRT_DEFAULT_URI``, else
``qemu:///system`` for root and ``qemu:///session`` otherwise) and picks the driver from
:data:`pyvirt.aio.registry.DRIVERS`. :func:`open_driver` returns the bare
:class:`pyvirt.drivers.base.Driver` for layers that talk to drivers directly (pyvirsh,
pyvirtd's dispatcher).
"""

from __future__ import annotations

from pyvirt.aio.connection import (
    CLOSE_REASON_CLIENT,
    CLOSE_REASON_EOF,
    CLOSE_REASON_ERROR,
    CLOSE_REASON_KEEPALIVE,
    Connection,
    Domain,
    EventStream,
)
from pyvirt.aio.registry import DRIVERS, DriverEntry, Opened, open_uri
from pyvirt.drivers.base import Driver
from pyvirt.uri import resolve_uri


async def open(uri: str | None = None, *, readonly: bool = False) -> Connection:
    """Open a connection (virConnectOpen / virConnectOpenReadOnly)."""
    parsed = resolve_uri(uri)
    opened = await open_uri(parsed, readonly)
    return Connection(opened.driver, parsed, readonly=readonly, remote=opened.remote)


async def open_driver(uri: str | None = None, *, readonly: bool = False) -> Driver:
    """Open just the driver behind a URI, with the same selection as :func:`open`."""
    return (await open_uri(resolve_uri(uri), readonly)).driver


__all__ = [
    "CLOSE_REASON_CLIENT", "CLOSE_REASON_EOF", "CLOSE_REASON_ERROR", "CLOSE_REASON_KEEPALIVE",
    "DRIVERS", "Connection", "Domain", "DriverEntry", "EventStream", "Opened", "open",
    "open_driver",
]
