"""Character devices: serial ports (isa-serial), virtio consoles and channels.

Each device is a ``-chardev`` backend (``char<alias>``) plus a frontend ``-device``. Output and
log files can be handed to QEMU as pre-opened fds through ``-add-fd`` fdsets, which is what
libvirt 9 does; the order those fds are needed in is :func:`file_fd_plan`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.command.runtime import CommandRuntime
from pyvirt.drivers.qemu.command.util import qescape, qjson
from pyvirt.errors import ConfigUnsupported

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef


@dataclass(frozen=True, slots=True)
class FdFile:
    """A file the caller must open and pass for the ``-add-fd`` of ``opaque``."""

    opaque: str  # "serial0-source" / "serial0-log"
    path: str
    append: bool


class _FdSets:
    """Numbers fdsets in the order the builder needs them (one instance per build)."""

    def __init__(self, base: int | None) -> None:
        self.base = base
        self.next_set = 0
        self.plan: list[FdFile] = []

    def add(self, argv: list[str], opaque: str, path: str, append: bool) -> str:
        """Return the path QEMU should open: ``/dev/fdset/N`` in fd mode, else ``path``."""
        self.plan.append(FdFile(opaque, path, append))
        if self.base is None:
            return path
        n = self.next_set
        self.next_set += 1
        argv += ["-add-fd", f"set={n},fd={self.base + n},opaque={opaque}"]
        return f"/dev/fdset/{n}"


def _src_type(chr_: Any) -> str:
    return str(chr_.type)


def chardev_arg(chr_: Any, cid: str, rt: CommandRuntime, fds: _FdSets, argv: list[str]) -> str:
    """The ``-chardev`` value for one device; may push ``-add-fd`` pairs onto ``argv`` first."""
    stype = _src_type(chr_)
    alias = chr_.alias
    opts: list[str]
    if stype == "pty":
        opts = [f"pty,id={cid}"]
    elif stype == "null":
        opts = [f"null,id={cid}"]
    elif stype == "dev" and str(chr_.kind) == "parallel" and chr_.source_path:
        opts = [f"parallel,id={cid}", f"path={qescape(chr_.source_path)}"]
    elif stype == "file":
        if not chr_.source_path:
            raise ConfigUnsupported("unsupported configuration: file chardev without a path")
        append = chr_.source_append is True
        path = fds.add(argv, f"{alias}-source", chr_.source_path, append)
        opts = [f"file,id={cid}", f"path={qescape(path)}"]
        if fds.base is not None or append:
            opts.append("append=on")
    elif stype == "unix":
        # A virtio channel without a path is ours to create (libvirt: <channelTargetDir>/NAME);
        # the inactive XML does not keep that path, nor the implied bind mode.
        auto = not chr_.source_path and str(chr_.kind) == "channel" and bool(chr_.target_name)
        mode = "bind" if auto else str(chr_.source_mode or "connect")
        opts = [f"socket,id={cid}"]
        fd = rt.socket_fd(cid) if mode == "bind" else None
        if fd is not None:
            opts += [f"fd={fd}", "server=on", "wait=off"]
        else:
            path = f"{rt.channel_dir}/{chr_.target_name}" if auto else chr_.source_path
            if not path:
                raise ConfigUnsupported("unsupported configuration: unix chardev without a path")
            opts.append(f"path={qescape(path)}")
            if mode == "bind":
                opts += ["server=on", "wait=off"]
    elif stype == "tcp":
        if chr_.source_host is None or chr_.source_service is None:
            raise ConfigUnsupported("unsupported configuration: tcp chardev needs host and service")
        proto = str(chr_.protocol_type or "raw")
        if proto not in ("raw", "telnet"):
            raise ConfigUnsupported(f"unsupported configuration: chardev protocol '{proto}' is not supported")
        opts = [f"socket,id={cid}", f"host={chr_.source_host}", f"port={chr_.source_service}"]
        if proto == "telnet":
            opts.append("telnet=on")
        if str(chr_.source_mode or "connect") == "bind":
            opts += ["server=on", "wait=off"]
    else:
        raise ConfigUnsupported(f"unsupported configuration: chardev source type '{stype}' is not supported")
    if chr_.log_file:
        append = chr_.log_append is True
        path = fds.add(argv, f"{alias}-log", chr_.log_file, append)
        opts.append(f"logfile={qescape(path)}")
        opts.append("logappend=on" if fds.base is not None or append else "logappend=off")
    return ",".join(opts)


def _is_serial_console(con: Any) -> bool:
    return str(con.target_type or "serial") == "serial"


def _virtio_serial_bus(defn: DomainDef, addr: Any) -> str:
    ctrl = addr.controller if addr is not None else 0
    for c in defn.devices.controllers:
        if str(c.type) == "virtio-serial" and c.index == ctrl:
            return f"{c.alias}.{addr.bus if addr is not None else 0}"
    return f"virtio-serial{ctrl}.0"


def chardev_args(defn: DomainDef, rt: CommandRuntime, fds: _FdSets) -> list[str]:
    argv: list[str] = []
    for ser in defn.devices.serials:
        ttype = str(ser.target_type or "isa-serial")
        if ttype not in ("isa-serial", "serial"):
            raise ConfigUnsupported(f"unsupported configuration: serial target type '{ttype}' is not supported")
        cid = f"char{ser.alias}"
        argv += ["-chardev", chardev_arg(ser, cid, rt, fds, argv)]
        argv += ["-device", qjson({"driver": "isa-serial", "chardev": cid, "id": ser.alias,
                                   "index": ser.target_port if ser.target_port is not None else 0})]
    for par in defn.devices.parallels:
        cid = f"char{par.alias}"
        argv += ["-chardev", chardev_arg(par, cid, rt, fds, argv)]
        argv += ["-device", qjson({"driver": "isa-parallel", "chardev": cid, "id": par.alias})]
    for ch in defn.devices.channels:
        ttype = str(ch.target_type or "")
        if ttype != "virtio":
            raise ConfigUnsupported(f"unsupported configuration: channel target type '{ttype}' is not supported")
        cid = f"char{ch.alias}"
        argv += ["-chardev", chardev_arg(ch, cid, rt, fds, argv)]
        props: dict[str, Any] = {"driver": "virtserialport",
                                 "bus": _virtio_serial_bus(defn, ch.address),
                                 "nr": ch.address.port if ch.address is not None else 1,
                                 "chardev": cid, "id": ch.alias}
        if ch.target_name:
            props["name"] = ch.target_name
        argv += ["-device", qjson(props)]
    for con in defn.devices.consoles:
        if _is_serial_console(con):
            continue  # the same device as serial0, already built above
        ttype = str(con.target_type)
        if ttype != "virtio":
            raise ConfigUnsupported(f"unsupported configuration: console target type '{ttype}' is not supported")
        cid = f"char{con.alias}"
        argv += ["-chardev", chardev_arg(con, cid, rt, fds, argv)]
        argv += ["-device", qjson({"driver": "virtconsole", "chardev": cid, "id": con.alias})]
    return argv
