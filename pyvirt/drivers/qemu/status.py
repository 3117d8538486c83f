"""Persistence: definitions, live status documents, next id — all written atomically.

A status document is small XML in the run dir (``NAME.xml``) holding what a fresh process
needs to serve reads without QMP and to reattach: pid, the QEMU start time from
/proc/PID/stat (guards against pid reuse), monitor socket path, state + reason, id, and
the live domain XML. Reads parse only the root attributes when that is all they need.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path


def atomic_write(path: Path, data: str, *, durable: bool = True) -> None:
    """write tmp, fsync, rename: readers see the old or the new file, never half of one.

    ``durable=False`` skips the fsync. The rename alone already gives every other process
    (and a restarted one after a crash of ours) the old or the new file; the fsync only adds
    survival of a host crash or power loss. That matters for definitions, not for a status
    document: it describes a QEMU process a host crash kills too, and a status file lost
    or cut short by one reads as "not running" (DomainStore.read_status), which is then
    true. libvirt keeps its status XML on /run (tmpfs) for the same reason."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data.encode())
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def write_status_file(path: Path, data: str) -> None:
    """A status document (or other run-dir state that dies with QEMU): atomic, no fsync."""
    atomic_write(path, data, durable=False)


def _q(value: str) -> str:
    """Single-quoted attribute (the cheap first-line scanner relies on one quoting style)."""
    esc = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "'" + esc.replace("'", "&apos;").replace('"', "&quot;") + "'"


def unescape_attr(value: str) -> str:
    return value.replace("&apos;", "'").replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


@dataclass(slots=True)
class StatusDoc:
    name: str
    uuid: str
    id: int
    pid: int
    start_time: int  # field 22 of /proc/PID/stat (clock ticks since boot)
    monitor: str
    state: int
    reason: int
    live_xml: str
    persistent: bool = True
    autodestroy: bool = False

    def format(self) -> str:
        attrs = (
            f"name={_q(self.name)} uuid={_q(self.uuid)} id='{self.id}' pid='{self.pid}' "
            f"starttime='{self.start_time}' monitor={_q(self.monitor)} state='{self.state}' "
            f"reason='{self.reason}' persistent='{int(self.persistent)}'"
        )
        # The live XML is embedded as a child document (escaped text), so the status file
        # stays one self-contained, atomically replaced file.
        body = self.live_xml.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"<pyvirtstatus {attrs}>\n<domxml>{body}</domxml>\n</pyvirtstatus>\n"

    @classmethod
    def parse(cls, text: str) -> StatusDoc:
        root = ET.fromstring(text)
        g = root.get
        return cls(
            name=g("name") or "",
            uuid=g("uuid") or "",
            id=int(g("id") or -1),
            pid=int(g("pid") or 0),
            start_time=int(g("starttime") or 0),
            monitor=g("monitor") or "",
            state=int(g("state") or 0),
            reason=int(g("reason") or 0),
            live_xml=(root.findtext("domxml") or ""),
            persistent=(g("persistent") or "1") == "1",
        )

    @classmethod
    def load(cls, path: Path) -> StatusDoc:
        return cls.parse(path.read_text())


def proc_start_time(pid: int) -> int | None:
    """Start time of pid in clock ticks since boot, or None if there is no such process."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parens: split after the last ')'.
    fields = raw[raw.rindex(b")") + 2 :].split()
    return int(fields[19])


def proc_cpu_time_ns(pid: int) -> int:
    """utime + stime of pid (all threads) in nanoseconds; 0 when the process is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return 0
    fields = raw[raw.rindex(b")") + 2 :].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK")


def pid_alive_as(pid: int, start_time: int) -> bool:
    """True if pid is the same process we started (not a reused pid) and not a zombie."""
    st = proc_start_time(pid)
    if st is None or st != start_time:
        return False
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return raw[raw.rindex(b")") + 2 : raw.rindex(b")") + 3] not in (b"Z", b"X")


class IdAllocator:
    """Domain ids increase from 1 like libvirt; the next id survives driver restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def next(self) -> int:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 64, 0).strip()
            cur = int(raw) if raw else 1
            data = f"{cur + 1}\n".encode()
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
            return cur
        finally:
            os.close(fd)
