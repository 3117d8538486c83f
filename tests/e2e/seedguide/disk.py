"""Host-side views of the guest's disk: the writer's pattern and the backing chain.

The test guest's writer (kernel cmdline ``testguest.writer=1``) keeps its latest counter in
block 0 (``TESTGUEST-WRITER seq=N boot=ID``) and a ring of ``TESTGUEST-SEQ seq=N`` blocks
from block 16, each write fsync'ed. Reading the chain under any image with ``qemu-img dd
-U`` shows what a guest booted from that image would see.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import os
import re
import select
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

BLOCK = 4096
RING_START = 16
RING = 1024
_WRITER = re.compile(rb"TESTGUEST-WRITER seq=(\d+) boot=(\S+)")
_SEQ = re.compile(rb"TESTGUEST-SEQ seq=(\d+)")


@dataclass(frozen=True)
class WriterState:
    seq: int
    boot: bytes
    ring: tuple[int, ...]  # sorted


def read_writer(top: str) -> WriterState | None:
    """The writer's state as the chain under ``top`` holds it; None before its first write."""
    with tempfile.NamedTemporaryFile(prefix="sg-head-", dir="/tmp") as tmp:
        subprocess.run(["qemu-img", "dd", "-U", "-O", "raw", f"bs={BLOCK}", f"count={RING_START + RING}",
                        f"if={top}", f"of={tmp.name}"], check=True, capture_output=True)
        data = Path(tmp.name).read_bytes()
    m = _WRITER.match(data[:128])
    if m is None:
        return None
    ring = []
    for i in range(RING):
        off = (RING_START + i) * BLOCK
        mm = _SEQ.match(data[off:off + 64])
        if mm is not None:
            ring.append(int(mm.group(1)))
    return WriterState(int(m.group(1)), m.group(2), tuple(sorted(ring)))


def check_intact(st: WriterState) -> None:
    """Nothing torn or lost: the ring holds one contiguous run of counters ending at (or,
    when the read raced a write, just after) block 0's counter."""
    assert st.seq >= 1 and st.ring, st
    ring = list(st.ring)
    assert len(set(ring)) == len(ring), "a counter appears twice in the ring"
    assert ring == list(range(ring[0], ring[0] + len(ring))), f"gap in the ring: {ring[:3]}..{ring[-3:]}"
    assert len(ring) == min(RING, ring[-1]), (len(ring), ring[-1])
    assert st.seq <= ring[-1] <= st.seq + 3, (st.seq, ring[-1])  # block 0 is read first


def qemu_img_chain(top: str) -> list[str]:
    out = subprocess.run(["qemu-img", "info", "--backing-chain", "--force-share", "--output=json", top],
                         check=True, capture_output=True, text=True).stdout
    return [str(i["filename"]) for i in json.loads(out)]


def xml_chain(xml: str, dev: str = "vda") -> list[str]:
    """The disk's chain as the domain XML shows it: <source> then each <backingStore>."""
    root = ET.fromstring(xml)
    for disk in root.findall("devices/disk"):
        tgt = disk.find("target")
        if tgt is None or tgt.get("dev") != dev:
            continue
        src = disk.find("source")
        out = [src.get("file", "") if src is not None else ""]
        bs = disk.find("backingStore")
        while bs is not None and bs.find("source") is not None:
            out.append(bs.find("source").get("file", ""))  # type: ignore[union-attr]
            bs = bs.find("backingStore")
        return out
    raise AssertionError(f"no disk {dev} in the domain XML")


IN_MODIFY, IN_CREATE, IN_MOVED_TO, IN_CLOEXEC = 0x002, 0x100, 0x080, 0o2000000


def wait_console(log: Path, needle: bytes, timeout: float = 90) -> bytes:
    """The first complete line of the serial log holding ``needle``. inotify on the log's
    directory wakes us at each QEMU write: no sleeps."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    fd = libc.inotify_init1(IN_CLOEXEC)
    assert fd >= 0, os.strerror(ctypes.get_errno())
    try:
        assert libc.inotify_add_watch(fd, os.fsencode(log.parent), IN_MODIFY | IN_CREATE | IN_MOVED_TO) >= 0
        deadline = time.monotonic() + timeout
        while True:
            if log.exists():
                for line in log.read_bytes().split(b"\n")[:-1]:
                    if needle in line:
                        return line.strip()
            left = deadline - time.monotonic()
            assert left > 0, f"no {needle!r} in {log} after {timeout}s"
            if select.select([fd], [], [], left)[0]:
                os.read(fd, 65536)
    finally:
        os.close(fd)
