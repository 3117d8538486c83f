"""Server side of the domain snapshot procedures (registered into handlers.HANDLERS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.remote import protocol as P
from pyvirt.remote.handlers import serves

if TYPE_CHECKING:
    from pyvirt.remote.dispatch import RemoteSession

# The *_LIST_NAMES / LIST_ALL calls carry a client-side maximum; libvirt refuses a request
# above the protocol's limit and truncates nothing else.


def _clip(names: list[str], maxnames: int) -> list[str]:
    return names[: max(0, maxnames)] if maxnames >= 0 else names


@serves(P.DOMAIN_SNAPSHOT_CREATE_XML)
async def snapshot_create_xml(s: RemoteSession, a: P.SnapCreateXmlArgs) -> P.SnapRet:
    return P.SnapRet(await s.drv.snapshot_create_xml(a.dom, a.xml_desc, a.flags))


@serves(P.DOMAIN_SNAPSHOT_GET_XML_DESC)
async def snapshot_get_xml_desc(s: RemoteSession, a: P.SnapArgs) -> P.GetXmlDescRet:
    return P.GetXmlDescRet(await s.drv.snapshot_get_xml_desc(a.snap, a.flags))


@serves(P.DOMAIN_SNAPSHOT_LIST_NAMES)
async def snapshot_list_names(s: RemoteSession, a: P.SnapListNamesArgs) -> P.NamesRet:
    return P.NamesRet(_clip(await s.drv.snapshot_list_names(a.dom, a.flags), a.maxnames))


@serves(P.DOMAIN_SNAPSHOT_LOOKUP_BY_NAME)
async def snapshot_lookup_by_name(s: RemoteSession, a: P.SnapLookupArgs) -> P.SnapRet:
    return P.SnapRet(await s.drv.snapshot_lookup_by_name(a.dom, a.name, a.flags))


@serves(P.DOMAIN_HAS_CURRENT_SNAPSHOT)
async def has_current_snapshot(s: RemoteSession, a: P.DomFlagsArgs) -> P.HasCurrentSnapshotRet:
    return P.HasCurrentSnapshotRet(int(await s.drv.has_current_snapshot(a.dom, a.flags)))


@serves(P.DOMAIN_SNAPSHOT_CURRENT)
async def snapshot_current(s: RemoteSession, a: P.DomFlagsArgs) -> P.SnapRet:
    return P.SnapRet(await s.drv.snapshot_current(a.dom, a.flags))


@serves(P.DOMAIN_REVERT_TO_SNAPSHOT)
async def revert_to_snapshot(s: RemoteSession, a: P.SnapArgs) -> None:
    await s.drv.revert_to_snapshot(a.snap, a.flags)


@serves(P.DOMAIN_SNAPSHOT_DELETE)
async def snapshot_delete(s: RemoteSession, a: P.SnapArgs) -> None:
    await s.drv.snapshot_delete(a.snap, a.flags)


@serves(P.DOMAIN_SNAPSHOT_GET_PARENT)
async def snapshot_get_parent(s: RemoteSession, a: P.SnapArgs) -> P.SnapRet:
    return P.SnapRet(await s.drv.snapshot_get_parent(a.snap, a.flags))


@serves(P.DOMAIN_SNAPSHOT_NUM_CHILDREN)
async def snapshot_num_children(s: RemoteSession, a: P.SnapArgs) -> P.SnapshotNumRet:
    return P.SnapshotNumRet(await s.drv.snapshot_num_children(a.snap, a.flags))


@serves(P.DOMAIN_SNAPSHOT_LIST_CHILDREN_NAMES)
async def snapshot_list_children_names(s: RemoteSession, a: P.SnapChildrenNamesArgs) -> P.NamesRet:
    return P.NamesRet(_clip(await s.drv.snapshot_list_children_names(a.snap, a.flags), a.maxnames))


@serves(P.DOMAIN_SNAPSHOT_IS_CURRENT)
async def snapshot_is_current(s: RemoteSession, a: P.SnapArgs) -> P.SnapIsCurrentRet:
    return P.SnapIsCurrentRet(int(await s.drv.snapshot_is_current(a.snap, a.flags)))


@serves(P.DOMAIN_SNAPSHOT_HAS_METADATA)
async def snapshot_has_metadata(s: RemoteSession, a: P.SnapArgs) -> P.SnapHasMetadataRet:
    return P.SnapHasMetadataRet(int(await s.drv.snapshot_has_metadata(a.snap, a.flags)))


@serves(P.DOMAIN_LIST_ALL_SNAPSHOTS)
async def list_all_snapshots(s: RemoteSession, a: P.SnapListAllArgs) -> P.SnapListAllRet:
    snaps = await s.drv.list_all_snapshots(a.dom, a.flags)
    return P.SnapListAllRet(snaps if a.need_results else [], len(snaps))


@serves(P.DOMAIN_SNAPSHOT_LIST_ALL_CHILDREN)
async def snapshot_list_all_children(s: RemoteSession, a: P.SnapListAllChildrenArgs) -> P.SnapListAllRet:
    snaps = await s.drv.snapshot_list_all_children(a.snapshot, a.flags)
    return P.SnapListAllRet(snaps if a.need_results else [], len(snaps))
