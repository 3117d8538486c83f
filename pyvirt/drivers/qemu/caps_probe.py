"""Probe a QEMU binary over QMP, and cache the result per binary.

The probe starts ``qemu -S -no-user-config -nodefaults -nographic -machine none,accel=tcg``
with its QMP monitor on one end of a socketpair (passed as an inherited fd, so there is no
socket path to race on), sends every query at once (QMP answers in order; pipelining saves
a round trip per query), and quits. A KVM session is run only when KVM really works here
(see :func:`kvm_usable`).

The cache is one JSON file per binary in the caller's cache dir, keyed by the binary's
(path, mtime, size) and written atomically (tmp, fsync, rename), so a second process loads
it without spawning QEMU and a concurrent reader never sees half a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyvirt.drivers.qemu.caps import (
    LIBVIRT_TO_QEMU_ARCH,
    QEMU_TO_LIBVIRT_ARCH,
    Accel,
    QemuCaps,
)
from pyvirt.drivers.qemu.caps_build import CACHE_FORMAT
from pyvirt.errors import ConfigUnsupported, ErrorDomain, OperationFailed, SystemError_

PROBE_TIMEOUT = 30.0

# Devices/objects whose properties decide argv details (the ones libvirt asks about too).
PROBED_DEVICES: tuple[str, ...] = (
    "virtio-blk-pci", "virtio-net-pci", "virtio-scsi-pci", "vfio-pci", "scsi-hd", "ide-hd",
    "PIIX4_PM", "usb-redir", "usb-storage", "kvm-pit", "VGA", "vmware-svga", "qxl",
    "virtio-gpu-pci", "virtio-gpu-device", "ICH9-LPC", "virtio-balloon-pci",
    "virtio-balloon-device", "intel-iommu", "mch", "nvdimm", "pcie-root-port", "usb-host",
    "vhost-user-fs-device", "virtio-mem-pci", "virtio-iommu-pci", "isa-serial",
)
PROBED_OBJECTS: tuple[str, ...] = ("memory-backend-file", "memory-backend-memfd", "none-machine")

Query = tuple[str, dict[str, Any] | None]

_COMMON_QUERIES: tuple[Query, ...] = (
    ("query-version", None),
    ("query-target", None),
    ("query-qmp-schema", None),
    ("query-commands", None),
    ("query-kvm", None),
    # abstract types too, so every parent chain is complete (device vs object types)
    ("qom-list-types", {"abstract": True}),
    *(("device-list-properties", {"typename": d}) for d in PROBED_DEVICES),
    *(("qom-list-properties", {"typename": o}) for o in PROBED_OBJECTS),
    ("query-machines", None),
    ("query-cpu-definitions", None),
    ("query-tpm-models", None),
    ("query-tpm-types", None),
    ("query-command-line-options", None),
    ("query-migrate-capabilities", None),
    ("query-sev-capabilities", None),
    ("query-sgx-capabilities", None),
)


def _expansions(model: str) -> list[Query]:
    """Static expansions of the host/max model: plain, then non-migratable (adds invtsc...)."""
    return [
        ("query-cpu-model-expansion", {"type": "static", "model": {"name": model}}),
        (
            "query-cpu-model-expansion",
            {"type": "static", "model": {"name": model, "props": {"migratable": False}}},
        ),
    ]


def kvm_usable(
    dev: Path = Path("/dev/kvm"), sysmod: Path = Path("/sys/module")
) -> tuple[bool, str]:
    """Whether KVM can really run a stock guest here, and why not.

    PVM (``kvm_pvm``) exposes /dev/kvm but needs a PVM-enabled guest kernel; reporting it as
    kvm would make ``type='kvm'`` domains that cannot boot, so it counts as unusable.
    """
    if (sysmod / "kvm_pvm").exists():
        return False, "KVM is provided by kvm_pvm, which cannot run stock guest kernels"
    if not dev.exists():
        return False, f"{dev} does not exist"
    try:
        fd = os.open(dev, os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return False, f"cannot open {dev}: {e.strerror}"
    os.close(fd)
    return True, ""


@dataclass(frozen=True, slots=True)
class BinaryKey:
    """What identifies one build of a binary, on this host, for the cache.

    ``kvm`` is part of the key because the answers depend on it: loading the KVM module
    (or it becoming usable) must re-probe, as libvirt does when /dev/kvm changes.
    """

    path: str
    mtime_ns: int
    size: int
    kvm: bool = False

    @classmethod
    def of(cls, binary: str, kvm: bool = False) -> BinaryKey:
        try:
            st = os.stat(binary)
        except OSError as e:
            raise SystemError_(
                f"Cannot check QEMU binary {binary}: {e.strerror}", domain=ErrorDomain.QEMU
            ) from e
        return cls(binary, st.st_mtime_ns, st.st_size, kvm)

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "mtime_ns": self.mtime_ns, "size": self.size, "kvm": self.kvm}


def cache_file(cache_dir: Path, binary: str) -> Path:
    h = hashlib.sha256(binary.encode()).hexdigest()[:16]
    return cache_dir / f"{Path(binary).name}-{h}.json"


def read_cache(cache_dir: Path, key: BinaryKey) -> QemuCaps | None:
    """Cached caps for ``key``, or None when absent, stale or unreadable."""
    try:
        data = json.loads(cache_file(cache_dir, key.path).read_bytes())
        if data.get("key") != key.as_json() or data.get("format") != CACHE_FORMAT:
            return None
        return QemuCaps.from_json(data["caps"] | {"format": data["format"]})
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_cache(cache_dir: Path, key: BinaryKey, caps: QemuCaps) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    final = cache_file(cache_dir, key.path)
    # unique per process and thread: concurrent writers never share a temporary
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    blob = json.dumps({"format": CACHE_FORMAT, "key": key.as_json(), "caps": caps.to_json()})
    with open(tmp, "w") as f:
        f.write(blob)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    # fsync the directory so the rename itself survives a crash
    dfd = os.open(cache_dir, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class _QmpPipe:
    """The smallest QMP client that does the job: greeting, capabilities, pipelined queries."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r = reader
        self.w = writer

    async def _read_msg(self) -> dict[str, Any]:
        while True:
            line = await self.r.readline()
            if not line:
                raise OperationFailed("QEMU closed the monitor during capabilities probing")
            msg = json.loads(line)
            if isinstance(msg, dict) and "event" not in msg:
                return msg

    async def run(self, queries: Sequence[Query]) -> list[tuple[str, Mapping[str, Any] | None, Any]]:
        greeting = await self._read_msg()
        if "QMP" not in greeting:
            raise OperationFailed(f"unexpected QMP greeting: {greeting!r}")
        full: list[Query] = [("qmp_capabilities", None), *queries]
        out: list[tuple[str, Mapping[str, Any] | None, Any]] = []
        for i, (cmd, args) in enumerate(full):
            msg: dict[str, Any] = {"execute": cmd, "id": i}
            if args is not None:
                msg["arguments"] = args
            self.w.write(json.dumps(msg).encode() + b"\n")
        await self.w.drain()
        for i, (cmd, args) in enumerate(full):
            rep = await self._read_msg()
            if rep.get("id") != i:
                raise OperationFailed(f"QMP reply out of order: wanted id {i}, got {rep!r}")
            out.append((cmd, args, rep["return"] if "return" in rep else {"error": rep["error"]}))
        self.w.write(b'{"execute": "quit"}\n')
        # Keep our end open until QEMU hangs up: closing right after writing "quit" lets
        # QEMU see the hang-up before it reads the command, and it then keeps running.
        with contextlib.suppress(ConnectionError):
            await self.w.drain()
            while await self.r.read(65536):
                pass
        return out


async def _session(binary: str, accel: Accel, queries: Sequence[Query]) -> list[Any]:
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    fd = theirs.fileno()
    argv = [
        binary, "-S", "-no-user-config", "-nodefaults", "-nographic",
        "-machine", f"none,accel={accel.value}",
        "-chardev", f"socket,id=qmp,fd={fd}", "-mon", "chardev=qmp,mode=control",
        "-display", "none",
    ]
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            pass_fds=(fd,),
        )
    except OSError as e:
        ours.close()
        theirs.close()
        raise OperationFailed(f"Failed to start QEMU binary {binary} for probing: {e.strerror}") from e
    theirs.close()
    reader, writer = await asyncio.open_unix_connection(sock=ours, limit=64 * 1024 * 1024)
    try:
        return await asyncio.wait_for(_QmpPipe(reader, writer).run(queries), PROBE_TIMEOUT)
    except (OperationFailed, TimeoutError, ValueError) as e:
        err = b""
        # QEMU usually says why it died on stderr; give it a moment to exit and say it
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 1)
        if proc.stderr is not None and proc.returncode is not None:
            err = await proc.stderr.read()
        raise OperationFailed(
            f"internal error: Failed to probe capabilities for {binary}: {e} {err.decode(errors='replace').strip()}"
        ) from e
    finally:
        writer.close()
        if proc.returncode is None:
            try:
                await asyncio.wait_for(proc.wait(), 5)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def probe_caps(
    binary: str, *, kvm_check: Callable[[], tuple[bool, str]] = kvm_usable
) -> QemuCaps:
    """Spawn ``binary`` (once per usable accelerator) and build its caps from QMP answers.

    ``kvm_check`` decides whether a KVM session is attempted (tests replace it)."""
    ok, why = kvm_check()
    conv: list[Any] = []
    if ok:
        # Each session starts with its own qmp_capabilities, which is what separates the
        # KVM answers from the TCG ones (the layout of libvirt's recordings too).
        conv += await _session(binary, Accel.KVM, [*_COMMON_QUERIES, *_expansions("host")])
    conv += await _session(binary, Accel.TCG, [*_COMMON_QUERIES, *_expansions("max")])
    caps = QemuCaps.from_conversation(conv, binary=binary, kvm_usable=ok, kvm_unusable_reason=why)
    return caps


EMULATOR_DIRS: tuple[Path, ...] = (Path("/usr/bin"), Path("/usr/libexec"), Path("/usr/local/bin"))


def find_emulators(dirs: Sequence[Path] = EMULATOR_DIRS) -> list[str]:
    """Every ``qemu-system-<arch>`` binary found, one per arch, first directory wins."""
    found: dict[str, str] = {}
    for d in dirs:
        try:
            entries = sorted(d.iterdir())
        except OSError:
            continue
        for p in entries:
            qarch = p.name.removeprefix("qemu-system-")
            if (p.name.startswith("qemu-system-") and qarch in QEMU_TO_LIBVIRT_ARCH
                    and qarch not in found and os.access(p, os.X_OK)):
                found[qarch] = str(p)
    return list(found.values())


def emulator_for_arch(arch: str, dirs: Sequence[Path] = EMULATOR_DIRS) -> str:
    """The binary that serves libvirt arch ``arch``: its own, else one that also runs it
    (qemu-system-x86_64 for i686). Raises VIR_ERR_CONFIG_UNSUPPORTED like libvirt."""
    qarch = LIBVIRT_TO_QEMU_ARCH.get(arch)
    emulators = find_emulators(dirs)
    by_arch = {Path(e).name.removeprefix("qemu-system-"): e for e in emulators}
    if qarch is not None and qarch in by_arch:
        return by_arch[qarch]
    wider = {"i686": "x86_64", "armv7l": "aarch64"}.get(arch)
    if wider is not None and wider in by_arch:
        return by_arch[wider]
    raise ConfigUnsupported(
        f"unsupported configuration: unable to find any emulator to serve '{arch}' architecture",
        domain=ErrorDomain.QEMU,
    )


Prober = Callable[[str], Awaitable[QemuCaps]]


async def load_caps(
    binary: str,
    cache_dir: Path,
    *,
    prober: Prober = probe_caps,
    kvm_check: Callable[[], tuple[bool, str]] = kvm_usable,
) -> QemuCaps:
    """Caps of ``binary`` from ``cache_dir`` if the cached entry matches (path, mtime, size,
    KVM usability), else probed with ``prober`` and cached.

    Raises SystemError_ when the binary cannot be stat'ed, OperationFailed when probing
    fails."""
    key = BinaryKey.of(binary, kvm_check()[0])
    cached = read_cache(cache_dir, key)
    if cached is not None:
        return cached
    caps = await prober(binary)
    try:
        write_cache(cache_dir, key, caps)
    except OSError:
        pass  # a read-only cache dir costs a re-probe next time, never the connection
    return caps
