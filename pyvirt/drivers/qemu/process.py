"""Spawning and stopping QEMU: the only place with process side effects.

* The QMP listening socket is created, bound and listening *before* QEMU starts and is
  handed over as an inherited fd (``-chardev socket,...,fd=N,server=on,wait=off``), so our
  connect can never race QEMU's startup. We close our copy right after the spawn, so if
  QEMU dies early the connect/greeting fails instead of hanging.
* Exit is watched through a pidfd registered with the event loop (works for children and
  for QEMUs we reattach to after a restart); nothing polls.
* QEMU runs in its own session so it outlives one-shot clients (pyvirsh) that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.drivers.qemu.monitor import QMPClosed, QMPMonitor
from pyvirt.drivers.qemu.status import pid_alive_as, proc_start_time
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

# libvirt (virProcessKillPainfully) gives SIGTERM 10 s before escalating to SIGKILL.
TERM_GRACE = 10.0
KILL_GRACE = 5.0


@dataclass
class ProcessWatch:
    """Signals once when the process exits (pidfd readable)."""

    pid: int
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    _pidfd: int = -1
    _callbacks: list[Callable[[], None]] = field(default_factory=list)

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._pidfd = os.pidfd_open(self.pid)
        except ProcessLookupError:
            self._fire()
            return
        loop.add_reader(self._pidfd, self._fire)

    def on_exit(self, cb: Callable[[], None]) -> None:
        """Call cb (in the loop) once the process has exited; at once if it already has."""
        if self.exited.is_set():
            asyncio.get_running_loop().call_soon(cb)
        else:
            self._callbacks.append(cb)

    def _fire(self) -> None:
        if self.exited.is_set():
            return
        if self._pidfd >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        # Reap if it was our child (otherwise it is init's business).
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(self.pid, os.WNOHANG)
        self.exited.set()
        cbs, self._callbacks = self._callbacks, []
        for cb in cbs:
            cb()

    def stop(self) -> None:
        if self._pidfd >= 0:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1


@dataclass
class Spawned:
    pid: int
    start_time: int
    monitor: QMPMonitor
    watch: ProcessWatch


def make_monitor_listener(path: Path) -> socket.socket:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    sock.listen(1)
    return sock


def log_tail(log: Path, since: int) -> str:
    try:
        with log.open("rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    return text.strip()


async def spawn(
    argv: list[str],
    *,
    listener: socket.socket,
    log_path: Path,
    cwd: Path,
    handshake_timeout: float = 30.0,
) -> Spawned:
    """Start QEMU (it is started with -S), connect QMP, return the live handles.

    Raises VirtError(INTERNAL_ERROR) with QEMU's own message from the log if QEMU exits or
    closes the monitor before the handshake completes.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    log_start = os.fstat(log_fd).st_size
    monitor_path = listener.getsockname()
    try:
        proc = subprocess.Popen(  # noqa: ASYNC220 - fork+exec only; exit is watched by pidfd
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=log_fd,
            pass_fds=(listener.fileno(),),
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as e:
        raise VirtError(
            f"Cannot find QEMU binary {argv[0]}: {e.strerror}", ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU
        ) from e
    finally:
        os.close(log_fd)
        listener.close()
    # Popen keeps a handle only for reaping; the pidfd watch reaps instead.
    proc.returncode = 0  # keep Popen.__del__ from warning; we own the pid now
    watch = ProcessWatch(proc.pid)
    watch.start()
    start_time = proc_start_time(proc.pid) or 0

    async def connect() -> QMPMonitor:
        return await QMPMonitor.connect_path(monitor_path, handshake_timeout)

    conn = asyncio.ensure_future(connect())
    exited = asyncio.ensure_future(watch.exited.wait())
    try:
        done, _ = await asyncio.wait({conn, exited}, timeout=handshake_timeout, return_when=asyncio.FIRST_COMPLETED)
        if conn in done and conn.exception() is None:
            return Spawned(proc.pid, start_time, conn.result(), watch)
        if conn in done:
            exc = conn.exception()
        else:
            exc = None
    finally:
        exited.cancel()
    if not conn.done():
        conn.cancel()
        with contextlib.suppress(BaseException):
            await conn
    # Failure: make sure it is gone, then report what QEMU said.
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(watch.exited.wait(), KILL_GRACE)
    tail = log_tail(log_path, log_start)
    if tail:
        msg = f"internal error: qemu unexpectedly closed the monitor: {tail}"
    elif isinstance(exc, (QMPClosed, OSError)):
        msg = f"internal error: qemu unexpectedly closed the monitor: {exc}"
    else:
        msg = "internal error: QEMU did not answer on its monitor in time"
    raise VirtError(msg, ErrorCode.INTERNAL_ERROR, ErrorDomain.QEMU)


async def kill(watch: ProcessWatch, *, graceful: bool, term_grace: float | None = None) -> None:
    """SIGTERM, wait for exit (``term_grace``, default TERM_GRACE); then SIGKILL unless graceful.

    Raises VirtError(SYSTEM_ERROR) like libvirt when the process survives.
    """
    if term_grace is None:
        term_grace = TERM_GRACE
    if watch.exited.is_set():
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(watch.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(watch.exited.wait(), term_grace)
        return
    except TimeoutError:
        if graceful:
            raise VirtError(
                f"Failed to terminate process {watch.pid} with SIGTERM: Device or resource busy",
                ErrorCode.SYSTEM_ERROR,
                ErrorDomain.NONE,
            ) from None
    with contextlib.suppress(ProcessLookupError):
        os.kill(watch.pid, signal.SIGKILL)
    try:
        await asyncio.wait_for(watch.exited.wait(), KILL_GRACE)
    except TimeoutError:
        raise VirtError(
            f"Failed to terminate process {watch.pid} with SIGKILL: Device or resource busy",
            ErrorCode.SYSTEM_ERROR,
            ErrorDomain.NONE,
        ) from None


def still_ours(pid: int, start_time: int) -> bool:
    return pid > 0 and pid_alive_as(pid, start_time)


# ----------------------------------------------------------------------------- argv seam
#
# The project's argv builder (pyvirt/drivers/qemu/command, golden-tested against libvirt's
# corpus) is written concurrently on top of the full domain model. Until the driver switches
# to it, this small builder covers what the runtime and its e2e tests need: direct kernel
# boot, file disks on virtio/sata/ide, pty/file/unix serials with logs, the guest agent
# channel, user networking, and the monitor fd. Anything else is ConfigUnsupported.

@dataclass(frozen=True, slots=True)
class RuntimeLayout:
    dom_id: int
    monitor_fd: int
    domain_dir: Path  # private per-run dir (agent sockets)


def fallback_argv(root: ET.Element, layout: RuntimeLayout) -> list[str]:
    from pyvirt.errors import ConfigUnsupported

    name = root.findtext("name") or ""
    emulator = root.findtext("devices/emulator") or "/usr/bin/qemu-system-x86_64"
    machine = root.find("os/type")
    mtype = (machine.get("machine") if machine is not None else None) or "pc"
    accel = "kvm" if root.get("type") == "kvm" else "tcg"
    mem_kib = int(root.findtext("memory") or "0")
    vcpus = int((root.findtext("vcpu") or "1").strip())
    argv = [
        emulator, "-name", f"guest={name},debug-threads=on", "-S",
        "-machine", f"{mtype},usb=off,dump-guest-core=off", "-accel", accel,
        "-m", f"size={mem_kib}k", "-smp", f"{vcpus},sockets={vcpus},cores=1,threads=1",
        "-uuid", root.findtext("uuid") or "", "-display", "none",
        "-no-user-config", "-nodefaults",
        "-chardev", f"socket,id=charmonitor,fd={layout.monitor_fd},server=on,wait=off",
        "-mon", "chardev=charmonitor,id=monitor,mode=control",
        "-rtc", "base=utc", "-no-shutdown", "-boot", "strict=on",
    ]
    for tag, opt in (("os/kernel", "-kernel"), ("os/initrd", "-initrd"), ("os/cmdline", "-append")):
        val = root.findtext(tag)
        if val:
            argv += [opt, val]
    devices = root.find("devices")
    if devices is None:
        return argv
    sata = 0
    for i, disk in enumerate(devices.findall("disk")):
        tgt = disk.find("target")
        bus = tgt.get("bus", "virtio") if tgt is not None else "virtio"
        src = _disk_source_path(disk)
        if disk.get("type", "file") != "file" or src is None:
            raise ConfigUnsupported(f"unsupported configuration: disk type '{disk.get('type')}' without a file source")
        fmt = (disk.find("driver").get("type") if disk.find("driver") is not None else None) or "raw"  # type: ignore[union-attr]
        node = f"libvirt-{i + 1}"
        ro = disk.find("readonly") is not None or disk.get("device") == "cdrom"
        argv += ["-blockdev", _j({"driver": "file", "filename": src, "node-name": f"{node}-storage",
                                  "auto-read-only": True, "discard": "unmap"})]
        argv += ["-blockdev", _j({"node-name": f"{node}-format", "read-only": ro, "driver": fmt,
                                  "file": f"{node}-storage"})]
        alias = _disk_alias(bus, i, sata)
        _set_alias(disk, alias)
        if bus == "virtio":
            argv += ["-device", _j({"driver": "virtio-blk-pci", "drive": f"{node}-format", "id": alias})]
        elif bus in ("sata", "ide"):
            drv = "ide-cd" if disk.get("device") == "cdrom" else "ide-hd"
            dev: dict[str, object] = {"driver": drv, "drive": f"{node}-format", "id": alias}
            if mtype.startswith("pc-q35") or mtype == "q35":
                dev["bus"] = f"ide.{sata}"
            sata += 1
            argv += ["-device", _j(dev)]
        else:
            raise ConfigUnsupported(f"unsupported configuration: disk bus '{bus}' is not supported yet")
    for i, iface in enumerate(devices.findall("interface")):
        if iface.get("type") != "user":
            raise ConfigUnsupported(f"unsupported configuration: interface type '{iface.get('type')}' is not supported yet")
        mac = iface.find("mac")
        argv += ["-netdev", _j({"type": "user", "id": f"hostnet{i}"})]
        dev = {"driver": "virtio-net-pci", "netdev": f"hostnet{i}", "id": f"net{i}"}
        if mac is not None and mac.get("address"):
            dev["mac"] = mac.get("address")
        argv += ["-device", _j(dev)]
        _set_alias(iface, f"net{i}")
    for i, serial in enumerate(devices.findall("serial")):
        argv += ["-chardev", _chardev(serial, f"charserial{i}")]
        argv += ["-device", _j({"driver": "isa-serial", "chardev": f"charserial{i}", "id": f"serial{i}", "index": i})]
        _set_alias(serial, f"serial{i}")
    for con in devices.findall("console"):
        _set_alias(con, "serial0")
    channels = devices.findall("channel")
    if channels:
        argv += ["-device", _j({"driver": "virtio-serial-pci", "id": "virtio-serial0"})]
    for i, ch in enumerate(channels):
        tgt = ch.find("target")
        tname = tgt.get("name") if tgt is not None else None
        if ch.get("type") != "unix" or not tname:
            raise ConfigUnsupported("unsupported configuration: only unix virtio channels are supported yet")
        chsrc = ch.find("source")
        if chsrc is None:
            chsrc = ET.SubElement(ch, "source", {"mode": "bind"})
        if not chsrc.get("path"):
            chsrc.set("path", str(layout.domain_dir / tname))
        chsrc.set("mode", "bind")
        argv += ["-chardev", f"socket,id=charchannel{i},path={chsrc.get('path')},server=on,wait=off"]
        argv += ["-device", _j({"driver": "virtserialport", "bus": "virtio-serial0.0", "nr": i + 1,
                                "chardev": f"charchannel{i}", "id": f"channel{i}", "name": tname})]
        _set_alias(ch, f"channel{i}")
    for panic in devices.findall("panic"):
        if panic.get("model", "isa") != "isa":
            raise ConfigUnsupported(f"unsupported configuration: panic model '{panic.get('model')}' is not supported yet")
        argv += ["-device", _j({"driver": "pvpanic", "ioport": 1285})]
    bal = devices.find("memballoon")
    if bal is not None and bal.get("model") == "virtio":
        argv += ["-device", _j({"driver": "virtio-balloon-pci", "id": "balloon0"})]
    argv += ["-msg", "timestamp=on"]
    return argv


def _j(obj: dict[str, object]) -> str:
    import json

    return json.dumps(obj, separators=(",", ":"))


def _disk_source_path(disk: ET.Element) -> str | None:
    src = disk.find("source")
    return src.get("file") if src is not None else None


def _disk_alias(bus: str, index: int, sata: int) -> str:
    if bus == "virtio":
        return f"virtio-disk{index}"
    return f"sata0-0-{sata}"


def _set_alias(el: ET.Element, alias: str) -> None:
    for old in el.findall("alias"):
        el.remove(old)
    ET.SubElement(el, "alias", {"name": alias})


def _chardev(dev: ET.Element, cid: str) -> str:
    from pyvirt.errors import ConfigUnsupported

    kind = dev.get("type", "pty")
    src = dev.find("source")
    log = dev.find("log")
    if kind == "pty":
        spec = f"pty,id={cid}"
    elif kind == "file" and src is not None and src.get("path"):
        spec = f"file,id={cid},path={src.get('path')}"
    elif kind == "unix" and src is not None and src.get("path"):
        server = "on" if src.get("mode", "bind") == "bind" else "off"
        spec = f"socket,id={cid},path={src.get('path')},server={server},wait=off"
    elif kind == "null":
        spec = f"null,id={cid}"
    else:
        raise ConfigUnsupported(f"unsupported configuration: serial type '{kind}' is not supported yet")
    if log is not None and log.get("file"):
        spec += f",logfile={log.get('file')},logappend={'on' if log.get('append') == 'on' else 'off'}"
    return spec
