"""pyvirsh pool-* and vol-* command implementations, with virsh's output and messages
(declared in :mod:`pyvirt.cli.storage`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.cli.common import flag_bits
from pyvirt.cli.common import read_file as _read_file

if TYPE_CHECKING:
    from pyvirt.cli.ctl import Ctl
    from pyvirt.cli.spec import BoundArgs
    from pyvirt.drivers.base import StoragePoolRef, StorageVolRef

_VOL_TYPES = ("file", "block", "dir", "network", "netdir", "ploop")
_POOL_STATES = ("inactive", "building", "running", "degraded", "inaccessible")
_POOL_TYPE_FLAGS = {"dir": 64, "fs": 128, "netfs": 256, "logical": 512, "disk": 1024,
                    "iscsi": 2048, "scsi": 4096, "mpath": 8192, "rbd": 16384, "sheepdog": 32768,
                    "gluster": 65536, "zfs": 131072, "vstorage": 262144, "iscsi-direct": 524288}
_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def pretty(n: int) -> str:
    """virsh's vshPrettyCapacity: two decimals in the largest unit below 1024."""
    val = float(n)
    unit = 0
    while val >= 1024 and unit < len(_UNITS) - 1:
        val /= 1024
        unit += 1
    return f"{val:.2f} {_UNITS[unit]}"


def _scaled(text: str, what: str) -> int:
    """A size argument with an optional suffix (virsh scales with 1024 unless 'KB'-style)."""
    from pyvirt.cli.ctl import CmdFailed

    i = len(text)
    while i and not text[i - 1].isdigit():
        i -= 1
    num, suffix = text[:i], text[i:]
    mult = {"": 1, "b": 1, "bytes": 1, "k": 1024, "kib": 1024, "kb": 1000, "m": 1024**2,
            "mib": 1024**2, "mb": 1000**2, "g": 1024**3, "gib": 1024**3, "gb": 1000**3,
            "t": 1024**4, "tib": 1024**4, "tb": 1000**4, "p": 1024**5, "pib": 1024**5,
            "pb": 1000**5, "e": 1024**6, "eib": 1024**6, "eb": 1000**6}.get(suffix.lower())
    if not num.isdigit() or mult is None:
        raise CmdFailed(f"Malformed size {text}")
    return int(num) * mult


# ---------------------------------------------------------------------------------- lookups


def pool_ref(ctl: Ctl, text: str) -> StoragePoolRef:
    from pyvirt.cli.ctl import CmdFailed, looks_like_uuid
    from pyvirt.errors import VirtError

    drv = ctl.conn
    last: VirtError | None = None
    if looks_like_uuid(text):
        try:
            return ctl.call(drv.storage_pool_lookup_by_uuid(bytes.fromhex(text.replace("-", ""))))
        except VirtError as e:
            last = e
    try:
        return ctl.call(drv.storage_pool_lookup_by_name(text))
    except VirtError as e:
        last = e
    raise CmdFailed(f"failed to get pool '{text}'", last.message)


def vol_ref(ctl: Ctl, a: BoundArgs, opt: str = "vol", pool_opt: str = "pool",
            hint: str = "") -> StorageVolRef:
    """virsh's volume argument: a name in --pool, else a key, else a path; the last error wins."""
    from pyvirt.cli.ctl import CmdFailed
    from pyvirt.errors import VirtError

    text = a.req(opt)
    drv = ctl.conn
    pool_s = a.get(pool_opt)
    last: VirtError | None = None
    if pool_s is not None:
        pool = pool_ref(ctl, pool_s)
        try:
            return ctl.call(drv.storage_vol_lookup_by_name(pool, text))
        except VirtError as e:
            last = e
    for fn in (drv.storage_vol_lookup_by_key, drv.storage_vol_lookup_by_path):
        try:
            return ctl.call(fn(text))
        except VirtError as e:
            last = e
    assert last is not None
    raise CmdFailed(f"failed to get vol '{text}'{hint}", last.message)


def _uuid(ref: StoragePoolRef) -> str:
    import uuid

    return str(uuid.UUID(bytes=ref.uuid))


# ---------------------------------------------------------------------------------- pools


def cmd_pool_list(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.ctl import CmdFailed
    from pyvirt.cli.fmt import table

    for other in ("uuid", "name"):
        if a.flag("details") and a.flag(other):
            raise CmdFailed(f"Options --details and --{other} are mutually exclusive")
    flags = 0
    if a.flag("all"):
        flags |= 0
    elif a.flag("inactive"):
        flags |= 1
    else:
        flags |= 2
    if a.flag("all") and a.flag("inactive"):
        flags = 0
    flags |= flag_bits(a, (("persistent", 4), ("transient", 8), ("autostart", 16), ("no-autostart", 32)))
    types = a.get("type")
    if types:
        for t in types.split(","):
            if t not in _POOL_TYPE_FLAGS:
                raise CmdFailed(f"Invalid pool type '{t}'")
            flags |= _POOL_TYPE_FLAGS[t]
    drv = ctl.conn
    with ctl.failing("Failed to list pools"):
        refs = sorted(ctl.call(drv.list_all_storage_pools(flags)), key=lambda p: p.name.lower())  # virsh: strcasecmp
    if a.flag("uuid") or a.flag("name"):
        # virsh pads the name column to 20 even when it is the last one
        for r in refs:
            uuid = _uuid(r) if a.flag("uuid") else None
            name = f"{r.name:<20}" if a.flag("name") else None
            ctl.print(" ".join(x for x in (uuid, name) if x is not None) + "\n")
        return
    rows = []
    for r in refs:
        info = ctl.call(drv.storage_pool_get_info(r))
        auto = "yes" if ctl.call(drv.storage_pool_get_autostart(r)) else "no"
        if a.flag("details"):
            pers = "yes" if ctl.call(drv.storage_pool_is_persistent(r)) else "no"
            state = _POOL_STATES[info.state] if 0 <= info.state < len(_POOL_STATES) else "unknown"
            sizes = ([pretty(info.capacity), pretty(info.allocation), pretty(info.available)]
                     if info.state == 2 else ["-", "-", "-"])
            rows.append([r.name, state, auto, pers, *sizes])
        else:
            rows.append([r.name, "active" if info.state == 2 else "inactive", auto])
    if a.flag("details"):
        ctl.print(table(["Name", "State", "Autostart", "Persistent", "Capacity", "Allocation",
                         "Available"], rows))
    else:
        ctl.print(table(["Name", "State", "Autostart"], rows))


def cmd_pool_info(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.fmt import kv

    r = pool_ref(ctl, a.req("pool"))
    drv = ctl.conn
    info = ctl.call(drv.storage_pool_get_info(r))
    out = kv("Name:", r.name, 15) + kv("UUID:", _uuid(r), 15)
    out += kv("State:", _POOL_STATES[info.state] if 0 <= info.state < 5 else "unknown", 15)
    out += kv("Persistent:", "yes" if ctl.call(drv.storage_pool_is_persistent(r)) else "no", 15)
    out += kv("Autostart:", "yes" if ctl.call(drv.storage_pool_get_autostart(r)) else "no", 15)
    if info.state in (2, 3):
        def size(n: int) -> str:
            return f"{n} bytes" if a.flag("bytes") else pretty(n)
        out += (kv("Capacity:", size(info.capacity), 15) + kv("Allocation:", size(info.allocation), 15)
                + kv("Available:", size(info.available), 15))
    ctl.print(out)


def cmd_pool_dumpxml(ctl: Ctl, a: BoundArgs) -> None:
    r = pool_ref(ctl, a.req("pool"))
    with ctl.failing(f"failed to get XML of pool {r.name}"):
        ctl.print(ctl.call(ctl.conn.storage_pool_get_xml_desc(r, 1 if a.flag("inactive") else 0)))


def cmd_pool_define(ctl: Ctl, a: BoundArgs) -> None:
    path = a.req("file")
    xml = _read_file(path)
    with ctl.failing(f"Failed to define pool from {path}"):
        r = ctl.call(ctl.conn.storage_pool_define_xml(xml, 0))
    ctl.print(f"Pool {r.name} defined from {path}\n")


def cmd_pool_create(ctl: Ctl, a: BoundArgs) -> None:
    path = a.req("file")
    xml = _read_file(path)
    with ctl.failing(f"Failed to create pool from {path}"):
        r = ctl.call(ctl.conn.storage_pool_create_xml(xml, _create_flags(a)))
    ctl.print(f"Pool {r.name} created from {path}\n")


def pool_as_xml(a: BoundArgs) -> str:
    from pyvirt.conf._xml import esc

    lines = [f"<pool type='{esc(a.req('type'))}'>", f"  <name>{esc(a.req('name'))}</name>"]
    src = []
    if a.get("source-host"):
        src.append(f"    <host name='{esc(a.get('source-host'))}'/>")
    if a.get("source-path"):
        src.append(f"    <dir path='{esc(a.get('source-path'))}'/>")
    if a.get("source-dev"):
        src.append(f"    <device path='{esc(a.get('source-dev'))}'/>")
    if a.get("source-format"):
        src.append(f"    <format type='{esc(a.get('source-format'))}'/>")
    if a.get("source-name"):
        src.append(f"    <name>{esc(a.get('source-name'))}</name>")
    if src:
        lines += ["  <source>", *src, "  </source>"]
    if a.get("target"):
        lines += ["  <target>", f"    <path>{esc(a.get('target'))}</path>", "  </target>"]
    lines.append("</pool>")
    return "\n".join(lines) + "\n"


def cmd_pool_define_as(ctl: Ctl, a: BoundArgs) -> None:
    xml = pool_as_xml(a)
    if a.flag("print-xml"):
        ctl.print(xml)
        return
    with ctl.failing(f"Failed to define pool {a.req('name')}"):
        r = ctl.call(ctl.conn.storage_pool_define_xml(xml, 0))
    ctl.print(f"Pool {r.name} defined\n")


def cmd_pool_create_as(ctl: Ctl, a: BoundArgs) -> None:
    xml = pool_as_xml(a)
    if a.flag("print-xml"):
        ctl.print(xml)
        return
    with ctl.failing(f"Failed to create pool {a.req('name')}"):
        r = ctl.call(ctl.conn.storage_pool_create_xml(xml, _create_flags(a)))
    ctl.print(f"Pool {r.name} created\n")


def _pool_action(ctl: Ctl, a: BoundArgs, method: str, fail: str, done: str) -> None:
    r = pool_ref(ctl, a.req("pool"))
    with ctl.failing(f"{fail} {r.name}"):
        ctl.call(getattr(ctl.conn, method)(r))
    ctl.print(f"Pool {r.name} {done}\n")


def cmd_pool_build(ctl: Ctl, a: BoundArgs) -> None:
    r = pool_ref(ctl, a.req("pool"))
    flags = (8 if a.flag("overwrite") else 0) | (4 if a.flag("no-overwrite") else 0)
    with ctl.failing(f"Failed to build pool {r.name}"):
        ctl.call(ctl.conn.storage_pool_build(r, flags))
    ctl.print(f"Pool {r.name} built\n")


def _create_flags(a: BoundArgs) -> int:
    """--build/--overwrite/--no-overwrite as VIR_STORAGE_POOL_CREATE_WITH_BUILD* bits."""
    return ((1 if a.flag("build") else 0) | (2 if a.flag("overwrite") else 0)
            | (4 if a.flag("no-overwrite") else 0))


def cmd_pool_start(ctl: Ctl, a: BoundArgs) -> None:
    r = pool_ref(ctl, a.req("pool"))
    with ctl.failing(f"Failed to start pool {r.name}"):
        ctl.call(ctl.conn.storage_pool_create(r, _create_flags(a)))
    ctl.print(f"Pool {r.name} started\n")


def cmd_pool_destroy(ctl: Ctl, a: BoundArgs) -> None:
    _pool_action(ctl, a, "storage_pool_destroy", "Failed to destroy pool", "destroyed")


def cmd_pool_delete(ctl: Ctl, a: BoundArgs) -> None:
    _pool_action(ctl, a, "storage_pool_delete", "Failed to delete pool", "deleted")


def cmd_pool_undefine(ctl: Ctl, a: BoundArgs) -> None:
    _pool_action(ctl, a, "storage_pool_undefine", "Failed to undefine pool", "has been undefined")


def cmd_pool_refresh(ctl: Ctl, a: BoundArgs) -> None:
    _pool_action(ctl, a, "storage_pool_refresh", "Failed to refresh pool", "refreshed")


def cmd_pool_autostart(ctl: Ctl, a: BoundArgs) -> None:
    r = pool_ref(ctl, a.req("pool"))
    on = not a.flag("disable")
    with ctl.failing(f"failed to {'mark' if on else 'unmark'} pool {r.name} as autostarted"):
        ctl.call(ctl.conn.storage_pool_set_autostart(r, on))
    ctl.print(f"Pool {r.name} {'marked' if on else 'unmarked'} as autostarted\n")


def cmd_pool_name(ctl: Ctl, a: BoundArgs) -> None:
    ctl.print(f"{pool_ref(ctl, a.req('pool')).name}\n")


def cmd_pool_uuid(ctl: Ctl, a: BoundArgs) -> None:
    ctl.print(f"{_uuid(pool_ref(ctl, a.req('pool')))}\n")


# ---------------------------------------------------------------------------------- volumes


def cmd_vol_list(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.fmt import table

    r = pool_ref(ctl, a.req("pool"))
    drv = ctl.conn
    with ctl.failing("Failed to list volumes"):
        vols = sorted(ctl.call(drv.storage_pool_list_all_volumes(r)), key=lambda v: v.name.lower())  # virsh: strcasecmp
    rows = []
    for v in vols:
        path = ctl.call(drv.storage_vol_get_path(v))
        if a.flag("details"):
            info = ctl.call(drv.storage_vol_get_info(v))
            vtype = _VOL_TYPES[info.type] if 0 <= info.type < len(_VOL_TYPES) else "unknown"
            rows.append([v.name, path, vtype, pretty(info.capacity), pretty(info.allocation)])
        else:
            rows.append([v.name, path])
    hdr = ["Name", "Path", "Type", "Capacity", "Allocation"] if a.flag("details") else ["Name", "Path"]
    ctl.print(table(hdr, rows))


def cmd_vol_info(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.fmt import kv

    v = vol_ref(ctl, a)
    with ctl.failing("failed to get vol info"):
        info = ctl.call(ctl.conn.storage_vol_get_info(v))

    def size(n: int) -> str:
        return f"{n} bytes" if a.flag("bytes") else pretty(n)
    vtype = _VOL_TYPES[info.type] if 0 <= info.type < len(_VOL_TYPES) else "unknown"
    ctl.print(kv("Name:", v.name, 15) + kv("Type:", vtype, 15) + kv("Capacity:", size(info.capacity), 15)
              + kv("Allocation:", size(info.allocation), 15))


def cmd_vol_dumpxml(ctl: Ctl, a: BoundArgs) -> None:
    v = vol_ref(ctl, a)
    with ctl.failing("failed to get vol XML"):
        ctl.print(ctl.call(ctl.conn.storage_vol_get_xml_desc(v)))


def cmd_vol_path(ctl: Ctl, a: BoundArgs) -> None:
    v = vol_ref(ctl, a)
    with ctl.failing(f"failed to get vol '{a.req('vol')}'"):
        ctl.print(ctl.call(ctl.conn.storage_vol_get_path(v)) + "\n")


def cmd_vol_key(ctl: Ctl, a: BoundArgs) -> None:
    ctl.print(f"{vol_ref(ctl, a).key}\n")


def cmd_vol_name(ctl: Ctl, a: BoundArgs) -> None:
    ctl.print(f"{vol_ref(ctl, a).name}\n")


def cmd_vol_pool(ctl: Ctl, a: BoundArgs) -> None:
    v = vol_ref(ctl, a)
    with ctl.failing("failed to get parent pool"):
        p = ctl.call(ctl.conn.storage_pool_lookup_by_volume(v))
    ctl.print(f"{_uuid(p) if a.flag('uuid') else p.name}\n")


def _prealloc(a: BoundArgs) -> int:
    return 1 if a.flag("prealloc-metadata") else 0


def cmd_vol_create(ctl: Ctl, a: BoundArgs) -> None:
    r = pool_ref(ctl, a.req("pool"))
    path = a.req("file")
    xml = _read_file(path)
    with ctl.failing(f"Failed to create vol from {path}"):
        v = ctl.call(ctl.conn.storage_vol_create_xml(r, xml, _prealloc(a)))
    ctl.print(f"Vol {v.name} created from {path}\n")


def cmd_vol_create_as(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.ctl import CmdFailed
    from pyvirt.conf._xml import esc
    from pyvirt.errors import VirtError

    r = pool_ref(ctl, a.req("pool"))
    name = a.req("name")
    cap = _scaled(a.req("capacity"), "capacity")
    lines = ["<volume>", f"  <name>{esc(name)}</name>", f"  <capacity>{cap}</capacity>"]
    if a.get("allocation") is not None:
        lines.append(f"  <allocation>{_scaled(a.req('allocation'), 'allocation')}</allocation>")
    if a.get("format"):
        lines += ["  <target>", f"    <format type='{esc(a.get('format'))}'/>", "  </target>"]
    backing = a.get("backing-vol")
    if backing is not None:
        drv = ctl.conn
        bref = None
        last = ""
        for fn, arg in ((drv.storage_vol_lookup_by_name, (r, backing)),
                        (drv.storage_vol_lookup_by_key, (backing,)),
                        (drv.storage_vol_lookup_by_path, (backing,))):
            try:
                bref = ctl.call(fn(*arg))
                break
            except VirtError as e:
                last = e.message
        if bref is None:
            raise CmdFailed(f"failed to get vol '{backing}'", last)
        bpath = ctl.call(drv.storage_vol_get_path(bref))
        lines += ["  <backingStore>", f"    <path>{esc(bpath)}</path>"]
        if a.get("backing-vol-format"):
            lines.append(f"    <format type='{esc(a.get('backing-vol-format'))}'/>")
        lines.append("  </backingStore>")
    lines.append("</volume>")
    xml = "\n".join(lines) + "\n"
    if a.flag("print-xml"):
        ctl.print(xml)
        return
    with ctl.failing(f"Failed to create vol {name}"):
        v = ctl.call(ctl.conn.storage_vol_create_xml(r, xml, _prealloc(a)))
    ctl.print(f"Vol {v.name} created\n")


def cmd_vol_create_from(ctl: Ctl, a: BoundArgs) -> None:
    r = pool_ref(ctl, a.req("pool"))
    path = a.req("file")
    xml = _read_file(path)
    hint = "" if a.get("inputpool") else ", specifying --inputpool might help"
    src = vol_ref(ctl, a, pool_opt="inputpool", hint=hint)
    with ctl.failing(f"Failed to create vol from {path}"):
        v = ctl.call(ctl.conn.storage_vol_create_xml_from(r, xml, src, _prealloc(a)))
    ctl.print(f"Vol {v.name} created from input vol {src.name}\n")


def cmd_vol_clone(ctl: Ctl, a: BoundArgs) -> None:
    import re

    from pyvirt.conf._xml import esc

    src = vol_ref(ctl, a)
    drv = ctl.conn
    pool = ctl.call(drv.storage_pool_lookup_by_volume(src))
    xml = ctl.call(drv.storage_vol_get_xml_desc(src))
    new = a.req("newname")
    # the source's definition with the new name; key and path are the driver's to choose
    xml = re.sub(r"<name>.*?</name>", f"<name>{esc(new)}</name>", xml, count=1)
    xml = re.sub(r"\s*<key>.*?</key>", "", xml, count=1)
    xml = re.sub(r"(<target>\s*)<path>.*?</path>\s*", r"\1", xml, count=1)
    with ctl.failing(f"Failed to clone vol from {src.name}"):
        ctl.call(drv.storage_vol_create_xml_from(pool, xml, src, _prealloc(a)))
    ctl.print(f"Vol {new} cloned from {src.name}\n")


def cmd_vol_delete(ctl: Ctl, a: BoundArgs) -> None:
    v = vol_ref(ctl, a)
    with ctl.failing(f"Failed to delete vol {a.req('vol')}"):
        ctl.call(ctl.conn.storage_vol_delete(v))
    ctl.print(f"Vol {a.req('vol')} deleted\n")


_WIPE_ALGORITHMS = ("zero", "nnsa", "dod", "bsi", "gutmann", "schneier", "pfitzner7",
                    "pfitzner33", "random", "trim")


def cmd_vol_wipe(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.ctl import CmdFailed

    v = vol_ref(ctl, a)
    name = a.get("algorithm")
    if name is not None and name not in _WIPE_ALGORITHMS:
        raise CmdFailed(f"Unsupported algorithm '{name}'")
    alg = _WIPE_ALGORITHMS.index(name) if name is not None else 0
    with ctl.failing(f"Failed to wipe vol {a.req('vol')}"):
        if alg:
            ctl.call(ctl.conn.storage_vol_wipe_pattern(v, alg))
        else:  # no algorithm: plain virStorageVolWipe, as virsh calls it
            ctl.call(ctl.conn.storage_vol_wipe(v))
    ctl.print(f"Vol {a.req('vol')} wiped\n")


def cmd_vol_resize(ctl: Ctl, a: BoundArgs) -> None:
    v = vol_ref(ctl, a)
    text = a.req("capacity")
    delta = a.flag("delta")
    shrink = a.flag("shrink")
    if text.startswith("-"):  # a negative size is a shrinking delta (needs --shrink, like virsh)
        from pyvirt.cli.ctl import CmdFailed

        if not shrink:
            raise CmdFailed("negative size requires --shrink")
        text, delta = text[1:], True
    size = _scaled(text, "capacity")
    flags = (1 if a.flag("allocate") else 0) | (2 if delta else 0) | (4 if shrink else 0)
    with ctl.failing(f"Failed to change size of volume '{v.name}' to {a.req('capacity')}"):
        ctl.call(ctl.conn.storage_vol_resize(v, size, flags))
    verb = "by" if delta else "to"
    ctl.print(f"Size of volume '{v.name}' successfully changed {verb} {text}\n")


def _offsets(a: BoundArgs) -> tuple[int, int]:
    return (_scaled(a.get("offset") or "0", "offset"), _scaled(a.get("length") or "0", "length"))


def cmd_vol_upload(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.ctl import CmdFailed

    v = vol_ref(ctl, a)
    offset, length = _offsets(a)
    path = a.req("file")
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below, after the stream
    except OSError as e:
        raise CmdFailed(f"cannot read {path}") from e

    async def pump() -> None:
        st = await ctl.conn.storage_vol_upload(v, offset, length)
        try:
            while data := f.read(1 << 20):
                await st.write(data)
        finally:
            await st.close()
    with f, ctl.failing(f"cannot upload to volume {a.req('vol')}"):
        ctl.call(pump())


def cmd_vol_download(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.ctl import CmdFailed

    v = vol_ref(ctl, a)
    offset, length = _offsets(a)
    path = a.req("file")
    try:
        f = open(path, "wb")  # noqa: SIM115 - closed below, after the stream
    except OSError as e:
        raise CmdFailed(f"cannot create {path}") from e

    async def pump() -> None:
        st = await ctl.conn.storage_vol_download(v, offset, length)
        try:
            while data := await st.read(1 << 20):
                f.write(data)
        finally:
            await st.close()
    with f, ctl.failing(f"cannot download from volume {a.req('vol')}"):
        ctl.call(pump())
