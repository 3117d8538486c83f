"""Domain listing and information: list, dominfo, domstate, domid/name/uuid, dumpxml,
domblklist, domiflist."""

from __future__ import annotations

TYPE_CHECKING = False  # not typing: it imports re, off pyvirsh's start-up path

from pyvirt.cli.ctl import CmdFailed, Ctl, virt_error
from pyvirt.cli.fmt import kv, reason_name, state_name, table
from pyvirt.cli.spec import BoundArgs

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET

    from pyvirt.drivers.base import DomainRef  # annotations only: the list path stays light


class ListDomainsFlags:
    """virConnectListAllDomainsFlags (pyvirt.enums.ListDomainsFlags) as plain ints: building
    the enum module's IntEnums is ~3 ms of every pyvirsh start; tests/unit/perf checks they
    agree."""

    ACTIVE, INACTIVE, PERSISTENT, TRANSIENT = 1, 2, 4, 8
    RUNNING, PAUSED, SHUTOFF, OTHER = 16, 32, 64, 128
    MANAGEDSAVE, NO_MANAGEDSAVE, AUTOSTART, NO_AUTOSTART = 256, 512, 1024, 2048
    HAS_SNAPSHOT, NO_SNAPSHOT, HAS_CHECKPOINT, NO_CHECKPOINT = 4096, 8192, 16384, 32768


def _uuid_str(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_LIST_FLAGS = (
    ("persistent", ListDomainsFlags.PERSISTENT), ("transient", ListDomainsFlags.TRANSIENT),
    ("with-managed-save", ListDomainsFlags.MANAGEDSAVE),
    ("without-managed-save", ListDomainsFlags.NO_MANAGEDSAVE),
    ("autostart", ListDomainsFlags.AUTOSTART), ("no-autostart", ListDomainsFlags.NO_AUTOSTART),
    ("with-snapshot", ListDomainsFlags.HAS_SNAPSHOT),
    ("without-snapshot", ListDomainsFlags.NO_SNAPSHOT),
    ("with-checkpoint", ListDomainsFlags.HAS_CHECKPOINT),
    ("without-checkpoint", ListDomainsFlags.NO_CHECKPOINT),
    ("state-running", ListDomainsFlags.RUNNING), ("state-paused", ListDomainsFlags.PAUSED),
    ("state-shutoff", ListDomainsFlags.SHUTOFF), ("state-other", ListDomainsFlags.OTHER),
)


def cmd_list(ctl: Ctl, a: BoundArgs) -> None:
    flags = 0
    if a.flag("all"):
        flags |= ListDomainsFlags.ACTIVE | ListDomainsFlags.INACTIVE
    elif a.flag("inactive"):
        flags |= ListDomainsFlags.INACTIVE
    else:
        flags |= ListDomainsFlags.ACTIVE
    for opt, bit in _LIST_FLAGS:
        if a.flag(opt):
            flags |= bit
    # State filters imply both active and inactive domains (virsh does the same).
    if flags & (ListDomainsFlags.RUNNING | ListDomainsFlags.PAUSED | ListDomainsFlags.SHUTOFF
                | ListDomainsFlags.OTHER):
        flags |= ListDomainsFlags.ACTIVE | ListDomainsFlags.INACTIVE
    drv = ctl.conn
    with ctl.failing("Failed to list domains"):
        doms = ctl.call(drv.list_all_domains(flags))
    # virsh sorts running domains by id first, then inactive ones by name, ignoring case
    # (strcasecmp).
    doms.sort(key=lambda d: (d.id < 0, max(d.id, 0), d.name.lower()))
    want_name, want_uuid, want_id = a.flag("name"), a.flag("uuid"), a.flag("id")
    if want_name or want_uuid or want_id:
        if a.flag("table"):
            raise CmdFailed("Options --table and --name/--uuid/--id are mutually exclusive")
        for d in doms:
            if want_id and d.id < 0:
                continue
            parts = []
            if want_id:
                parts.append(str(d.id))
            if want_uuid:
                parts.append(_uuid_str(d.uuid))
            if want_name:
                parts.append(d.name)
            ctl.print(" ".join(parts) + "\n")
        return
    rows = []
    for d in doms:
        try:
            st, _ = ctl.call(drv.get_state(d))
            state = state_name(st)
        except virt_error():
            state = "no state"
        rows.append([str(d.id) if d.id >= 0 else "-", d.name, state])
    ctl.print(table(["Id", "Name", "State"], rows, ctl.quiet))


def cmd_dominfo(ctl: Ctl, a: BoundArgs) -> None:
    drv = ctl.conn
    d = ctl.domain(a.req("domain"))
    out: list[str] = []
    out.append(kv("Id:", d.id if d.id >= 0 else "-", 15))
    out.append(kv("Name:", d.name, 15))
    out.append(kv("UUID:", _uuid_str(d.uuid), 15))
    os_type = _os_type(ctl, d)
    if os_type is not None:
        out.append(kv("OS Type:", os_type, 15))
    try:
        info = ctl.call(drv.get_info(d))
        out.append(kv("State:", state_name(info.state), 15))
        out.append(kv("CPU(s):", info.nr_virt_cpu, 15))
        if info.cpu_time:
            out.append(kv("CPU time:", f"{info.cpu_time / 1e9:.1f}s", 15))
        maxmem = "no limit" if info.max_mem == 2**64 - 1 or info.max_mem < 0 \
            else f"{info.max_mem} KiB"
        out.append(kv("Max memory:", maxmem, 15))
        out.append(kv("Used memory:", f"{info.memory} KiB", 15))
    except virt_error():
        out.append(kv("State:", "no state", 15))
    for label, coro in (("Persistent:", drv.is_persistent(d)),):
        try:
            out.append(kv(label, "yes" if ctl.call(coro) else "no", 15))
        except virt_error():
            out.append(kv(label, "unknown", 15))
    try:
        auto = ctl.call(drv.get_autostart(d))
        out.append(kv("Autostart:", "enable" if auto else "disable", 15))
    except virt_error():
        pass
    try:
        ms = ctl.call(drv.has_managed_save_image(d))
        out.append(kv("Managed save:", "yes" if ms else "no", 15))
    except virt_error():
        out.append(kv("Managed save:", "unknown", 15))
    out.extend(_security_lines(ctl, d))
    try:
        msgs = ctl.call(drv.get_messages(d, 0))
    except virt_error():
        msgs = []
    for i, m in enumerate(msgs):
        out.append(kv("Messages:" if i == 0 else "", m, 15))
    ctl.print("".join(out))


def _os_type(ctl: Ctl, d: DomainRef) -> str | None:
    import xml.etree.ElementTree as ET

    try:
        return ctl.call(ctl.conn.get_os_type(d))
    except virt_error() as e:
        from pyvirt.errors import ErrorCode

        if e.code != ErrorCode.NO_SUPPORT:
            return None
    # A driver without virDomainGetOSType: the <os><type> of the definition says the same.
    try:
        root = ET.fromstring(ctl.call(ctl.conn.get_xml_desc(d, 0)))
    except virt_error():
        return None
    return (root.findtext("os/type") or "").strip() or None


def _security_lines(ctl: Ctl, d: DomainRef) -> list[str]:
    try:
        model, doi = ctl.call(ctl.conn.node_get_security_model())
    except virt_error():
        return []
    if not model:
        return []
    lines = [kv("Security model:", model, 15), kv("Security DOI:", doi, 15)]
    try:
        label, enforcing = ctl.call(ctl.conn.get_security_label(d))
    except virt_error():
        return lines
    if label:
        mode = "enforcing" if enforcing else "permissive"
        lines.append(kv("Security label:", f"{label} ({mode})", 15))
    return lines


def cmd_domstate(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"))
    with ctl.failing("Unable to get domain state"):
        st, reason = ctl.call(ctl.conn.get_state(d))
    if a.flag("reason"):
        ctl.print(f"{state_name(st)} ({reason_name(st, reason)})\n")
    else:
        ctl.print(f"{state_name(st)}\n")


def cmd_domid(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"), by_id=False)
    ctl.print(f"{d.id if d.id >= 0 else '-'}\n")


def cmd_domname(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"), by_name=False)
    ctl.print(f"{d.name}\n")


def cmd_domuuid(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"), by_uuid=False)
    ctl.print(f"{_uuid_str(d.uuid)}\n")


def cmd_dumpxml(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.enums import XMLFlags  # here: the enums stay off the light commands' path

    d = ctl.domain(a.req("domain"))
    flags = 0
    for opt, bit in (("inactive", XMLFlags.INACTIVE), ("security-info", XMLFlags.SECURE),
                     ("update-cpu", XMLFlags.UPDATE_CPU), ("migratable", XMLFlags.MIGRATABLE)):
        if a.flag(opt):
            flags |= bit
    with ctl.failing("Failed to get domain XML"):
        xml = ctl.call(ctl.conn.get_xml_desc(d, flags))
    ctl.print(xml)


def _domain_xml(ctl: Ctl, d: DomainRef, inactive: bool) -> ET.Element:
    import xml.etree.ElementTree as ET

    from pyvirt.enums import XMLFlags

    with ctl.failing("Failed to get domain XML"):
        xml = ctl.call(ctl.conn.get_xml_desc(d, XMLFlags.INACTIVE if inactive else 0))
    return ET.fromstring(xml)


_SOURCE_ATTRS = ("file", "dev", "dir", "name", "volume")


def _disk_source(disk: ET.Element) -> str:
    """What virsh shows as a disk's source: the first of file/dev/dir/name/volume present
    on <source>, in the order the attributes appear (an XPath union's string value)."""
    src = disk.find("source")
    if src is None:
        return "-"
    for attr, value in src.attrib.items():
        if attr in _SOURCE_ATTRS:
            return value
    return "-"


def cmd_domblklist(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"))
    root = _domain_xml(ctl, d, a.flag("inactive"))
    rows = []
    details = a.flag("details")
    for disk in root.findall("devices/disk"):
        target = disk.find("target")
        tgt = target.get("dev", "") if target is not None else ""
        src = _disk_source(disk)
        if details:
            rows.append([disk.get("type", ""), disk.get("device", "disk"), tgt, src])
        else:
            rows.append([tgt, src])
    header = ["Type", "Device", "Target", "Source"] if details else ["Target", "Source"]
    ctl.print(table(header, rows, ctl.quiet))


def cmd_domiflist(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"))
    root = _domain_xml(ctl, d, a.flag("inactive"))
    rows = []
    for iface in root.findall("devices/interface"):
        target = iface.find("target")
        src_el = iface.find("source")
        model = iface.find("model")
        mac = iface.find("mac")
        src = "-"
        if src_el is not None:
            src = (src_el.get("bridge") or src_el.get("dev") or src_el.get("network")
                   or src_el.get("path") or "-")
        rows.append([
            target.get("dev", "-") if target is not None else "-",
            iface.get("type", ""), src,
            model.get("type", "-") if model is not None else "-",
            mac.get("address", "") if mac is not None else "",
        ])
    ctl.print(table(["Interface", "Type", "Source", "Model", "MAC"], rows, ctl.quiet))
