"""pyvirsh net-* and screenshot implementations, with virsh 9.0's output and messages
(declared in :mod:`pyvirt.cli.network`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyvirt.cli.common import flag_bits
from pyvirt.cli.common import read_file as _read_file

if TYPE_CHECKING:
    from pyvirt.cli.ctl import Ctl
    from pyvirt.cli.spec import BoundArgs
    from pyvirt.drivers.base import NetworkRef

# VIR_CONNECT_LIST_NETWORKS_*
_INACTIVE, _ACTIVE, _PERSISTENT, _TRANSIENT, _AUTOSTART, _NO_AUTOSTART = 1, 2, 4, 8, 16, 32


def net_ref(ctl: Ctl, text: str, by_uuid: bool = True, by_name: bool = True) -> NetworkRef:
    """virsh's network argument: a UUID when it is exactly 36 characters long, else (or
    when that fails) a name; the last libvirt error follows virsh's own line."""
    from pyvirt.cli.ctl import CmdFailed
    from pyvirt.errors import VirtError

    drv = ctl.conn
    last: VirtError | None = None
    if by_uuid and len(text) == 36:
        try:
            raw = bytes.fromhex(text.replace("-", ""))
        except ValueError:
            raw = b""
        if len(raw) == 16:
            try:
                return ctl.call(drv.network_lookup_by_uuid(raw))
            except VirtError as e:
                last = e
    if by_name:
        try:
            return ctl.call(drv.network_lookup_by_name(text))
        except VirtError as e:
            last = e
    lines = (f"failed to get network '{text}'",) + ((last.message,) if last is not None else ())
    raise CmdFailed(*lines)


def _uuid(ref: NetworkRef) -> str:
    import uuid

    return str(uuid.UUID(bytes=ref.uuid))


def cmd_net_list(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.ctl import CmdFailed
    from pyvirt.cli.fmt import table

    if sum(a.flag(o) for o in ("table", "name", "uuid")) > 1:
        raise CmdFailed("Only one argument from --table, --name and --uuid may be specified.")
    flags = _ACTIVE
    if a.flag("inactive"):
        flags = _INACTIVE
    if a.flag("all"):
        flags = _ACTIVE | _INACTIVE
    flags |= flag_bits(a, (("persistent", _PERSISTENT), ("transient", _TRANSIENT), ("autostart", _AUTOSTART),
                           ("no-autostart", _NO_AUTOSTART)))
    drv = ctl.conn
    from pyvirt.errors import ErrorCode, VirtError

    try:
        refs = sorted(ctl.call(drv.list_all_networks(flags)), key=lambda r: r.name.lower())  # strcasecmp
    except VirtError as e:
        if e.code != ErrorCode.NO_SUPPORT:
            raise CmdFailed("Failed to list networks", e.message) from None
        # virsh falls back to the old calls, counting first; a driver without networks
        # fails that count, which is what it reports
        which, api = (("inactive", "virConnectNumOfDefinedNetworks") if flags & (_ACTIVE | _INACTIVE) == _INACTIVE
                      else ("active", "virConnectNumOfNetworks"))
        raise CmdFailed(f"Failed to get the number of {which} networks",
                        f"this function is not supported by the connection driver: {api}") from None
    if a.flag("uuid") or a.flag("name"):
        for r in refs:
            ctl.print((_uuid(r) if a.flag("uuid") else r.name) + "\n")
        return
    rows = []
    for r in refs:
        from pyvirt.errors import VirtError

        try:
            auto = "yes" if ctl.call(drv.network_get_autostart(r)) else "no"
        except VirtError:
            auto = "no autostart"
        rows.append([r.name, "active" if ctl.call(drv.network_is_active(r)) else "inactive", auto,
                     "yes" if ctl.call(drv.network_is_persistent(r)) else "no"])
    ctl.print(table(["Name", "State", "Autostart", "Persistent"], rows, quiet=ctl.quiet))


def cmd_net_info(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.fmt import kv
    from pyvirt.errors import VirtError

    r = net_ref(ctl, a.req("network"))
    drv = ctl.conn
    out = kv("Name:", r.name, 15) + kv("UUID:", _uuid(r), 15)
    try:
        out += kv("Active:", "yes" if ctl.call(drv.network_is_active(r)) else "no", 15)
    except VirtError:
        pass
    try:
        out += kv("Persistent:", "yes" if ctl.call(drv.network_is_persistent(r)) else "no", 15)
    except VirtError:
        out += kv("Persistent:", "unknown", 15)
    try:
        out += kv("Autostart:", "yes" if ctl.call(drv.network_get_autostart(r)) else "no", 15)
    except VirtError:
        out += kv("Autostart:", "no autostart", 15)
    try:
        out += kv("Bridge:", ctl.call(drv.network_get_bridge_name(r)), 15)
    except VirtError:
        pass  # virsh drops the error: a network without a bridge shows no line
    ctl.print(out)


def cmd_net_dumpxml(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.ctl import CmdFailed
    from pyvirt.errors import VirtError

    r = net_ref(ctl, a.req("network"))
    try:
        xml = ctl.call(ctl.conn.network_get_xml_desc(r, 1 if a.flag("inactive") else 0))
    except VirtError as e:
        raise CmdFailed(e.message) from None  # virsh 9.0 prints libvirt's message alone
    ctl.print(xml)


def cmd_net_define(ctl: Ctl, a: BoundArgs) -> None:
    path = a.req("file")
    xml = _read_file(path)
    with ctl.failing(f"Failed to define network from {path}"):
        r = ctl.call(ctl.conn.network_define_xml(xml, 1 if a.flag("validate") else 0))
    ctl.print_extra(f"Network {r.name} defined from {path}\n")


def cmd_net_create(ctl: Ctl, a: BoundArgs) -> None:
    path = a.req("file")
    xml = _read_file(path)
    with ctl.failing(f"Failed to create network from {path}"):
        r = ctl.call(ctl.conn.network_create_xml(xml, 1 if a.flag("validate") else 0))
    ctl.print_extra(f"Network {r.name} created from {path}\n")


def _action(ctl: Ctl, a: BoundArgs, method: str, fail: str, done: str) -> None:
    r = net_ref(ctl, a.req("network"))
    with ctl.failing(f"{fail} {r.name}"):
        ctl.call(getattr(ctl.conn, method)(r))
    ctl.print_extra(f"Network {r.name} {done}\n")


def cmd_net_start(ctl: Ctl, a: BoundArgs) -> None:
    _action(ctl, a, "network_create", "Failed to start network", "started")


def cmd_net_destroy(ctl: Ctl, a: BoundArgs) -> None:
    _action(ctl, a, "network_destroy", "Failed to destroy network", "destroyed")


def cmd_net_undefine(ctl: Ctl, a: BoundArgs) -> None:
    _action(ctl, a, "network_undefine", "Failed to undefine network", "has been undefined")


def cmd_net_autostart(ctl: Ctl, a: BoundArgs) -> None:
    r = net_ref(ctl, a.req("network"))
    on = not a.flag("disable")
    with ctl.failing(f"failed to {'mark' if on else 'unmark'} network {r.name} as autostarted"):
        ctl.call(ctl.conn.network_set_autostart(r, on))
    ctl.print_extra(f"Network {r.name} {'marked' if on else 'unmarked'} as autostarted\n")


def cmd_net_uuid(ctl: Ctl, a: BoundArgs) -> None:
    ctl.print(_uuid(net_ref(ctl, a.req("network"), by_uuid=False)) + "\n")


def cmd_net_name(ctl: Ctl, a: BoundArgs) -> None:
    ctl.print(net_ref(ctl, a.req("network"), by_name=False).name + "\n")


def cmd_screenshot(ctl: Ctl, a: BoundArgs) -> None:
    """Save the domain's screen to --file (default NAME-YYYY-MM-DD-HH:MM:SS.EXT, the extension
    from the MIME type as virsh picks it)."""
    import os
    import time

    from pyvirt.cli.ctl import CmdFailed

    dom = ctl.domain(a.req("domain"))
    screen = a.int("screen") or 0
    drv = ctl.conn

    async def grab() -> tuple[str | None, bytes]:
        mime, stream = await drv.screenshot(dom, screen, 0)
        chunks = []
        try:
            while data := await stream.read(65536):
                chunks.append(data)
        finally:
            await stream.close()
        return mime, b"".join(chunks)

    with ctl.failing(f"could not take a screenshot of {dom.name}"):
        mime, data = ctl.call(grab())
    path = a.get("file")
    if path is None:
        ext = {"image/x-portable-pixmap": ".ppm", "image/png": ".png"}.get(mime or "", "")
        path = f"{dom.name}-{time.strftime('%Y-%m-%d-%H:%M:%S')}{ext}"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    except OSError:
        raise CmdFailed(f"cannot create file {path}") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    ctl.print_extra(f"Screenshot saved to {path}, with type of {mime}\n")
    ctl.skip_separator = True  # virsh ends this one without the usual empty line
