"""Client side of the domain snapshot procedures, mixed into RemoteDriver."""

from __future__ import annotations

from pyvirt.drivers.base import DomainRef, SnapshotRef
from pyvirt.remote import protocol as P
from pyvirt.remote.client_mixin import RemoteMixin


class RemoteSnapshotMixin(RemoteMixin):
    async def snapshot_create_xml(self, dom: DomainRef, xml: str, flags: int = 0) -> SnapshotRef:
        return (await self._call(P.DOMAIN_SNAPSHOT_CREATE_XML, P.SnapCreateXmlArgs(dom, xml, flags))).snap

    async def snapshot_get_xml_desc(self, snap: SnapshotRef, flags: int = 0) -> str:
        return (await self._call(P.DOMAIN_SNAPSHOT_GET_XML_DESC, P.SnapArgs(snap, flags))).xml

    async def snapshot_num(self, dom: DomainRef, flags: int = 0) -> int:
        return (await self._call(P.DOMAIN_SNAPSHOT_NUM, P.DomFlagsArgs(dom, flags))).num

    async def snapshot_list_names(self, dom: DomainRef, flags: int = 0) -> list[str]:
        return (await self._call(P.DOMAIN_SNAPSHOT_LIST_NAMES,
                                 P.SnapListNamesArgs(dom, P.SNAPSHOT_LIST_MAX, flags))).names

    async def list_all_snapshots(self, dom: DomainRef, flags: int = 0) -> list[SnapshotRef]:
        return (await self._call(P.DOMAIN_LIST_ALL_SNAPSHOTS, P.SnapListAllArgs(dom, 1, flags))).snapshots

    async def snapshot_num_children(self, snap: SnapshotRef, flags: int = 0) -> int:
        return (await self._call(P.DOMAIN_SNAPSHOT_NUM_CHILDREN, P.SnapArgs(snap, flags))).num

    async def snapshot_list_children_names(self, snap: SnapshotRef, flags: int = 0) -> list[str]:
        return (await self._call(P.DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES,
                                 P.SnapChildrenNamesArgs(snap, P.SNAPSHOT_LIST_MAX, flags))).names

    async def snapshot_list_all_children(self, snap: SnapshotRef, flags: int = 0) -> list[SnapshotRef]:
        return (await self._call(P.DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN,
                                 P.SnapListAllChildrenArgs(snap, 1, flags))).snapshots

    async def snapshot_lookup_by_name(self, dom: DomainRef, name: str, flags: int = 0) -> SnapshotRef:
        return (await self._call(P.DOMAIN_SNAPSHOT_LOOKUP_BY_NAME, P.SnapLookupArgs(dom, name, flags))).snap

    async def has_current_snapshot(self, dom: DomainRef, flags: int = 0) -> bool:
        return bool((await self._call(P.DOMAIN_HAS_CURRENT_SNAPSHOT, P.DomFlagsArgs(dom, flags))).result)

    async def snapshot_get_parent(self, snap: SnapshotRef, flags: int = 0) -> SnapshotRef:
        return (await self._call(P.DOMAIN_SNAPSHOT_GET_PARENT, P.SnapArgs(snap, flags))).snap

    async def snapshot_current(self, dom: DomainRef, flags: int = 0) -> SnapshotRef:
        return (await self._call(P.DOMAIN_SNAPSHOT_CURRENT, P.DomFlagsArgs(dom, flags))).snap

    async def snapshot_is_current(self, snap: SnapshotRef, flags: int = 0) -> bool:
        return bool((await self._call(P.DOMAIN_SNAPSHOT_IS_CURRENT, P.SnapArgs(snap, flags))).current)

    async def snapshot_has_metadata(self, snap: SnapshotRef, flags: int = 0) -> bool:
        return bool((await self._call(P.DOMAIN_SNAPSHOT_HAS_METADATA, P.SnapArgs(snap, flags))).metadata)

    async def revert_to_snapshot(self, snap: SnapshotRef, flags: int = 0) -> None:
        await self._call(P.DOMAIN_REVERT_TO_SNAPSHOT, P.SnapArgs(snap, flags))

    async def snapshot_delete(self, snap: SnapshotRef, flags: int = 0) -> None:
        await self._call(P.DOMAIN_SNAPSHOT_DELETE, P.SnapArgs(snap, flags))
