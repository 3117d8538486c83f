"""virStoragePool, virStorageVol and virStream of the libvirt-python facade, and the storage
methods of virConnect (mixed into it by :mod:`pyvirt._compat.objects`). Thin wrappers on
:mod:`pyvirt.aio.storage`, like virDomain on the aio Domain."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pyvirt._compat.errors import call, fail
from pyvirt._compat.handle import ObjHandle, UuidObjHandle
from pyvirt._compat.handle import run_conn as _run
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt._compat.objects import virConnect
    from pyvirt.aio.storage import StoragePool, StorageVol
    from pyvirt.drivers.base import ByteStream

T = TypeVar("T")


def _vc(obj: object) -> virConnect:
    return cast("virConnect", obj)


class StorageConnMixin:
    """virConnect's storage calls (libvirt-python names and return values)."""

    def listAllStoragePools(self, flags: int = 0) -> list[virStoragePool]:
        c = _vc(self)
        pools = _run(c, "virConnectListAllStoragePools", lambda a: a.list_all_storage_pools(flags))
        return [virStoragePool(c, p) for p in pools]

    def listStoragePools(self) -> list[str]:
        return _run(_vc(self), "virConnectListStoragePools", lambda a: a.list_storage_pools())

    def listDefinedStoragePools(self) -> list[str]:
        return _run(_vc(self), "virConnectListDefinedStoragePools",
                    lambda a: a.list_defined_storage_pools())

    def numOfStoragePools(self) -> int:
        return len(self.listStoragePools())

    def numOfDefinedStoragePools(self) -> int:
        return len(self.listDefinedStoragePools())

    def storagePoolLookupByName(self, name: str) -> virStoragePool:
        c = _vc(self)
        return virStoragePool(c, _run(c, "virStoragePoolLookupByName",
                                      lambda a: a.storage_pool_lookup_by_name(name)))

    def storagePoolLookupByUUID(self, uuid: bytes) -> virStoragePool:
        c = _vc(self)
        return virStoragePool(c, _run(c, "virStoragePoolLookupByUUID",
                                      lambda a: a.storage_pool_lookup_by_uuid(uuid)))

    def storagePoolLookupByUUIDString(self, uuidstr: str) -> virStoragePool:
        c = _vc(self)
        return virStoragePool(c, _run(c, "virStoragePoolLookupByUUIDString",
                                      lambda a: a.storage_pool_lookup_by_uuid_string(uuidstr)))

    def storagePoolDefineXML(self, xml: str, flags: int = 0) -> virStoragePool:
        c = _vc(self)
        return virStoragePool(c, _run(c, "virStoragePoolDefineXML",
                                      lambda a: a.storage_pool_define_xml(xml, flags)))

    def storagePoolCreateXML(self, xmlDesc: str, flags: int = 0) -> virStoragePool:
        c = _vc(self)
        return virStoragePool(c, _run(c, "virStoragePoolCreateXML",
                                      lambda a: a.storage_pool_create_xml(xmlDesc, flags)))

    def storageVolLookupByPath(self, path: str) -> virStorageVol:
        c = _vc(self)
        return virStorageVol(c, _run(c, "virStorageVolLookupByPath",
                                     lambda a: a.storage_vol_lookup_by_path(path)))

    def storageVolLookupByKey(self, key: str) -> virStorageVol:
        c = _vc(self)
        return virStorageVol(c, _run(c, "virStorageVolLookupByKey",
                                     lambda a: a.storage_vol_lookup_by_key(key)))

    def newStream(self, flags: int = 0) -> virStream:
        return virStream(_vc(self))


class virStoragePool(UuidObjHandle["StoragePool"]):
    _o: StoragePool  # connect(), name(), UUID(), UUIDString(): UuidObjHandle

    def info(self) -> list[int]:
        i = self._c("virStoragePoolGetInfo", self._o.info())
        return [i.state, i.capacity, i.allocation, i.available]

    def XMLDesc(self, flags: int = 0) -> str:
        return self._c("virStoragePoolGetXMLDesc", self._o.xml_desc(flags))

    def isActive(self) -> int:
        return int(self._c("virStoragePoolIsActive", self._o.is_active()))

    def isPersistent(self) -> int:
        return int(self._c("virStoragePoolIsPersistent", self._o.is_persistent()))

    def autostart(self) -> int:
        return int(self._c("virStoragePoolGetAutostart", self._o.autostart()))

    def setAutostart(self, autostart: int) -> int:
        return self._ok("virStoragePoolSetAutostart", self._o.set_autostart(bool(autostart)))

    def create(self, flags: int = 0) -> int:
        return self._ok("virStoragePoolCreate", self._o.create(flags))

    def build(self, flags: int = 0) -> int:
        return self._ok("virStoragePoolBuild", self._o.build(flags))

    def destroy(self) -> int:
        return self._ok("virStoragePoolDestroy", self._o.destroy())

    def delete(self, flags: int = 0) -> int:
        return self._ok("virStoragePoolDelete", self._o.delete(flags))

    def undefine(self) -> int:
        return self._ok("virStoragePoolUndefine", self._o.undefine())

    def refresh(self, flags: int = 0) -> int:
        return self._ok("virStoragePoolRefresh", self._o.refresh(flags))

    def listAllVolumes(self, flags: int = 0) -> list[virStorageVol]:
        vols = self._c("virStoragePoolListAllVolumes", self._o.list_all_volumes(flags))
        return [virStorageVol(self._conn, v) for v in vols]

    def listVolumes(self) -> list[str]:
        return [v.name() for v in self.listAllVolumes()]

    def numOfVolumes(self) -> int:
        return len(self.listAllVolumes())

    def storageVolLookupByName(self, name: str) -> virStorageVol:
        return virStorageVol(self._conn, self._c("virStorageVolLookupByName",
                                                 self._o.vol_lookup_by_name(name)))

    def createXML(self, xmlDesc: str, flags: int = 0) -> virStorageVol:
        return virStorageVol(self._conn, self._c("virStorageVolCreateXML",
                                                 self._o.create_vol_xml(xmlDesc, flags)))

    def createXMLFrom(self, xmlDesc: str, clonevol: virStorageVol, flags: int = 0) -> virStorageVol:
        return virStorageVol(self._conn, self._c(
            "virStorageVolCreateXMLFrom", self._o.create_vol_xml_from(xmlDesc, clonevol._o, flags)))


class virStorageVol(ObjHandle["StorageVol"]):
    _o: StorageVol  # connect(): ObjHandle

    def name(self) -> str:
        return self._o.name

    def key(self) -> str:
        return self._o.key

    def path(self) -> str:
        return self._c("virStorageVolGetPath", self._o.path())

    def info(self) -> list[int]:
        i = self._c("virStorageVolGetInfo", self._o.info())
        return [i.type, i.capacity, i.allocation]

    def XMLDesc(self, flags: int = 0) -> str:
        return self._c("virStorageVolGetXMLDesc", self._o.xml_desc(flags))

    def storagePoolLookupByVolume(self) -> virStoragePool:
        return virStoragePool(self._conn, self._c("virStoragePoolLookupByVolume", self._o.pool()))

    def delete(self, flags: int = 0) -> int:
        return self._ok("virStorageVolDelete", self._o.delete(flags))

    def wipe(self, flags: int = 0) -> int:
        return self._ok("virStorageVolWipe", self._o.wipe(flags))

    def wipePattern(self, algorithm: int, flags: int = 0) -> int:
        return self._ok("virStorageVolWipePattern", self._o.wipe_pattern(algorithm, flags))

    def resize(self, capacity: int, flags: int = 0) -> int:
        return self._ok("virStorageVolResize", self._o.resize(capacity, flags))

    def upload(self, stream: virStream, offset: int, length: int, flags: int = 0) -> int:
        stream._attach(self._c("virStorageVolUpload", self._o.upload(offset, length, flags)))
        return 0

    def download(self, stream: virStream, offset: int, length: int, flags: int = 0) -> int:
        stream._attach(self._c("virStorageVolDownload", self._o.download(offset, length, flags)))
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
