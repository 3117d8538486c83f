"""pyvirsh snapshot-create and snapshot-create-as: a light command (virsh 9.0's output).

Through a daemon socket (the URIs :func:`pyvirt.cli.ctl.open_light` takes) the snapshot is
created with one DOMAIN_SNAPSHOT_CREATE_XML on the blocking one-shot client
(:mod:`pyvirt.remote.syncclient`): no asyncio, async RPC client, snapshot XML model or
``pyvirt.errors`` loaded on the success path, as for blockcommit / blockpull
(``cli/blockjob_sync.py``). Every other connection runs the driver proper. The XML is built
from the options as virsh builds it (what ``--print-xml`` shows); the driver parses it.
"""

from __future__ import annotations

from pyvirt.cli.common import flag_bits, read_file
from pyvirt.cli.ctl import CmdFailed, virt_error
from pyvirt.conf._esc import esc

TYPE_CHECKING = False  # typing imports re: kept off the one-shot path
if TYPE_CHECKING:
    from pyvirt.cli.ctl import Ctl
    from pyvirt.cli.spec import BoundArgs
    from pyvirt.drivers.refs import DomainRef

# VIR_DOMAIN_SNAPSHOT_CREATE_* (pyvirt.conf.snapshot.SnapshotCreateFlags, spelled out: the
# enum module is not loaded here; a unit test keeps them equal)
REDEFINE = 1
CURRENT = 2
NO_METADATA = 4
HALT = 8
DISK_ONLY = 16
REUSE_EXT = 32
QUIESCE = 64
ATOMIC = 128
LIVE = 256
VALIDATE = 512


def _create(ctl: Ctl, dom: DomainRef, xml: str, flags: int, source: str | None) -> None:
    one_shot = ctl.one_shot_client()
    try:
        if one_shot is not None:
            from pyvirt.remote import proto_snapshot as P

            name = one_shot.call(P.DOMAIN_SNAPSHOT_CREATE_XML, P.SnapCreateXmlArgs(dom, xml, flags)).snap.name
        else:
            name = ctl.call(ctl.conn.snapshot_create_xml(dom, xml, flags)).name
    except virt_error() as e:
        raise CmdFailed(e.message) from None
    if source is not None:
        ctl.print_extra(f"Domain snapshot {name} created from '{source}'")
    else:
        ctl.print_extra(f"Domain snapshot {name} created")


def _create_flags(a: BoundArgs) -> int:
    return flag_bits(a, (("redefine", REDEFINE), ("current", CURRENT), ("no-metadata", NO_METADATA),
                           ("halt", HALT), ("disk-only", DISK_ONLY), ("reuse-external", REUSE_EXT),
                           ("quiesce", QUIESCE), ("atomic", ATOMIC), ("live", LIVE), ("validate", VALIDATE)))


def cmd_snapshot_create(ctl: Ctl, a: BoundArgs) -> None:
    dom = ctl.domain(a.req("domain"))
    path = a.get("xmlfile")
    # virsh 9.0 reports libvirt's virFileReadAll error here ("Failed to open file")
    xml = read_file(path) if path is not None else "<domainsnapshot/>"
    _create(ctl, dom, xml, _create_flags(a), path)


def cmd_snapshot_create_as(ctl: Ctl, a: BoundArgs) -> None:
    flags = _create_flags(a)
    if a.flag("print-xml") and flags & ~VALIDATE:
        raise CmdFailed("--print-xml is incompatible with --redefine, --current, --no-metadata, --halt, "
                        "--disk-only, --reuse-external, --quiesce, --atomic, --live")
    diskspecs = list(a.argv)
    if a.get("diskspec") is not None:
        diskspecs.insert(0, a.req("diskspec"))
    xml = build_create_as_xml(a.get("name"), a.get("description"), a.get("memspec"), diskspecs)
    dom = ctl.domain(a.req("domain"))
    if a.flag("print-xml"):
        ctl.print(xml + "\n")
        return
    _create(ctl, dom, xml, flags, None)


def _memspec(spec: str) -> str:
    """virsh's --memspec: [file=]name[,snapshot=type]; ",," escapes a comma."""
    file = snapshot = None
    for part in _split_spec(spec):
        if part.startswith("snapshot="):
            snapshot = part[9:]
        elif part.startswith("file="):
            file = part[5:]
        elif file is None:
            file = part
        else:
            raise CmdFailed(f"unable to parse memspec: {spec}")
    out = "<memory"
    if snapshot is not None:
        out += f" snapshot='{esc(snapshot)}'"
    if file is not None:
        out += f" file='{esc(file)}'"
    return out + "/>\n"


def _diskspec(spec: str) -> str:
    """virsh's --diskspec: disk[,snapshot=type][,driver=type][,stype=type][,file=name]."""
    parts = _split_spec(spec)
    name, rest = parts[0], parts[1:]
    vals: dict[str, str] = {}
    for p in rest:
        key, eq, val = p.partition("=")
        if not eq or key not in ("snapshot", "driver", "stype", "file") or key in vals:
            raise CmdFailed(f"unable to parse diskspec: {spec}")
        vals[key] = val
    out = f"  <disk name='{esc(name)}'"
    if "snapshot" in vals:
        out += f" snapshot='{esc(vals['snapshot'])}'"
    if "stype" in vals:
        out += f" type='{esc(vals['stype'])}'"
    if "driver" not in vals and "file" not in vals:
        return out + "/>\n"
    out += ">\n"
    if "driver" in vals:
        out += f"    <driver type='{esc(vals['driver'])}'/>\n"
    if "file" in vals:
        attr = "dev" if vals.get("stype") == "block" else "file"
        out += f"    <source {attr}='{esc(vals['file'])}'/>\n"
    return out + "  </disk>\n"


def _split_spec(spec: str) -> list[str]:
    parts, cur, i = [], "", 0
    while i < len(spec):
        if spec[i] == ",":
            if spec.startswith(",,", i):
                cur += ","
                i += 2
                continue
            parts.append(cur)
            cur = ""
        else:
            cur += spec[i]
        i += 1
    parts.append(cur)
    return parts


def build_create_as_xml(name: str | None, desc: str | None, memspec: str | None, diskspecs: list[str]) -> str:
    """The XML virsh's snapshot-create-as builds from its options (what --print-xml shows)."""
    out = "<domainsnapshot>\n"
    if name is not None:
        out += f"  <name>{esc(name)}</name>\n"
    if desc is not None:
        out += f"  <description>{esc(desc)}</description>\n"
    if memspec is not None:
        out += "  " + _memspec(memspec)
    if diskspecs:
        out += "  <disks>\n"
        out += "".join("  " + _diskspec(s).replace("\n  ", "\n    ").rstrip(" ") for s in diskspecs)
        out += "  </disks>\n"
    return out + "</domainsnapshot>\n"
