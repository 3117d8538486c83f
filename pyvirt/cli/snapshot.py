"""Snapshot commands: snapshot-create, -create-as, -list, -info, -dumpxml, -current,
-parent, -edit, -revert, -delete — virsh 9.0's output and errors.

virsh prints the create message and bare names (snapshot-parent, snapshot-current --name)
without a newline (the command separator ends the line) and the revert/delete messages
with one (so a blank line follows); we do the same.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyvirt.cli.common import flag_bits, read_file
from pyvirt.cli.ctl import CmdFailed, Ctl
from pyvirt.cli.fmt import table
from pyvirt.cli.spec import BoundArgs
from pyvirt.conf.snapshot import (
    DomainSnapshotDef,
    SnapshotCreateFlags,
    SnapshotDeleteFlags,
    SnapshotListFlags,
    SnapshotRevertFlags,
)
from pyvirt.errors import VirtError

if TYPE_CHECKING:
    from pyvirt.drivers.base import DomainRef, SnapshotRef

C = SnapshotCreateFlags
L = SnapshotListFlags


def _read(path: str) -> str:
    return read_file(path, f"Failed to read file '{path}' to buffer")


# ---------------------------------------------------------------------- lookups
def _snap(ctl: Ctl, dom: DomainRef, a: BoundArgs, opt: str = "snapshotname") -> SnapshotRef:
    name = a.get(opt)
    try:
        if a.flag("current"):
            if name is not None:
                raise CmdFailed(f"--{opt} and --current are mutually exclusive")
            return ctl.call(ctl.conn.snapshot_current(dom))
        if name is None:
            raise CmdFailed("--snapshotname or --current is required")
        return ctl.call(ctl.conn.snapshot_lookup_by_name(dom, name))
    except VirtError as e:
        if a.flag("current") and e.code == 72:
            raise CmdFailed(f"domain '{dom.name}' has no current snapshot") from None
        raise CmdFailed(e.message) from None


def _parse(ctl: Ctl, snap: SnapshotRef) -> DomainSnapshotDef:
    xml = ctl.call(ctl.conn.snapshot_get_xml_desc(snap))
    return DomainSnapshotDef.parse(xml, redefine=True)[0]


def cmd_snapshot_dumpxml(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    with _plain(ctl):
        snap = ctl.call(ctl.conn.snapshot_lookup_by_name(dom, a.req("snapshotname")))
        ctl.print(ctl.call(ctl.conn.snapshot_get_xml_desc(snap, 1 if a.flag("security-info") else 0)))


class _plain:
    """A driver error as virsh prints it from a lookup: the message alone."""

    def __init__(self, ctl: Ctl) -> None:
        self.ctl = ctl

    def __enter__(self) -> None:
        return None

    def __exit__(self, et: object, e: object, tb: object) -> None:
        if isinstance(e, VirtError):
            raise CmdFailed(e.message) from None


def cmd_snapshot_current(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    setname = a.get("snapshotname")
    with _plain(ctl):
        if setname is not None:
            snap = ctl.call(ctl.conn.snapshot_lookup_by_name(dom, setname))
            xml = ctl.call(ctl.conn.snapshot_get_xml_desc(snap))
            ctl.call(ctl.conn.snapshot_create_xml(dom, xml, int(C.REDEFINE | C.CURRENT)))
            ctl.print_extra(f"Snapshot {setname} set as current")
            return
        if not ctl.call(ctl.conn.has_current_snapshot(dom)):
            raise CmdFailed(f"domain '{dom.name}' has no current snapshot")
        snap = ctl.call(ctl.conn.snapshot_current(dom))
        if a.flag("name"):
            ctl.print(snap.name)
        else:
            ctl.print(ctl.call(ctl.conn.snapshot_get_xml_desc(snap, 1 if a.flag("security-info") else 0)))


def cmd_snapshot_parent(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    snap = _snap(ctl, dom, a)
    d = _parse(ctl, snap)
    if d.parent is None:
        raise CmdFailed(f"snapshot '{snap.name}' has no parent")
    ctl.print(d.parent)  # virsh prints the bare name; the command separator ends the line


def cmd_snapshot_info(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    snap = _snap(ctl, dom, a)
    with _plain(ctl):
        d = _parse(ctl, snap)
        cur = ctl.call(ctl.conn.snapshot_is_current(snap))
        children = ctl.call(ctl.conn.snapshot_num_children(snap))
        desc = ctl.call(ctl.conn.snapshot_num_children(snap, int(L.DESCENDANTS)))
        meta = ctl.call(ctl.conn.snapshot_has_metadata(snap))
    rows = [("Name:", snap.name), ("Domain:", dom.name), ("Current:", "yes" if cur else "no"),
            ("State:", str(d.state or "")), ("Location:", "external" if d.is_external else "internal"),
            ("Parent:", d.parent or "-"), ("Children:", str(children)), ("Descendants:", str(desc)),
            ("Metadata:", "yes" if meta else "no")]
    ctl.print("".join(f"{k:<15} {v}\n" for k, v in rows))


# ---------------------------------------------------------------------- list
@dataclass
class _Row:
    name: str
    d: DomainSnapshotDef


def _list_flags(a: BoundArgs) -> int:
    return flag_bits(a, (("roots", L.ROOTS), ("leaves", L.LEAVES), ("no-leaves", L.NO_LEAVES),
                           ("metadata", L.METADATA), ("no-metadata", L.NO_METADATA), ("inactive", L.INACTIVE),
                           ("active", L.ACTIVE), ("disk-only", L.DISK_ONLY), ("internal", L.INTERNAL),
                           ("external", L.EXTERNAL), ("topological", L.TOPOLOGICAL)))


def cmd_snapshot_list(ctl: Ctl, a: BoundArgs) -> None:
    for x, y in (("tree", "name"), ("tree", "parent"), ("tree", "roots"), ("parent", "roots"),
                 ("current", "from"), ("tree", "leaves")):
        if a.flag(x) and (a.flag(y) or a.get(y) is not None):
            raise CmdFailed(f"Options --{x} and --{y} are mutually exclusive")
    dom = ctl.domain(a.req("domain"))
    flags = _list_flags(a)
    with _plain(ctl):
        start = a.get("from")
        if a.flag("current"):
            if not ctl.call(ctl.conn.has_current_snapshot(dom)):
                raise CmdFailed(f"domain '{dom.name}' has no current snapshot")
            start = ctl.call(ctl.conn.snapshot_current(dom)).name
        if start is not None:
            from pyvirt.drivers.base import SnapshotRef as Ref

            if a.flag("descendants") or a.flag("tree"):
                flags |= L.DESCENDANTS
            names = ctl.call(ctl.conn.snapshot_list_children_names(Ref(dom, start), flags & ~int(L.ROOTS)
                                                                   | (int(L.DESCENDANTS) if flags & L.DESCENDANTS else 0)))
            if a.flag("tree"):
                names = [start, *names]
        else:
            names = ctl.call(ctl.conn.snapshot_list_names(dom, flags))
        rows = []
        from pyvirt.drivers.base import SnapshotRef as Ref

        for n in names:
            rows.append(_Row(n, _parse(ctl, Ref(dom, n))))
    if a.flag("tree"):
        ctl.print(_tree(rows, start))
        return
    if not a.flag("topological"):
        rows.sort(key=lambda r: r.name)
    if a.flag("name"):
        ctl.print("".join(f"{r.name}\n" for r in rows))
        return
    header = ["Name", "Creation Time", "State"]
    if a.flag("parent"):
        header.append("Parent")
    body = []
    for r in rows:
        ts = time.strftime("%Y-%m-%d %H:%M:%S %z", time.localtime(r.d.creation_time or 0))
        cells = [r.name, ts, str(r.d.state or "")]
        if a.flag("parent"):
            cells.append(r.d.parent or "")
        body.append(cells)
    ctl.print(table(header, body))


def _tree(rows: list[_Row], start: str | None) -> str:
    """virsh's vshTreePrint layout: "+- " before a child, "|" continuing a parent's line of
    children, a "  |" line before the first child and an indent-only line after the last
    leaf of a list."""
    names = {r.name for r in rows}
    kids: dict[str | None, list[str]] = {}
    for r in sorted(rows, key=lambda r: r.name):
        parent = r.d.parent if r.d.parent in names and r.name != start else None
        kids.setdefault(parent, []).append(r.name)
    out: list[str] = []

    def node(name: str, indent: str, root: bool, last: bool) -> None:
        out.append(f"{indent}{'' if root else '+- '}{name}\n")
        if not root:
            indent += (" " if last else "|") + " "
        children = kids.get(name, [])
        if children:
            out.append(f"{indent}  |\n")
        for i, c in enumerate(children):
            node(c, indent + "  ", False, i == len(children) - 1)
        if not children and last:
            out.append(f"{indent}\n")

    for root in kids.get(None, []):
        node(root, "", True, True)
    return "".join(out)


# ---------------------------------------------------------------------- edit / revert / delete
def cmd_snapshot_edit(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    snap = _snap(ctl, dom, a)
    with _plain(ctl):
        xml = ctl.call(ctl.conn.snapshot_get_xml_desc(snap, 1))
        cur = ctl.call(ctl.conn.snapshot_is_current(snap))
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
    with tempfile.NamedTemporaryFile("w", suffix=".xml", prefix="virsh", delete=False) as f:
        f.write(xml)
        path = f.name
    try:
        if subprocess.run(f"{editor} {path}", shell=True, check=False).returncode != 0:
            raise CmdFailed(f"{editor}: command failed")
        new = _read(path)
    finally:
        os.unlink(path)
    if new == xml:
        ctl.print_extra(f"Snapshot {snap.name} XML configuration not changed.\n")
        return
    flags = int(C.REDEFINE | (C.CURRENT if cur or a.flag("current") else 0))
    with _plain(ctl):
        edited = ctl.call(ctl.conn.snapshot_create_xml(dom, new, flags))
    if edited.name != snap.name:
        if a.flag("rename"):
            ctl.call(ctl.conn.snapshot_delete(snap, int(SnapshotDeleteFlags.METADATA_ONLY)))
        elif not a.flag("clone"):
            raise CmdFailed(f"cannot rename snapshot {snap.name} to {edited.name} without --rename or --clone")
        else:
            ctl.print_extra(f"Snapshot {snap.name} cloned to {edited.name}.\n")
            return
    ctl.print_extra(f"Snapshot {edited.name} edited.\n")


def cmd_snapshot_revert(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    snap = _snap(ctl, dom, a)
    flags = flag_bits(a, (("running", SnapshotRevertFlags.RUNNING), ("paused", SnapshotRevertFlags.PAUSED),
                          ("force", SnapshotRevertFlags.FORCE), ("reset-nvram", SnapshotRevertFlags.RESET_NVRAM)))
    with ctl.failing(f"Failed to revert snapshot {snap.name}"):
        ctl.call(ctl.conn.revert_to_snapshot(snap, flags))
    ctl.print_extra(f"Domain snapshot {snap.name} reverted\n")


def cmd_snapshot_delete(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    snap = _snap(ctl, dom, a)
    D = SnapshotDeleteFlags
    flags = flag_bits(a, (("children", D.CHILDREN), ("children-only", D.CHILDREN_ONLY), ("metadata", D.METADATA_ONLY)))
    with ctl.failing(f"Failed to delete snapshot {snap.name}"):
        ctl.call(ctl.conn.snapshot_delete(snap, flags))
    if flags & D.CHILDREN_ONLY:
        ctl.print_extra(f"Domain snapshot {snap.name} children deleted\n")
    else:
        ctl.print_extra(f"Domain snapshot {snap.name} deleted\n")
