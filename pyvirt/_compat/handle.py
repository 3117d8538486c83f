"""What the facade's object wrappers share: running one API call on a connection or a
domain (with libvirt's read-only refusal where the call writes), and the handle base of
virNetwork / virStoragePool / virStorageVol (connection, wrapped aio object, ``connect()``,
libvirt-python's ``0`` for success).

virDomain (objects.py) keeps its own shape: it holds a connection reference for its whole
life and its calls take the aio Domain rather than a coroutine.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pyvirt._compat.errors import call, fail
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt._compat.objects import virConnect, virDomain
    from pyvirt.aio.common import UuidHandle
    from pyvirt.aio.connection import Connection as AioConnection
    from pyvirt.drivers.base import Driver

T = TypeVar("T")


def run_conn(conn: virConnect, api: str, fn: Callable[[AioConnection], Coroutine[Any, Any, T]]) -> T:
    """A virConnect call: ``fn`` on the open aio connection (a closed one fails as ``api``)."""
    return call(api, fn(conn._aio(api)), conn._core.inline)


def run_dom(dom: virDomain, api: str, fn: Callable[[Driver], Coroutine[Any, Any, T]],
            domain: ErrorDomain, write: bool = False) -> T:
    """A virDomain call made on the driver directly; one that ``write``s is refused on a
    read-only connection from ``domain`` (the error domain of the API's family)."""
    aio = dom._dom.conn
    if write and aio.readonly:
        raise fail(VirtError(f"operation forbidden: read only access prevents {api}",
                             ErrorCode.OPERATION_DENIED, domain), api)
    return call(api, fn(aio.driver), dom._conn._core.inline)


O = TypeVar("O")


class ObjHandle(Generic[O]):
    """A facade object wrapping the aio handle ``_o`` on connection ``_conn``."""

    def __init__(self, conn: virConnect, o: O) -> None:
        self._conn = conn
        self._o = o

    def _c(self, api: str, coro: Coroutine[Any, Any, T]) -> T:
        # a closed connection fails inside the call (aio's Connection.driver raises)
        return call(api, coro, self._conn._core.inline)

    def _ok(self, api: str, coro: Coroutine[Any, Any, object]) -> int:
        """A call whose libvirt-python binding returns 0 on success."""
        self._c(api, coro)
        return 0

    def connect(self) -> virConnect:
        return self._conn


N = TypeVar("N", bound="UuidHandle[Any]")


class UuidObjHandle(ObjHandle[N]):
    """An :class:`ObjHandle` on an object identified by name and UUID."""

    def name(self) -> str:
        return self._o.name

    def UUID(self) -> bytes:
        return self._o.uuid

    def UUIDString(self) -> str:
        return self._o.uuid_string
