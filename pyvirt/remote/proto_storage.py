"""Storage pool and volume procedures (71-100, 125, 154-155, 165, 208-209, 259-260, 281-282).

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
The pool and volume references are ``proto_common``'s (StoragePoolRef / StorageVolRef).
"""

from __future__ import annotations

from pyvirt.remote.proto_common import (
    GetAutostartRet,
    GetXmlDescRet,
    IsActiveRet,
    IsPersistentRet,
    ListDefinedDomainsArgs,
    NamesRet,
    NonnullStoragePool,
    NonnullStorageVol,
    NumRet,
)
from pyvirt.remote.protocol_core import (
    UH,
    I,
    ListAllDomainsArgs,
    LookupByNameArgs,
    LookupByUuidArgs,
    NonnullString,
    S,
    U,
    Uuid,
    V,
    _p,
)
from pyvirt.rpc import xdr

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import StoragePoolRef, StorageVolRef
else:
    from pyvirt.rpc.record import Record


STORAGE_POOL_LIST_MAX = 16384
STORAGE_VOL_LIST_MAX = 16384


class PoolArgs(Record):
    pool: StoragePoolRef


class PoolFlagsArgs(Record):
    pool: StoragePoolRef
    flags: int


class PoolRet(Record):
    pool: StoragePoolRef


class VolArgs(Record):
    vol: StorageVolRef


class VolFlagsArgs(Record):
    vol: StorageVolRef
    flags: int


class VolRet(Record):
    vol: StorageVolRef


class PoolXmlArgs(Record):
    xml: str
    flags: int


class PoolGetInfoRet(Record):
    state: int
    capacity: int
    allocation: int
    available: int


class PoolSetAutostartArgs(Record):
    pool: StoragePoolRef
    autostart: int


class PoolListVolumesArgs(Record):
    pool: StoragePoolRef
    maxnames: int


class VolLookupByNameArgs(Record):
    pool: StoragePoolRef
    name: str


class VolLookupByKeyArgs(Record):
    key: str


class VolLookupByPathArgs(Record):
    path: str


class VolCreateXmlArgs(Record):
    pool: StoragePoolRef
    xml: str
    flags: int


class VolCreateXmlFromArgs(Record):
    pool: StoragePoolRef
    xml: str
    clonevol: StorageVolRef
    flags: int


class VolWipePatternArgs(Record):
    vol: StorageVolRef
    algorithm: int
    flags: int


class VolGetInfoRet(Record):
    type: int
    capacity: int
    allocation: int


class VolGetPathRet(Record):
    name: str


class VolResizeArgs(Record):
    vol: StorageVolRef
    capacity: int
    flags: int


class VolTransferArgs(Record):
    vol: StorageVolRef
    offset: int
    length: int
    flags: int


class ListAllPoolsRet(Record):
    pools: list[StoragePoolRef]
    ret: int


class PoolListAllVolumesArgs(Record):
    pool: StoragePoolRef
    need_results: int
    flags: int


class ListAllVolsRet(Record):
    vols: list[StorageVolRef]
    ret: int


POOL_ARGS = S(PoolArgs, NonnullStoragePool)
POOL_FLAGS_ARGS = S(PoolFlagsArgs, NonnullStoragePool, U)
POOL_RET = S(PoolRet, NonnullStoragePool)
VOL_ARGS = S(VolArgs, NonnullStorageVol)
VOL_FLAGS_ARGS = S(VolFlagsArgs, NonnullStorageVol, U)
VOL_RET = S(VolRet, NonnullStorageVol)
POOL_NAMES_RET = S(NamesRet, xdr.Array(NonnullString, STORAGE_POOL_LIST_MAX))
VOL_TRANSFER_ARGS = S(VolTransferArgs, NonnullStorageVol, UH, UH, U)

CONNECT_NUM_OF_STORAGE_POOLS = _p(71, "CONNECT_NUM_OF_STORAGE_POOLS", V, S(NumRet, I))
CONNECT_LIST_STORAGE_POOLS = _p(72, "CONNECT_LIST_STORAGE_POOLS", S(ListDefinedDomainsArgs, I), POOL_NAMES_RET)
CONNECT_NUM_OF_DEFINED_STORAGE_POOLS = _p(73, "CONNECT_NUM_OF_DEFINED_STORAGE_POOLS", V, S(NumRet, I))
CONNECT_LIST_DEFINED_STORAGE_POOLS = _p(
    74, "CONNECT_LIST_DEFINED_STORAGE_POOLS", S(ListDefinedDomainsArgs, I), POOL_NAMES_RET
)
STORAGE_POOL_CREATE_XML = _p(76, "STORAGE_POOL_CREATE_XML", S(PoolXmlArgs, NonnullString, U), POOL_RET, rw=True)
STORAGE_POOL_DEFINE_XML = _p(77, "STORAGE_POOL_DEFINE_XML", S(PoolXmlArgs, NonnullString, U), POOL_RET, rw=True)
STORAGE_POOL_CREATE = _p(78, "STORAGE_POOL_CREATE", POOL_FLAGS_ARGS, V, rw=True)
STORAGE_POOL_BUILD = _p(79, "STORAGE_POOL_BUILD", POOL_FLAGS_ARGS, V, rw=True)
STORAGE_POOL_DESTROY = _p(80, "STORAGE_POOL_DESTROY", POOL_ARGS, V, rw=True)
STORAGE_POOL_DELETE = _p(81, "STORAGE_POOL_DELETE", POOL_FLAGS_ARGS, V, rw=True)
STORAGE_POOL_UNDEFINE = _p(82, "STORAGE_POOL_UNDEFINE", POOL_ARGS, V, rw=True)
STORAGE_POOL_REFRESH = _p(83, "STORAGE_POOL_REFRESH", POOL_FLAGS_ARGS, V, rw=True)
STORAGE_POOL_LOOKUP_BY_NAME = _p(
    84, "STORAGE_POOL_LOOKUP_BY_NAME", S(LookupByNameArgs, NonnullString), POOL_RET
)
STORAGE_POOL_LOOKUP_BY_UUID = _p(85, "STORAGE_POOL_LOOKUP_BY_UUID", S(LookupByUuidArgs, Uuid), POOL_RET)
STORAGE_POOL_LOOKUP_BY_VOLUME = _p(86, "STORAGE_POOL_LOOKUP_BY_VOLUME", VOL_ARGS, POOL_RET)
STORAGE_POOL_GET_INFO = _p(
    87, "STORAGE_POOL_GET_INFO", POOL_ARGS, S(PoolGetInfoRet, xdr.UChar, UH, UH, UH)
)
STORAGE_POOL_GET_XML_DESC = _p(88, "STORAGE_POOL_GET_XML_DESC", POOL_FLAGS_ARGS, S(GetXmlDescRet, NonnullString))
STORAGE_POOL_GET_AUTOSTART = _p(89, "STORAGE_POOL_GET_AUTOSTART", POOL_ARGS, S(GetAutostartRet, I))
STORAGE_POOL_SET_AUTOSTART = _p(
    90, "STORAGE_POOL_SET_AUTOSTART", S(PoolSetAutostartArgs, NonnullStoragePool, I), V, rw=True
)
STORAGE_POOL_NUM_OF_VOLUMES = _p(91, "STORAGE_POOL_NUM_OF_VOLUMES", POOL_ARGS, S(NumRet, I))
STORAGE_POOL_LIST_VOLUMES = _p(
    92, "STORAGE_POOL_LIST_VOLUMES", S(PoolListVolumesArgs, NonnullStoragePool, I),
    S(NamesRet, xdr.Array(NonnullString, STORAGE_VOL_LIST_MAX)),
)
STORAGE_VOL_CREATE_XML = _p(
    93, "STORAGE_VOL_CREATE_XML", S(VolCreateXmlArgs, NonnullStoragePool, NonnullString, U), VOL_RET, rw=True
)
STORAGE_VOL_DELETE = _p(94, "STORAGE_VOL_DELETE", VOL_FLAGS_ARGS, V, rw=True)
STORAGE_VOL_LOOKUP_BY_NAME = _p(
    95, "STORAGE_VOL_LOOKUP_BY_NAME", S(VolLookupByNameArgs, NonnullStoragePool, NonnullString), VOL_RET
)
STORAGE_VOL_LOOKUP_BY_KEY = _p(96, "STORAGE_VOL_LOOKUP_BY_KEY", S(VolLookupByKeyArgs, NonnullString), VOL_RET)
STORAGE_VOL_LOOKUP_BY_PATH = _p(97, "STORAGE_VOL_LOOKUP_BY_PATH", S(VolLookupByPathArgs, NonnullString), VOL_RET)
STORAGE_VOL_GET_INFO = _p(98, "STORAGE_VOL_GET_INFO", VOL_ARGS, S(VolGetInfoRet, xdr.Char, UH, UH))
STORAGE_VOL_GET_XML_DESC = _p(99, "STORAGE_VOL_GET_XML_DESC", VOL_FLAGS_ARGS, S(GetXmlDescRet, NonnullString))
STORAGE_VOL_GET_PATH = _p(100, "STORAGE_VOL_GET_PATH", VOL_ARGS, S(VolGetPathRet, NonnullString))
STORAGE_VOL_CREATE_XML_FROM = _p(
    125, "STORAGE_VOL_CREATE_XML_FROM",
    S(VolCreateXmlFromArgs, NonnullStoragePool, NonnullString, NonnullStorageVol, U), VOL_RET, rw=True,
)
STORAGE_POOL_IS_ACTIVE = _p(154, "STORAGE_POOL_IS_ACTIVE", POOL_ARGS, S(IsActiveRet, I))
STORAGE_POOL_IS_PERSISTENT = _p(155, "STORAGE_POOL_IS_PERSISTENT", POOL_ARGS, S(IsPersistentRet, I))
STORAGE_VOL_WIPE = _p(165, "STORAGE_VOL_WIPE", VOL_FLAGS_ARGS, V, rw=True)
STORAGE_VOL_UPLOAD = _p(208, "STORAGE_VOL_UPLOAD", VOL_TRANSFER_ARGS, V, rw=True)
STORAGE_VOL_DOWNLOAD = _p(209, "STORAGE_VOL_DOWNLOAD", VOL_TRANSFER_ARGS, V)
STORAGE_VOL_WIPE_PATTERN = _p(
    259, "STORAGE_VOL_WIPE_PATTERN", S(VolWipePatternArgs, NonnullStorageVol, U, U), V, rw=True
)
STORAGE_VOL_RESIZE = _p(260, "STORAGE_VOL_RESIZE", S(VolResizeArgs, NonnullStorageVol, UH, U), V, rw=True)
CONNECT_LIST_ALL_STORAGE_POOLS = _p(
    281, "CONNECT_LIST_ALL_STORAGE_POOLS", S(ListAllDomainsArgs, I, U),
    S(ListAllPoolsRet, xdr.Array(NonnullStoragePool, STORAGE_POOL_LIST_MAX), U),
)
STORAGE_POOL_LIST_ALL_VOLUMES = _p(
    282, "STORAGE_POOL_LIST_ALL_VOLUMES", S(PoolListAllVolumesArgs, NonnullStoragePool, I, U),
    S(ListAllVolsRet, xdr.Array(NonnullStorageVol, STORAGE_VOL_LIST_MAX), U),
)
