"""libvirt-python, on pyvirt: ``import pyvirt.libvirt as libvirt``.

Names, constants (``VIR_*``, libvirt's numbers), return values and errors follow
libvirt-python 9.0 as observed with the real module: methods return ``0`` where the C call
returns 0, lists where libvirt-python builds lists, and every failure is a
:class:`libvirtError` whose ``err`` tuple carries libvirt's code, domain and message, after
the registered error handler (or libvirt's default stderr line) has seen it.

The work is done by :mod:`pyvirt.aio` on a private loop thread (see
:mod:`pyvirt._compat.runtime` for why that is the one piece of process state). Event and
close callbacks run when the application calls :func:`virEventRunDefaultImpl`, in its own
thread, as with the C library.

Import cost matters (pyvirsh imports this): nothing here imports asyncio, drivers or lxml
until the first connection opens, and the ~1200 constants load on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyvirt._compat.errors import call, fail, libvirtError, virGetLastError
from pyvirt._compat.network import virNetwork
from pyvirt._compat.objects import virConnect, virDomain
from pyvirt._compat.runtime import ErrorHandler, existing_runtime, runtime
from pyvirt._compat.snapshot import virDomainSnapshot
from pyvirt._compat.storage import virStoragePool, virStorageVol, virStream
from pyvirt.errors import VirtError

_LIB_VERSION = 9_000_000
_VIR_CONNECT_RO = 1


def __getattr__(name: str) -> Any:
    """The VIR_* constants, loaded on first use and then cached in this module."""
    if name.startswith("VIR_"):
        from pyvirt import libvirt_constants

        consts = {k: v for k, v in vars(libvirt_constants).items() if k.startswith("VIR_")}
        globals().update(consts)
        if name in consts:
            return consts[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    from pyvirt import libvirt_constants

    return sorted(set(globals()) | {k for k in vars(libvirt_constants) if k.startswith("VIR_")})


# ----------------------------------------------------------------------------- errors


def registerErrorHandler(f: ErrorHandler | None, ctx: Any) -> int:
    """Call ``f(ctx, err)`` for every error instead of printing it; ``None`` restores that.

    The handler and ``ctx`` are kept alive by the library (strong references) until
    replaced, so a caller that drops its own references is still called safely.
    """
    runtime().set_handler(f, ctx)
    return 1


def virGetLastErrorCode() -> int:
    err = virGetLastError()
    return 0 if err is None else err[0]


def virGetLastErrorDomain() -> int:
    err = virGetLastError()
    return 0 if err is None else err[1]


def virGetLastErrorMessage() -> str:
    err = virGetLastError()
    return "no error" if err is None else err[2]


def virResetLastError() -> None:
    rt = existing_runtime()
    if rt is not None:
        rt.set_last_error(None)


def virInitialize() -> int:
    return 0


def getVersion(name: str | None = None) -> int:
    return _LIB_VERSION


# ----------------------------------------------------------------------------- events


def virEventRegisterDefaultImpl() -> int:
    runtime().ensure_event_impl()
    return 0


def virEventRegisterImpl(addHandle: Callable[..., int], updateHandle: Callable[..., Any],
                         removeHandle: Callable[..., Any], addTimeout: Callable[..., int],
                         updateTimeout: Callable[..., Any],
                         removeTimeout: Callable[..., Any]) -> None:
    """Use the application's event loop: callbacks then run inside it, in its thread."""
    from pyvirt._compat.eventloop import AppEventImpl

    runtime().set_event_impl(AppEventImpl(addHandle, updateHandle, removeHandle, addTimeout,
                                          updateTimeout, removeTimeout))


def virEventRunDefaultImpl() -> int:
    """One iteration: wait for a timer, a watched fd or a posted callback; dispatch them."""
    return runtime().ensure_event_impl().run_once()


def virEventAddTimeout(timeout: int, cb: Callable[[int, Any], None], opaque: Any) -> int:
    return runtime().ensure_event_impl().add_timeout(timeout, cb, opaque)


def virEventUpdateTimeout(timer: int, timeout: int) -> None:
    runtime().ensure_event_impl().update_timeout(timer, timeout)


def virEventRemoveTimeout(timer: int) -> int:
    return runtime().ensure_event_impl().remove_timeout(timer)


def virEventAddHandle(fd: int, events: int, cb: Callable[[int, int, int, Any], None],
                      opaque: Any) -> int:
    return runtime().ensure_event_impl().add_handle(fd, events, cb, opaque)


def virEventUpdateHandle(watch: int, events: int) -> None:
    runtime().ensure_event_impl().update_handle(watch, events)


def virEventRemoveHandle(watch: int) -> int:
    return runtime().ensure_event_impl().remove_handle(watch)


# ----------------------------------------------------------------------------- objects

def _open(name: str | None, readonly: bool) -> virConnect:
    from pyvirt import aio
    from pyvirt.aio.registry import entry_for
    from pyvirt.uri import resolve_uri

    try:
        inline = entry_for(resolve_uri(name)).inline
    except VirtError as e:
        raise fail(e, "virConnectOpen") from None
    return virConnect(call("virConnectOpen", aio.open(name, readonly=readonly), inline), inline)


def open(name: str | None = None) -> virConnect:
    """virConnectOpen; ``None`` or "" uses LIBVIRT_DEFAULT_URI or the default for the user."""
    return _open(name, False)


def openReadOnly(name: str | None = None) -> virConnect:
    return _open(name, True)


def openAuth(uri: str | None, auth: list[Any] | None, flags: int = 0) -> virConnect:
    """virConnectOpenAuth: no credential callbacks are needed by our transports."""
    return _open(uri, bool(flags & _VIR_CONNECT_RO))


__all__ = [
    "getVersion", "libvirtError", "open", "openAuth", "openReadOnly", "registerErrorHandler",
    "virConnect", "virDomain", "virDomainSnapshot", "virEventAddHandle", "virEventAddTimeout",
    "virEventRegisterDefaultImpl", "virEventRegisterImpl", "virEventRemoveHandle",
    "virEventRemoveTimeout",
    "virEventRunDefaultImpl", "virEventUpdateHandle", "virEventUpdateTimeout",
    "virGetLastError", "virGetLastErrorCode", "virGetLastErrorDomain", "virGetLastErrorMessage",
    "virInitialize", "virNetwork", "virResetLastError",
    "virStoragePool", "virStorageVol", "virStream",
]
