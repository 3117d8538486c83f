"""Domain snapshot procedures (virDomainSnapshot*, virDomainHasCurrentSnapshot ...).

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
The snapshot reference is ``proto_common``'s NonnullSnapshot (wire order name, domain;
carried as SnapshotRef).
"""

from __future__ import annotations

from pyvirt.remote.proto_common import GetXmlDescRet, NamesRet, NonnullSnapshot
from pyvirt.remote.protocol_core import DOM_FLAGS_ARGS, I, NonnullDomain, NonnullString, S, U, V, _p
from pyvirt.rpc import xdr

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import DomainRef, SnapshotRef
else:
    from pyvirt.rpc.record import Record


SNAPSHOT_LIST_MAX = 16384


class SnapshotNumRet(Record):
    num: int


class SnapCreateXmlArgs(Record):
    dom: DomainRef
    xml_desc: str
    flags: int


class SnapArgs(Record):
    snap: SnapshotRef
    flags: int


class SnapRet(Record):
    snap: SnapshotRef


class SnapListNamesArgs(Record):
    dom: DomainRef
    maxnames: int
    flags: int


class SnapChildrenNamesArgs(Record):
    snap: SnapshotRef
    maxnames: int
    flags: int


class SnapListAllArgs(Record):
    dom: DomainRef
    need_results: int
    flags: int


class SnapListAllChildrenArgs(Record):
    snapshot: SnapshotRef
    need_results: int
    flags: int


class SnapListAllRet(Record):
    snapshots: list[SnapshotRef]
    ret: int


class SnapLookupArgs(Record):
    dom: DomainRef
    name: str
    flags: int


class HasCurrentSnapshotRet(Record):
    result: int


class SnapIsCurrentRet(Record):
    current: int


class SnapHasMetadataRet(Record):
    metadata: int


SNAP_ARGS = S(SnapArgs, NonnullSnapshot, U)
SNAP_RET = S(SnapRet, NonnullSnapshot)
SNAP_NAMES_RET = S(NamesRet, xdr.Array(NonnullString, SNAPSHOT_LIST_MAX))
SNAP_LIST_ALL_RET = S(SnapListAllRet, xdr.Array(NonnullSnapshot, SNAPSHOT_LIST_MAX), I)

DOMAIN_SNAPSHOT_CREATE_XML = _p(
    185, "DOMAIN_SNAPSHOT_CREATE_XML", S(SnapCreateXmlArgs, NonnullDomain, NonnullString, U), SNAP_RET, rw=True
)
DOMAIN_SNAPSHOT_GET_XML_DESC = _p(
    186, "DOMAIN_SNAPSHOT_GET_XML_DESC", SNAP_ARGS, S(GetXmlDescRet, NonnullString), high=True
)
DOMAIN_SNAPSHOT_NUM = _p(
    187, "DOMAIN_SNAPSHOT_NUM", DOM_FLAGS_ARGS, S(SnapshotNumRet, I), high=True
)
DOMAIN_SNAPSHOT_LIST_NAMES = _p(
    188, "DOMAIN_SNAPSHOT_LIST_NAMES", S(SnapListNamesArgs, NonnullDomain, I, U), SNAP_NAMES_RET, high=True
)
DOMAIN_SNAPSHOT_LOOKUP_BY_NAME = _p(
    189, "DOMAIN_SNAPSHOT_LOOKUP_BY_NAME", S(SnapLookupArgs, NonnullDomain, NonnullString, U), SNAP_RET, high=True
)
DOMAIN_HAS_CURRENT_SNAPSHOT = _p(190, "DOMAIN_HAS_CURRENT_SNAPSHOT", DOM_FLAGS_ARGS, S(HasCurrentSnapshotRet, I))
DOMAIN_SNAPSHOT_CURRENT = _p(191, "DOMAIN_SNAPSHOT_CURRENT", DOM_FLAGS_ARGS, SNAP_RET)
DOMAIN_REVERT_TO_SNAPSHOT = _p(192, "DOMAIN_REVERT_TO_SNAPSHOT", SNAP_ARGS, V, rw=True)
DOMAIN_SNAPSHOT_DELETE = _p(193, "DOMAIN_SNAPSHOT_DELETE", SNAP_ARGS, V, rw=True)
DOMAIN_SNAPSHOT_GET_PARENT = _p(244, "DOMAIN_SNAPSHOT_GET_PARENT", SNAP_ARGS, SNAP_RET, high=True)
DOMAIN_SNAPSHOT_NUM_CHILDREN = _p(246, "DOMAIN_SNAPSHOT_NUM_CHILDREN", SNAP_ARGS, S(SnapshotNumRet, I), high=True)
DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES = _p(
    247, "DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES", S(SnapChildrenNamesArgs, NonnullSnapshot, I, U), SNAP_NAMES_RET,
    high=True,
)
DOMAIN_SNAPSHOT_IS_CURRENT = _p(271, "DOMAIN_SNAPSHOT_IS_CURRENT", SNAP_ARGS, S(SnapIsCurrentRet, I))
DOMAIN_SNAPSHOT_HAS_METADATA = _p(272, "DOMAIN_SNAPSHOT_HAS_METADATA", SNAP_ARGS, S(SnapHasMetadataRet, I))
DOMAIN_LIST_ALL_SNAPSHOTS = _p(
    274, "DOMAIN_LIST_ALL_SNAPSHOTS", S(SnapListAllArgs, NonnullDomain, I, U), SNAP_LIST_ALL_RET, high=True
)
DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN = _p(
    275, "DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN", S(SnapListAllChildrenArgs, NonnullSnapshot, I, U), SNAP_LIST_ALL_RET,
    high=True,
)
