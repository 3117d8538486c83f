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

TYPE_CHECKING = False  # mypy treats this as typing's; typing itself stays off the import
if TYPE_CHECKING:
    from typing import Any

    from pyvirt.aio.connection import (
        CLOSE_REASON_CLIENT,
        CLOSE_REASON_EOF,
        CLOSE_REASON_ERROR,
        CLOSE_REASON_KEEPALIVE,
        Connection,
        Domain,
        EventStream,
    )
    from pyvirt.aio.registry import DRIVERS, DriverEntry, Opened
    from pyvirt.drivers.base import Driver

# The names this package re-exports, loaded on first use (module __getattr__): pyvirsh and
# pyvirtd need only open_driver, and importing the Connection API with it (aio.connection,
# network, storage, snapshot...) was ~5 ms of their start-up.
_LAZY = {
    "CLOSE_REASON_CLIENT": "pyvirt.aio.connection", "CLOSE_REASON_EOF": "pyvirt.aio.connection",
    "CLOSE_REASON_ERROR": "pyvirt.aio.connection",
    "CLOSE_REASON_KEEPALIVE": "pyvirt.aio.connection", "Connection": "pyvirt.aio.connection",
    "Domain": "pyvirt.aio.connection", "EventStream": "pyvirt.aio.connection",
    "DRIVERS": "pyvirt.aio.registry", "DriverEntry": "pyvirt.aio.registry",
    "Opened": "pyvirt.aio.registry", "open_uri": "pyvirt.aio.registry",
    "Driver": "pyvirt.drivers.base", "resolve_uri": "pyvirt.uri",
}


def __getattr__(name: str) -> Any:
    modname = _LAZY.get(name)
    if modname is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(modname), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


async def open(uri: str | None = None, *, readonly: bool = False) -> Connection:
    """Open a connection (virConnectOpen / virConnectOpenReadOnly)."""
    from pyvirt.aio.connection import Connection
    from pyvirt.aio.registry import open_uri
    from pyvirt.uri import resolve_uri

    parsed = resolve_uri(uri)
    opened = await open_uri(parsed, readonly)
    return Connection(opened.driver, parsed, readonly=readonly, remote=opened.remote)


async def open_driver(uri: str | None = None, *, readonly: bool = False) -> Driver:
    """Open just the driver behind a URI, with the same selection as :func:`open`."""
    from pyvirt.aio.registry import open_uri
    from pyvirt.uri import resolve_uri

    return (await open_uri(resolve_uri(uri), readonly)).driver


__all__ = [
    "CLOSE_REASON_CLIENT", "CLOSE_REASON_EOF", "CLOSE_REASON_ERROR", "CLOSE_REASON_KEEPALIVE",
    "DRIVERS", "Connection", "Domain", "DriverEntry", "EventStream", "Opened", "open",
    "open_driver",
]
