"""The pure argv builder: ``build(defn, caps, runtime) -> list[str]``.

Input is a definition that went through :func:`pyvirt.drivers.qemu.postparse.postparse`
(aliases, addresses and implicit devices filled in); output is the exact command line libvirt
9 would use with the same capabilities. No I/O, no os calls: everything variable comes from
:class:`CommandRuntime`. Anything the builder cannot express raises
:class:`pyvirt.errors.ConfigUnsupported` naming the feature, so callers (and the conformance
test) can tell "not covered" from "wrong".

How the process layer uses it::

    defn = postparse(parse_domain(xml), caps)          # once, at define/start
    rt = CommandRuntime(domain_id=7, domain_dir=..., channel_dir=..., monitor_fd=listener.fileno(),
                        socket_fds={...}, file_fd_base=None)
    argv = build(defn, caps, rt)

* ``monitor_fd`` must be an already *listening* unix socket (QEMU accepts on it).
* ``master_key=True`` (default) names ``<domain_dir>/master-key.aes``: write 32 random bytes
  there first, or pass ``master_key=False``.
* with ``file_fd_base`` set, open :func:`file_fd_plan`'s files in order (append/truncate as
  each entry says) and pass them as fds ``base``, ``base + 1``... (``pass_fds``).
* ``socket_fds`` maps chardev ids (``charchannel0``, ``charconsole1``...) to listening
  sockets you created; ids without an entry are bound by QEMU itself.
* Things libvirt 9 does over QMP after start and that are therefore not here: I/O throttling
  (``<iotune>``), vCPU pinning (``<cputune>``), ``on_reboot``/``on_poweroff`` actions
  (``set-action``), PTY paths (``query-chardev``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pyvirt.drivers.qemu.command.chardev import FdFile, _FdSets, chardev_args
from pyvirt.drivers.qemu.command.controller import controller_args
from pyvirt.drivers.qemu.command.disk import disk_args
from pyvirt.drivers.qemu.command.display import audio_args, graphics_args, input_args, video_args
from pyvirt.drivers.qemu.command.fs import fs_args
from pyvirt.drivers.qemu.command.machine import head_args
from pyvirt.drivers.qemu.command.misc import (
    hostdev_args,
    memballoon_args,
    panic_args,
    rng_args,
    watchdog_args,
)
from pyvirt.drivers.qemu.command.net import net_args
from pyvirt.drivers.qemu.command.runtime import CommandRuntime
from pyvirt.drivers.qemu.command.util import raw_boot_order

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef
    from pyvirt.drivers.qemu.caps import QemuCaps

__all__ = ["CommandRuntime", "FdFile", "build", "file_fd_plan"]

SANDBOX = "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"


def boot_indexes(defn: DomainDef) -> dict[int, int]:
    """``bootindex`` per device (keyed by ``id(device)``).

    Per-device ``<boot order='N'/>`` wins; otherwise each ``<os><boot dev=.../>`` in turn
    gives the next index to the first device of that kind, which is what libvirt does.
    """
    devs: list[Any] = [*defn.devices.disks, *defn.devices.interfaces]
    explicit = {id(d): int(d.boot_order) for d in devs if getattr(d, "boot_order", None)}
    for o in defn.devices.others:
        order = raw_boot_order(o) if o.tag == "hostdev" else None
        if order is not None:
            explicit[id(o)] = order
    if explicit:
        return explicit
    out: dict[int, int] = {}
    n = 0
    # libvirt boots from "hd" when nothing is said, even with a direct kernel boot.
    for dev in defn.os.boot_devices or ("hd",):
        kind = str(dev)
        cands: list[Any]
        if kind == "hd":
            cands = [d for d in defn.devices.disks if str(d.device) == "disk"]
        elif kind == "cdrom":
            cands = [d for d in defn.devices.disks if str(d.device) == "cdrom"]
        elif kind == "fd":
            cands = [d for d in defn.devices.disks if str(d.device) == "floppy"]
        elif kind == "network":
            cands = list(defn.devices.interfaces)
        else:
            continue
        if cands:
            n += 1
            out[id(cands[0])] = n
    return out


def build(defn: DomainDef, caps: QemuCaps, runtime: CommandRuntime) -> list[str]:
    """The full argv, emulator first. Raises ConfigUnsupported for what we do not cover."""
    emulator = defn.devices.emulator or caps.binary
    argv = [emulator, *head_args(defn, caps, runtime)]
    boots = boot_indexes(defn)
    argv += controller_args(defn)
    argv += disk_args(defn, boots)
    argv += fs_args(defn)
    argv += net_args(defn, boots, runtime)
    argv += chardev_args(defn, runtime, _FdSets(runtime.file_fd_base))
    argv += input_args(defn)
    graphics = graphics_args(defn, runtime.domain_dir)  # first: its refusals name the cause
    argv += audio_args(defn)
    argv += graphics
    argv += video_args(defn)
    argv += watchdog_args(defn)
    argv += hostdev_args(defn, boots)
    argv += memballoon_args(defn)
    argv += rng_args(defn)
    if runtime.sandbox:
        argv += ["-sandbox", SANDBOX]
    argv += panic_args(defn)
    argv += ["-msg", "timestamp=on"]
    return argv


def file_fd_plan(defn: DomainDef) -> list[FdFile]:
    """Files to open, in order, for a runtime with ``file_fd_base`` set (fd = base + index)."""
    fds = _FdSets(None)
    chardev_args(defn, CommandRuntime(all_sockets_fd=0), fds)
    return fds.plan
