"""What the aio handles share: libvirt's public-API checks that run before a driver is
reached (read-only refusal, UUID arguments) and the accessors of a handle on a looked-up
object (:class:`Handle`: :class:`~pyvirt.aio.storage.StorageVol`; :class:`UuidHandle`:
:class:`~pyvirt.aio.connection.Domain`, :class:`~pyvirt.aio.network.Network`,
:class:`~pyvirt.aio.storage.StoragePool`).

Only the error domain differs between object kinds, so it is a parameter here; equality,
hashing and repr stay with each handle class (they are not the same for every kind).
"""

from __future__ import annotations

import uuid as uuidlib
from typing import TYPE_CHECKING, Generic, Protocol, TypeVar

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.aio.connection import Connection
    from pyvirt.drivers.base import Driver


def writable(conn: Connection, api: str, domain: ErrorDomain) -> Driver:
    """The connection's driver, or libvirt's refusal of ``api`` on a read-only connection."""
    drv = conn.driver  # a closed connection fails here first, as in libvirt
    if conn.readonly:
        raise VirtError(f"operation forbidden: read only access prevents {api}",
                        ErrorCode.OPERATION_DENIED, domain)
    return drv


def raw_uuid(uuid: bytes, domain: ErrorDomain) -> bytes:
    """A *LookupByUUID argument: exactly 16 raw bytes."""
    if len(uuid) != 16:
        raise VirtError("invalid argument: uuid", ErrorCode.INVALID_ARG, domain)
    return bytes(uuid)


def uuid_from_string(text: str, domain: ErrorDomain) -> bytes:
    """A *LookupByUUIDString argument as raw bytes (Python's UUID syntax)."""
    try:
        return uuidlib.UUID(text).bytes
    except ValueError:
        raise VirtError("invalid argument: uuidstr", ErrorCode.INVALID_ARG, domain) from None


class _NamedRef(Protocol):
    @property
    def name(self) -> str: ...


class _UuidRef(_NamedRef, Protocol):
    @property
    def uuid(self) -> bytes: ...


R = TypeVar("R", bound=_NamedRef)
U = TypeVar("U", bound=_UuidRef)


class Handle(Generic[R]):
    """A handle on a driver object: the connection and the object's ``ref`` as looked up."""

    def __init__(self, conn: Connection, ref: R) -> None:
        self.conn = conn
        self.ref = ref

    @property
    def name(self) -> str:
        return self.ref.name


class UuidHandle(Handle[U]):
    """A :class:`Handle` on an object identified by name and raw UUID."""

    @property
    def uuid(self) -> bytes:
        return self.ref.uuid

    @property
    def uuid_string(self) -> str:
        return str(uuidlib.UUID(bytes=self.ref.uuid))


class ConnPart:
    """Base of the families mixed into :class:`~pyvirt.aio.connection.Connection`
    (storage, network): ``_self()`` is the connection, typed."""

    def _self(self) -> Connection:
        from pyvirt.aio.connection import Connection

        assert isinstance(self, Connection)
        return self
