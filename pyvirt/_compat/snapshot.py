"""virDomainSnapshot of the libvirt-python facade, and virDomain's snapshot methods (mixed
into it by :mod:`pyvirt._compat.objects`). Names, arguments and return values follow
libvirt-python: lists of objects, ints for booleans, 0 for success."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pyvirt._compat.handle import run_dom
from pyvirt.errors import ErrorDomain

if TYPE_CHECKING:
    from pyvirt._compat.objects import virDomain
    from pyvirt.drivers.base import Driver, SnapshotRef

T = TypeVar("T")


def _vd(obj: object) -> virDomain:
    return cast("virDomain", obj)


def _run(dom: virDomain, api: str, fn: Callable[[Driver], Coroutine[Any, Any, T]], write: bool = False) -> T:
    return run_dom(dom, api, fn, ErrorDomain.DOMAIN_SNAPSHOT, write)


class SnapshotDomainMixin:
    """virDomain's snapshot calls."""

    def _snap(self, ref: SnapshotRef) -> virDomainSnapshot:
        return virDomainSnapshot(_vd(self), ref.name)

    def snapshotCreateXML(self, xmlDesc: str, flags: int = 0) -> virDomainSnapshot:
        d = _vd(self)
        ref = _run(d, "virDomainSnapshotCreateXML",
                   lambda drv: drv.snapshot_create_xml(d._dom.ref, xmlDesc, flags), write=True)
        return self._snap(ref)

    def snapshotLookupByName(self, name: str, flags: int = 0) -> virDomainSnapshot:
        d = _vd(self)
        return self._snap(_run(d, "virDomainSnapshotLookupByName",
                               lambda drv: drv.snapshot_lookup_by_name(d._dom.ref, name, flags)))

    def listAllSnapshots(self, flags: int = 0) -> list[virDomainSnapshot]:
        d = _vd(self)
        refs = _run(d, "virDomainListAllSnapshots", lambda drv: drv.list_all_snapshots(d._dom.ref, flags))
        return [self._snap(r) for r in refs]

    def snapshotNum(self, flags: int = 0) -> int:
        d = _vd(self)
        return _run(d, "virDomainSnapshotNum", lambda drv: drv.snapshot_num(d._dom.ref, flags))

    def snapshotListNames(self, flags: int = 0) -> list[str]:
        d = _vd(self)
        return _run(d, "virDomainSnapshotListNames", lambda drv: drv.snapshot_list_names(d._dom.ref, flags))

    def snapshotCurrent(self, flags: int = 0) -> virDomainSnapshot:
        d = _vd(self)
        return self._snap(_run(d, "virDomainSnapshotCurrent", lambda drv: drv.snapshot_current(d._dom.ref, flags)))

    def hasCurrentSnapshot(self, flags: int = 0) -> int:
        d = _vd(self)
        return int(_run(d, "virDomainHasCurrentSnapshot", lambda drv: drv.has_current_snapshot(d._dom.ref, flags)))

    def revertToSnapshot(self, snap: virDomainSnapshot, flags: int = 0) -> int:
        d = _vd(self)
        _run(d, "virDomainRevertToSnapshot", lambda drv: drv.revert_to_snapshot(snap._ref(), flags), write=True)
        return 0


class virDomainSnapshot:
    """A snapshot handle: its domain and name (libvirt-python's virDomainSnapshot)."""

    def __init__(self, dom: virDomain, name: str) -> None:
        self._domain = dom
        self._name = name

    def _ref(self) -> SnapshotRef:
        from pyvirt.drivers.base import SnapshotRef

        return SnapshotRef(self._domain._dom.ref, self._name)

    def _run(self, api: str, fn: Callable[[Driver], Coroutine[Any, Any, T]], write: bool = False) -> T:
        return _run(self._domain, api, fn, write)

    def getName(self) -> str:
        return self._name

    def getDomain(self) -> virDomain:
        return self._domain

    def domain(self) -> virDomain:
        return self._domain

    def getConnect(self) -> Any:
        return self._domain.connect()

    def connect(self) -> Any:
        return self._domain.connect()

    def getXMLDesc(self, flags: int = 0) -> str:
        return self._run("virDomainSnapshotGetXMLDesc", lambda drv: drv.snapshot_get_xml_desc(self._ref(), flags))

    def getParent(self, flags: int = 0) -> virDomainSnapshot:
        ref = self._run("virDomainSnapshotGetParent", lambda drv: drv.snapshot_get_parent(self._ref(), flags))
        return virDomainSnapshot(self._domain, ref.name)

    def isCurrent(self, flags: int = 0) -> int:
        return int(self._run("virDomainSnapshotIsCurrent", lambda drv: drv.snapshot_is_current(self._ref(), flags)))

    def hasMetadata(self, flags: int = 0) -> int:
        return int(self._run("virDomainSnapshotHasMetadata",
                             lambda drv: drv.snapshot_has_metadata(self._ref(), flags)))

    def numChildren(self, flags: int = 0) -> int:
        return self._run("virDomainSnapshotNumChildren", lambda drv: drv.snapshot_num_children(self._ref(), flags))

    def listChildrenNames(self, flags: int = 0) -> list[str]:
        return self._run("virDomainSnapshotListChildrenNames",
                         lambda drv: drv.snapshot_list_children_names(self._ref(), flags))

    def listAllChildren(self, flags: int = 0) -> list[virDomainSnapshot]:
        refs = self._run("virDomainSnapshotListAllChildren",
                         lambda drv: drv.snapshot_list_all_children(self._ref(), flags))
        return [virDomainSnapshot(self._domain, r.name) for r in refs]

    def delete(self, flags: int = 0) -> int:
        self._run("virDomainSnapshotDelete", lambda drv: drv.snapshot_delete(self._ref(), flags), write=True)
        return 0

    def __repr__(self) -> str:
        return f"<virDomainSnapshot {self._name!r} of {self._domain.name()!r}>"
