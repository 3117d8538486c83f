"""Which driver serves a URI: the registry, as data.

Each :class:`DriverEntry` is a predicate over the parsed URI and an opener; the first entry
that accepts the URI opens it. Driver modules are imported inside the openers, so opening
``test:///default`` never imports QEMU or RPC code (pyvirsh's start-up depends on that).

Policy (issue 2 + 3): ``test:///...`` and ``qemu:///embed?root=DIR`` run in process;
``qemu:///system`` and ``qemu:///session`` go to a running pyvirtd when its socket exists,
and run in process otherwise; any URI with a transport, a host or ``?socket=`` is remote.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pyvirt.drivers.base import Driver
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.uri import ConnectURI, no_driver


@dataclass(frozen=True, slots=True)
class Opened:
    """An open driver and whether it sits behind the remote protocol (close callbacks)."""

    driver: Driver
    remote: bool


@dataclass(frozen=True, slots=True)
class DriverEntry:
    """``inline``: opening and every call complete without suspending (the test driver), so
    a synchronous caller may drive the coroutines itself, with no event loop at all."""

    name: str
    accepts: Callable[[ConnectURI], bool]
    open: Callable[[ConnectURI, bool], Awaitable[Opened]]
    inline: bool = False


async def _open_test(uri: ConnectURI, readonly: bool) -> Opened:
    from pyvirt.drivers.test.driver import TestDriver

    return Opened(TestDriver(uri.original, readonly=readonly), remote=False)


def _check_qemu_path(uri: ConnectURI) -> None:
    if uri.path not in ("/system", "/session", "/embed"):
        raise VirtError(f"internal error: unexpected qemu URI path '{uri.path}', try "
                        "qemu:///system", ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE)
    if uri.path == "/embed":
        root = uri.param("root")
        if not root:
            raise VirtError("invalid argument: Missing URI parameter 'root'",
                            ErrorCode.INVALID_ARG, ErrorDomain.URI)
        if not os.path.isabs(root):
            raise VirtError("unsupported configuration: root path must be absolute",
                            ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.NONE)


async def _open_qemu_local(uri: ConnectURI, readonly: bool) -> Opened:
    _check_qemu_path(uri)
    if uri.path != "/embed":
        # A running daemon owns the domains: talking to it beats racing it in process.
        from pyvirt.remote import client

        sock = client.session_socket() if uri.path == "/session" else client.SYSTEM_SOCKET
        if os.path.exists(sock):
            return Opened(await client.RemoteDriver.open(uri.original, readonly), remote=True)
    from pyvirt.drivers.qemu.driver import QemuDriver

    return Opened(await QemuDriver.open(uri.original), remote=False)


async def _open_remote(uri: ConnectURI, readonly: bool) -> Opened:
    if uri.driver == "qemu":
        _check_qemu_path(uri)
    from pyvirt.remote.client import RemoteDriver

    return Opened(await RemoteDriver.open(uri.original, readonly), remote=True)


DRIVERS: tuple[DriverEntry, ...] = (
    DriverEntry("remote", lambda u: u.driver in ("qemu", "test") and u.is_remote, _open_remote),
    DriverEntry("test", lambda u: u.driver == "test", _open_test, inline=True),
    DriverEntry("qemu", lambda u: u.driver == "qemu", _open_qemu_local),
)


def entry_for(uri: ConnectURI, drivers: tuple[DriverEntry, ...] = DRIVERS) -> DriverEntry:
    """The first entry that accepts ``uri``; VIR_ERR_NO_CONNECT when none does."""
    for entry in drivers:
        if entry.accepts(uri):
            return entry
    raise no_driver(uri.original)


async def open_uri(uri: ConnectURI, readonly: bool = False,
                   drivers: tuple[DriverEntry, ...] = DRIVERS) -> Opened:
    """Open the driver of the first entry that accepts ``uri``."""
    return await entry_for(uri, drivers).open(uri, readonly)


__all__ = ["DRIVERS", "DriverEntry", "Opened", "entry_for", "open_uri"]
