"""virStoragePool, virStorageVol and virStream of the libvirt-python facade, and the storage
methods of virConnect (mixed into it by :mod:`pyvirt._compat.objects`)."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pyvirt._compat.errors import call, fail
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt._compat.objects import virConnect
    from pyvirt.drivers.base import ByteStream, Driver, StoragePoolRef, StorageVolRef

T = TypeVar("T")


def _vc(obj: object) -> virConnect:
    return cast("virConnect", obj)


def _drv(conn: virConnect, api: str, write: bool) -> Driver:
    aio = conn._aio(api)
    if write and aio.readonly:
        raise fail(VirtError(f"operation forbidden: read only access prevents {api}",
                             ErrorCode.OPERATION_DENIED, ErrorDomain.STORAGE), api)
    return aio.driver


def _run(conn: virConnect, api: str, fn: Callable[[Driver], Coroutine[Any, Any, T]],
         write: bool = False) -> T:
    return call(api, fn(_drv(conn, api, write)), conn._core.inline)


class StorageConnMixin:
    """virConnect's storage calls (libvirt-python names and return values)."""

    def listAllStoragePools(self, flags: int = 0) -> list[virStoragePool]:
        refs = _run(_vc(self), "virConnectListAllStoragePools", lambda d: d.list_all_storage_pools(flags))
        return [virStoragePool(_vc(self), r) for r in refs]

    def listStoragePools(self) -> list[str]:
        return [r.name for r in _run(_vc(self), "virConnectListStoragePools",
                                     lambda d: d.list_all_storage_pools(2))]

    def listDefinedStoragePools(self) -> list[str]:
        return [r.name for r in _run(_vc(self), "virConnectListDefinedStoragePools",
                                     lambda d: d.list_all_storage_pools(1))]

    def numOfStoragePools(self) -> int:
        return len(StorageConnMixin.listStoragePools(self))

    def numOfDefinedStoragePools(self) -> int:
        return len(StorageConnMixin.listDefinedStoragePools(self))

    def storagePoolLookupByName(self, name: str) -> virStoragePool:
        return virStoragePool(_vc(self), _run(_vc(self), "virStoragePoolLookupByName",
                                         lambda d: d.storage_pool_lookup_by_name(name)))

    def storagePoolLookupByUUID(self, uuid: bytes) -> virStoragePool:
        return virStoragePool(_vc(self), _run(_vc(self), "virStoragePoolLookupByUUID",
                                         lambda d: d.storage_pool_lookup_by_uuid(bytes(uuid))))

    def storagePoolLookupByUUIDString(self, uuidstr: str) -> virStoragePool:
        try:
            raw = uuidlib.UUID(uuidstr).bytes
        except ValueError:
            raise fail(VirtError("invalid argument: uuidstr", ErrorCode.INVALID_ARG,
                                 ErrorDomain.STORAGE), "virStoragePoolLookupByUUIDString") from None
        return StorageConnMixin.storagePoolLookupByUUID(self, raw)

    def storagePoolDefineXML(self, xml: str, flags: int = 0) -> virStoragePool:
        return virStoragePool(_vc(self), _run(_vc(self), "virStoragePoolDefineXML",
                                         lambda d: d.storage_pool_define_xml(xml, flags), True))

    def storagePoolCreateXML(self, xmlDesc: str, flags: int = 0) -> virStoragePool:
        return virStoragePool(_vc(self), _run(_vc(self), "virStoragePoolCreateXML",
                                         lambda d: d.storage_pool_create_xml(xmlDesc, flags), True))

    def storageVolLookupByPath(self, path: str) -> virStorageVol:
        return virStorageVol(_vc(self), _run(_vc(self), "virStorageVolLookupByPath",
                                        lambda d: d.storage_vol_lookup_by_path(path)))

    def storageVolLookupByKey(self, key: str) -> virStorageVol:
        return virStorageVol(_vc(self), _run(_vc(self), "virStorageVolLookupByKey",
                                        lambda d: d.storage_vol_lookup_by_key(key)))

    def newStream(self, flags: int = 0) -> virStream:
        return virStream(_vc(self))


class virStoragePool:
    def __init__(self, conn: virConnect, ref: StoragePoolRef) -> None:
        self._conn = conn
        self._ref = ref

    def _c(self, api: str, fn: Callable[[Driver], Coroutine[Any, Any, T]], write: bool = False) -> T:
        return _run(self._conn, api, fn, write)

    def connect(self) -> virConnect:
        return self._conn

    def name(self) -> str:
        return self._ref.name

    def UUID(self) -> bytes:
        return self._ref.uuid

    def UUIDString(self) -> str:
        return str(uuidlib.UUID(bytes=self._ref.uuid))

    def info(self) -> list[int]:
        i = self._c("virStoragePoolGetInfo", lambda d: d.storage_pool_get_info(self._ref))
        return [i.state, i.capacity, i.allocation, i.available]

    def XMLDesc(self, flags: int = 0) -> str:
        return self._c("virStoragePoolGetXMLDesc", lambda d: d.storage_pool_get_xml_desc(self._ref, flags))

    def isActive(self) -> int:
        return int(self._c("virStoragePoolIsActive", lambda d: d.storage_pool_is_active(self._ref)))

    def isPersistent(self) -> int:
        return int(self._c("virStoragePoolIsPersistent", lambda d: d.storage_pool_is_persistent(self._ref)))

    def autostart(self) -> int:
        return int(self._c("virStoragePoolGetAutostart", lambda d: d.storage_pool_get_autostart(self._ref)))

    def setAutostart(self, autostart: int) -> int:
        self._c("virStoragePoolSetAutostart",
                lambda d: d.storage_pool_set_autostart(self._ref, bool(autostart)), True)
        return 0

    def create(self, flags: int = 0) -> int:
        self._c("virStoragePoolCreate", lambda d: d.storage_pool_create(self._ref, flags), True)
        return 0

    def build(self, flags: int = 0) -> int:
        self._c("virStoragePoolBuild", lambda d: d.storage_pool_build(self._ref, flags), True)
        return 0

    def destroy(self) -> int:
        self._c("virStoragePoolDestroy", lambda d: d.storage_pool_destroy(self._ref), True)
        return 0

    def delete(self, flags: int = 0) -> int:
        self._c("virStoragePoolDelete", lambda d: d.storage_pool_delete(self._ref, flags), True)
        return 0

    def undefine(self) -> int:
        self._c("virStoragePoolUndefine", lambda d: d.storage_pool_undefine(self._ref), True)
        return 0

    def refresh(self, flags: int = 0) -> int:
        self._c("virStoragePoolRefresh", lambda d: d.storage_pool_refresh(self._ref, flags), True)
        return 0

    def listAllVolumes(self, flags: int = 0) -> list[virStorageVol]:
        refs = self._c("virStoragePoolListAllVolumes",
                       lambda d: d.storage_pool_list_all_volumes(self._ref, flags))
        return [virStorageVol(self._conn, r) for r in refs]

    def listVolumes(self) -> list[str]:
        return [v.name() for v in self.listAllVolumes()]

    def numOfVolumes(self) -> int:
        return len(self.listAllVolumes())

    def storageVolLookupByName(self, name: str) -> virStorageVol:
        return virStorageVol(self._conn, self._c(
            "virStorageVolLookupByName", lambda d: d.storage_vol_lookup_by_name(self._ref, name)))

    def createXML(self, xmlDesc: str, flags: int = 0) -> virStorageVol:
        return virStorageVol(self._conn, self._c(
            "virStorageVolCreateXML", lambda d: d.storage_vol_create_xml(self._ref, xmlDesc, flags), True))

    def createXMLFrom(self, xmlDesc: str, clonevol: virStorageVol, flags: int = 0) -> virStorageVol:
        return virStorageVol(self._conn, self._c(
            "virStorageVolCreateXMLFrom",
            lambda d: d.storage_vol_create_xml_from(self._ref, xmlDesc, clonevol._ref, flags), True))


class virStorageVol:
    def __init__(self, conn: virConnect, ref: StorageVolRef) -> None:
        self._conn = conn
        self._ref = ref

    def _c(self, api: str, fn: Callable[[Driver], Coroutine[Any, Any, T]], write: bool = False) -> T:
        return _run(self._conn, api, fn, write)

    def connect(self) -> virConnect:
        return self._conn

    def name(self) -> str:
        return self._ref.name

    def key(self) -> str:
        return self._ref.key

    def path(self) -> str:
        return self._c("virStorageVolGetPath", lambda d: d.storage_vol_get_path(self._ref))

    def info(self) -> list[int]:
        i = self._c("virStorageVolGetInfo", lambda d: d.storage_vol_get_info(self._ref))
        return [i.type, i.capacity, i.allocation]

    def XMLDesc(self, flags: int = 0) -> str:
        return self._c("virStorageVolGetXMLDesc", lambda d: d.storage_vol_get_xml_desc(self._ref, flags))

    def storagePoolLookupByVolume(self) -> virStoragePool:
        return virStoragePool(self._conn, self._c(
            "virStoragePoolLookupByVolume", lambda d: d.storage_pool_lookup_by_volume(self._ref)))

    def delete(self, flags: int = 0) -> int:
        self._c("virStorageVolDelete", lambda d: d.storage_vol_delete(self._ref, flags), True)
        return 0

    def wipe(self, flags: int = 0) -> int:
        self._c("virStorageVolWipe", lambda d: d.storage_vol_wipe(self._ref, flags), True)
        return 0

    def resize(self, capacity: int, flags: int = 0) -> int:
        self._c("virStorageVolResize", lambda d: d.storage_vol_resize(self._ref, capacity, flags), True)
        return 0

    def upload(self, stream: virStream, offset: int, length: int, flags: int = 0) -> int:
        stream._attach(self._c("virStorageVolUpload",
                               lambda d: d.storage_vol_upload(self._ref, offset, length, flags), True))
        return 0

    def download(self, stream: virStream, offset: int, length: int, flags: int = 0) -> int:
        stream._attach(self._c("virStorageVolDownload",
                               lambda d: d.storage_vol_download(self._ref, offset, length, flags)))
        return 0


class virStream:
    """A data stream bound to a volume transfer (send/recv/finish/abort, sendAll/recvAll)."""

    def __init__(self, conn: virConnect) -> None:
        self._conn = conn
        self._bs: ByteStream | None = None

    def _attach(self, bs: ByteStream) -> None:
        self._bs = bs

    def _s(self, api: str) -> ByteStream:
        if self._bs is None:
            raise fail(VirtError("invalid stream pointer in " + api, ErrorCode.INVALID_STREAM,
                                 ErrorDomain.STREAMS), api)
        return self._bs

    def _call(self, api: str, coro: Coroutine[Any, Any, T]) -> T:
        return call(api, coro, self._conn._core.inline)

    def send(self, data: bytes) -> int:
        self._call("virStreamSend", self._s("virStreamSend").write(bytes(data)))
        return len(data)

    def recv(self, nbytes: int) -> bytes:
        return self._call("virStreamRecv", self._s("virStreamRecv").read(nbytes))

    def finish(self) -> int:
        self._call("virStreamFinish", self._s("virStreamFinish").close())
        self._bs = None
        return 0

    def abort(self) -> int:
        return self.finish()

    def sendAll(self, handler: Callable[[virStream, int, Any], bytes], opaque: Any) -> None:
        while data := handler(self, 65536, opaque):
            self.send(data)

    def recvAll(self, handler: Callable[[virStream, bytes, Any], Any], opaque: Any) -> None:
        while data := self.recv(65536):
            handler(self, data, opaque)
