"""A light, synchronous, read-only view of the QEMU driver's domains.

A one-shot ``pyvirsh list`` / ``domstate`` / ``domid`` / ``domname`` / ``domuuid`` needs the
names, uuids, ids, states and reasons of the domains, nothing else. The full driver
(:mod:`pyvirt.drivers.qemu.driver`) brings asyncio, QMP, the XML model and dozens of
dataclasses with it, which costs several times what the read itself costs. This module
answers those reads from the same files the driver keeps (definitions in the config dir,
status documents and shut-off reasons in the run dir, /proc for liveness) with the standard
library's ``os`` only.

It never writes: when the files describe something only the full driver may resolve (a
domain recorded as running whose QEMU is gone has to be reaped, which writes files and emits
events), :meth:`QemuReadView.open` returns ``None`` and the caller opens the full driver.

The file formats are the driver's own (:mod:`.status`, :mod:`.domainobj`); the cheap
scanners below are shared with it so that the two can never disagree.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # typing (and the re it imports) stays off the light path
if TYPE_CHECKING:
    from pyvirt.errors import VirtError

# virDomainState numbers (pyvirt.enums.DomainState), spelled out so this module does not
# import the enums; tests/unit/perf checks they agree.
_RUNNING, _PAUSED, _SHUTOFF = 1, 3, 5

# virConnectListAllDomainsFlags bits (pyvirt.enums.ListDomainsFlags), same reason.
F_ACTIVE, F_INACTIVE = 1, 2
F_PERSISTENT, F_TRANSIENT = 4, 8
F_RUNNING, F_PAUSED, F_SHUTOFF, F_OTHER = 16, 32, 64, 128
F_MANAGEDSAVE, F_NO_MANAGEDSAVE = 256, 512
F_AUTOSTART, F_NO_AUTOSTART = 1024, 2048
F_HAS_SNAPSHOT, F_NO_SNAPSHOT = 4096, 8192
F_HAS_CHECKPOINT, F_NO_CHECKPOINT = 16384, 32768


# ---------------------------------------------------------------- file scanners (shared)
def config_uuid(raw: bytes) -> bytes | None:
    """The raw 16-byte UUID of a stored definition, found without parsing the XML."""
    start = raw.find(b"<uuid>")
    if start < 0:
        return None
    end = raw.find(b"</uuid>", start)
    if end < 0:
        return None
    text = raw[start + 6:end].strip().replace(b"-", b"")
    try:
        uuid = bytes.fromhex(text.decode("ascii"))
    except ValueError:
        return None
    return uuid if len(uuid) == 16 else None


def unescape_attr(value: str) -> str:
    return (value.replace("&apos;", "'").replace("&quot;", '"').replace("&lt;", "<")
            .replace("&gt;", ">").replace("&amp;", "&"))


def status_attrs(first_line: str) -> dict[str, str]:
    """The root attributes of a status document's first line.

    The writer (:meth:`.status.StatusDoc.format`) single-quotes every value and escapes
    quotes inside it, so splitting on ``'`` yields ``key=`` / value pairs.
    """
    parts = first_line.split("'")
    attrs: dict[str, str] = {}
    for i in range(0, len(parts) - 1, 2):
        key = parts[i].rstrip().rstrip("=").rsplit(None, 1)[-1] if parts[i].strip() else ""
        if key.isidentifier():
            attrs[key] = unescape_attr(parts[i + 1])
    return attrs


def proc_start_time(pid: int) -> int | None:
    """Start time of pid in clock ticks since boot, or None if there is no such process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # comm (field 2) may contain spaces and parens: split after the last ')'.
    return int(raw[raw.rindex(b")") + 2:].split()[19])


def pid_alive_as(pid: int, start_time: int) -> bool:
    """True if pid is the process that was started (not a reused pid) and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return False
    rest = raw[raw.rindex(b")") + 2:]
    return int(rest.split()[19]) == start_time and rest[:1] not in (b"Z", b"X")


def _dir_names(path: str) -> list[str]:
    """Every name in path, in directory order (the order Path.glob yields them in)."""
    try:
        with os.scandir(path) as it:
            return [e.name for e in it]
    except (FileNotFoundError, NotADirectoryError):
        return []


def _xml_stems(names: list[str]) -> list[str]:
    """``NAME`` of every ``NAME.xml`` (Path.glob("*.xml") matches dot-files too)."""
    return [n[:-4] for n in names if n.endswith(".xml")]


def _read_until(path: str, marker: bytes) -> bytes:
    """The file's bytes at least up to the first ``marker`` (or all of it): a listing
    reads one small prefix per domain instead of whole files through the io stack."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = b""
        while True:
            chunk = os.read(fd, 4096)
            if not chunk:
                return data
            start = max(0, len(data) - len(marker))
            data += chunk
            if data.find(marker, start) >= 0:
                return data
    finally:
        os.close(fd)


def list_flags_match(flags: int, active: bool, persistent: bool, autostart: bool,
                     state: int, managed_save: bool = False, has_snapshot: bool = False) -> bool:
    """virConnectListAllDomains' filter for the QEMU driver (no checkpoint metadata is ever
    kept, so that pair filters as 'without')."""

    def pair(yes: int, no: int, value: bool) -> bool:
        if flags & (yes | no) in (0, yes | no):
            return True
        return bool(flags & yes) == value

    if not (pair(F_ACTIVE, F_INACTIVE, active) and pair(F_PERSISTENT, F_TRANSIENT, persistent)
            and pair(F_AUTOSTART, F_NO_AUTOSTART, autostart)
            and pair(F_MANAGEDSAVE, F_NO_MANAGEDSAVE, managed_save)
            and pair(F_HAS_SNAPSHOT, F_NO_SNAPSHOT, has_snapshot)
            and pair(F_HAS_CHECKPOINT, F_NO_CHECKPOINT, False)):
        return False
    if flags & (F_RUNNING | F_PAUSED | F_SHUTOFF | F_OTHER):
        return bool(
            (flags & F_RUNNING and state == _RUNNING)
            or (flags & F_PAUSED and state == _PAUSED)
            or (flags & F_SHUTOFF and state == _SHUTOFF)
            or (flags & F_OTHER and state not in (_RUNNING, _PAUSED, _SHUTOFF)))
    return True


def managed_saved_names(lib_dir: str) -> set[str]:
    """Domains with a managed save image (``LIB_DIR/save/NAME.save``, see .save)."""
    return {n[:-5] for n in _dir_names(os.path.join(lib_dir, "save")) if n.endswith(".save")}


def snapshot_owner_names(lib_dir: str) -> set[str]:
    """Domains with snapshot metadata: a ``LIB_DIR/snapshot/NAME/`` holding at least one
    ``*.xml`` (see .snapshot_meta). The full driver's list filter uses this too, so both
    paths count the same files."""
    root = os.path.join(lib_dir, "snapshot")
    return {n for n in _dir_names(root) if _xml_stems(_dir_names(os.path.join(root, n)))}


# ---------------------------------------------------------------- the view
class DomainEntry:
    """One domain as the files describe it. ``name``/``uuid``/``id`` are what a
    :class:`pyvirt.drivers.base.DomainRef` carries, so callers can use either."""

    __slots__ = (
        "autostart",
        "id",
        "name",
        "persistent",
        "pid",
        "reason",
        "start_time",
        "state",
        "uuid",
    )

    def __init__(self, name: str, uuid: bytes) -> None:
        self.name = name
        self.uuid = uuid
        self.id = -1
        self.state = _SHUTOFF
        self.reason = 0
        self.persistent = True
        self.autostart = False
        self.pid = 0
        self.start_time = 0  # field 22 of /proc/PID/stat: guards against pid reuse

    @property
    def active(self) -> bool:
        return self.id >= 0

    def __repr__(self) -> str:
        return f"DomainEntry({self.name!r}, id={self.id}, state={self.state})"


def _format_uuid(raw: bytes) -> str:
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _no_domain(what: str) -> VirtError:
    from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

    return VirtError(f"Domain not found: no domain with matching {what}", ErrorCode.NO_DOMAIN,
                     ErrorDomain.QEMU)


class QemuReadView:
    """Read-only answers for one qemu:/// connection, computed from its files.

    The methods are coroutines with the :class:`pyvirt.drivers.base.Driver` names and
    signatures so that callers written against the driver interface can use the view
    unchanged; none of them ever suspends (``inline``), so they can be driven without an
    event loop.
    """

    inline = True

    def __init__(self, uri: str, config_dir: str, run_dir: str, lib_dir: str | None = None) -> None:
        self._uri = uri
        self.config_dir = config_dir
        self.run_dir = run_dir
        # managed save images and snapshot metadata (list filters); None: the URI's default
        self.lib_dir = lib_dir if lib_dir is not None else light_lib_dir(uri)
        self.by_name: dict[str, DomainEntry] = {}
        self._shutoff: set[str] = set()  # names with a recorded shut-off reason

    @classmethod
    def open(cls, uri: str, config_dir: str, run_dir: str,
             lib_dir: str | None = None) -> QemuReadView | None:
        """Scan the files; ``None`` when only the full driver can answer (see module doc)."""
        view = cls(uri, config_dir, run_dir, lib_dir)
        view._load()
        for e in view.by_name.values():
            if e.active and not (e.pid > 0 and pid_alive_as(e.pid, e.start_time)):
                return None
        return view

    def _load(self) -> None:
        # Mirrors DomainStore.load: definitions first, then status documents (which win).
        autostart = set(_xml_stems(_dir_names(os.path.join(self.config_dir, "autostart"))))
        for name in _xml_stems(_dir_names(self.config_dir)):
            try:
                # config_uuid takes the first <uuid>...</uuid>: a prefix holding it suffices
                uuid = config_uuid(_read_until(os.path.join(self.config_dir, name + ".xml"),
                                               b"</uuid>"))
            except OSError:
                continue
            if uuid is None:
                continue
            e = self.by_name[name] = DomainEntry(name, uuid)
            e.autostart = name in autostart
        run_names = _dir_names(self.run_dir)
        self._shutoff = {n[:-8] for n in run_names if n.endswith(".shutoff")}
        for stem in _xml_stems(run_names):
            try:
                raw = _read_until(os.path.join(self.run_dir, stem + ".xml"), b"\n")
            except OSError:
                continue
            a = status_attrs(raw.split(b"\n", 1)[0].decode("utf-8", "replace"))
            if "name" not in a:
                continue
            name = a["name"]
            e = self.by_name.get(name) or DomainEntry(
                name, bytes.fromhex(a.get("uuid", "").replace("-", "")))
            self.by_name[name] = e
            e.id = int(a.get("id", -1))
            e.state = int(a.get("state", _SHUTOFF))
            e.reason = int(a.get("reason", 0))
            e.persistent = a.get("persistent", "1") == "1"
            e.pid = int(a.get("pid", 0))
            e.start_time = int(a.get("starttime", 0))

    # ------------------------------------------------------------ Driver-shaped reads
    def uri(self) -> str:
        return self._uri

    async def close(self) -> None:
        return None

    def _entry(self, dom: DomainEntry) -> DomainEntry:
        e = self.by_name.get(dom.name)
        if e is None or e.uuid != dom.uuid:
            e = next((o for o in self.by_name.values() if o.uuid == dom.uuid), None)
        if e is None:
            raise _no_domain(f"uuid '{_format_uuid(dom.uuid)}' ({dom.name})")
        return e

    async def list_all_domains(self, flags: int = 0) -> list[DomainEntry]:
        # the lib dir is read only when a filter asks (as the full driver does)
        lib = self.lib_dir
        saved = (managed_saved_names(lib) if lib and flags & (F_MANAGEDSAVE | F_NO_MANAGEDSAVE)
                 else set())
        snapped = (snapshot_owner_names(lib) if lib and flags & (F_HAS_SNAPSHOT | F_NO_SNAPSHOT)
                   else set())
        out = [e for e in self.by_name.values()
               if list_flags_match(flags, e.active, e.persistent, e.autostart, e.state,
                                   e.name in saved, e.name in snapped)]
        out.sort(key=lambda e: (not e.active, e.id, e.name))
        return out

    async def lookup_by_name(self, name: str) -> DomainEntry:
        e = self.by_name.get(name)
        if e is None:
            raise _no_domain(f"name '{name}'")
        return e

    async def lookup_by_uuid(self, uuid: bytes) -> DomainEntry:
        for e in self.by_name.values():
            if e.uuid == uuid:
                return e
        raise _no_domain(f"uuid '{_format_uuid(uuid)}'")

    async def lookup_by_id(self, id: int) -> DomainEntry:
        for e in self.by_name.values():
            if e.active and e.id == id:
                return e
        raise _no_domain(f"id {id}")

    async def get_state(self, dom: DomainEntry, flags: int = 0) -> tuple[int, int]:
        if flags:
            from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

            raise VirtError(f"unsupported flags (0x{flags:x}) in function qemuDomainGetState",
                            ErrorCode.INVALID_ARG, ErrorDomain.QEMU)
        e = self._entry(dom)
        if not e.active:
            self._load_shutoff_reason(e)
        return e.state, e.reason

    def _load_shutoff_reason(self, e: DomainEntry) -> None:
        # the shut-off reason outlives the process that recorded it (DomainStore); the
        # scan saw which files exist, so listing 1000 domains opens no missing ones
        if e.name not in self._shutoff:
            return
        try:
            with open(os.path.join(self.run_dir, e.name + ".shutoff")) as f:
                e.reason = int(f.read().strip() or 0)
        except (OSError, ValueError):
            pass

    async def is_active(self, dom: DomainEntry) -> bool:
        return self._entry(dom).active

    async def is_persistent(self, dom: DomainEntry) -> bool:
        return self._entry(dom).persistent

    async def get_autostart(self, dom: DomainEntry) -> bool:
        return self._entry(dom).autostart


# ---------------------------------------------------------------- which URIs qualify
def light_dirs(uri: str) -> tuple[str, str] | None:
    """(config dir, run dir) of the plain forms ``qemu:///system``, ``qemu:///session`` and
    ``qemu:///embed?root=/ABS``, laid out as :class:`.paths.QemuPaths` does (a test holds
    the two together); ``None`` for anything else, which the full driver then handles
    (and reports errors for)."""
    if uri == "qemu:///system":
        return "/etc/pyvirt/qemu", "/run/pyvirt/qemu"
    env = os.environ
    if uri == "qemu:///session":
        home = os.path.expanduser("~")
        cfg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        cache = env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache")
        run = env.get("XDG_RUNTIME_DIR") or cache
        return os.path.join(cfg, "pyvirt", "qemu"), os.path.join(run, "pyvirt", "qemu")
    prefix = "qemu:///embed?root="
    if uri.startswith(prefix):
        root = uri[len(prefix):]
        # escapes, more parameters or a relative root: leave it to the real URI parser
        if not root.startswith("/") or any(c in root for c in "%&+#;"):
            return None
        root = os.path.realpath(root)
        return os.path.join(root, "etc", "qemu"), os.path.join(root, "run", "qemu")
    return None


def light_lib_dir(uri: str) -> str | None:
    """The lib dir (:attr:`.paths.QemuPaths.lib_dir`) of the URI forms :func:`light_dirs`
    accepts; ``None`` for anything else."""
    if light_dirs(uri) is None:
        return None
    if uri == "qemu:///system":
        return "/var/lib/pyvirt/qemu"
    if uri == "qemu:///session":
        data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                               "share")
        return os.path.join(data, "pyvirt", "qemu")
    root = os.path.realpath(uri[len("qemu:///embed?root="):])
    return os.path.join(root, "lib", "qemu")
