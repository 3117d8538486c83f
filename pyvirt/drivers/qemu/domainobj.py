"""DomainObj: a domain's definition, live definition, state + reason, job and runtime.

Definitions are the project's domain model (:mod:`pyvirt.conf.domain`): the driver parses
what a client sends with :func:`parse_domain`, adds QEMU's defaults
(:mod:`pyvirt.drivers.qemu.postparse`) and persists libvirt's canonical inactive XML;
:class:`DomainDefinition` wraps one parsed :class:`DomainDef`.
"""

from __future__ import annotations

import contextlib
import copy
import re
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyvirt.drivers.base import DomainRef
from pyvirt.drivers.qemu.jobs import DomainJob
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.qemu.status import StatusDoc, atomic_write, unescape_attr, write_status_file
from pyvirt.enums import DomainState, ShutoffReason

if TYPE_CHECKING:
    from pyvirt.conf.domain import DomainDef

DEFAULT_EMULATOR = "/usr/bin/qemu-system-x86_64"


def format_uuid(raw: bytes) -> str:
    return str(uuidlib.UUID(bytes=raw))


@dataclass
class DomainDefinition:
    """One parsed definition (the domain model) plus the facts the runtime needs."""

    model: DomainDef

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def uuid(self) -> bytes:
        return uuidlib.UUID(self.model.uuid).bytes

    @property
    def uuid_str(self) -> str:
        return self.model.uuid

    @property
    def emulator(self) -> str:
        return self.model.devices.emulator or DEFAULT_EMULATOR

    def action(self, tag: str) -> str:
        """on_poweroff / on_reboot / on_crash as the XML spells it."""
        return str(getattr(self.model, tag))

    def format(self) -> str:
        """libvirt's canonical inactive XML (what define persists and dumpxml --inactive shows)."""
        from pyvirt.conf.domain import format_domain

        return format_domain(self.model, inactive=True)

    def copy(self) -> DomainDefinition:
        return DomainDefinition(copy.deepcopy(self.model))

    @classmethod
    def parse(cls, xml: str) -> DomainDefinition:
        """Re-read XML this driver wrote (stored definition or live XML); raises VirtError.

        Client XML goes through :meth:`Lifecycle.parse` instead, which also applies QEMU's
        defaults and checks.
        """
        from pyvirt.conf.domain import parse_domain

        return cls(parse_domain(xml, reread=True))


@dataclass
class DomainObj:
    """Runtime object of one domain. Mutated only under its job (or by its event worker).

    The definition is parsed lazily: listing 1000 domains needs names, uuids and states,
    which come from a cheap scan of the files, not from parsing every definition.
    """

    name: str
    uuid: bytes
    job: DomainJob
    config_xml: str | None = None  # persistent (or transient) inactive XML text, unparsed
    persistent: bool = True
    _live_xml: str | None = field(default=None, repr=False)  # live XML text while active
    next_xml: str | None = None  # definition for the next boot when redefined while running
    id: int = -1
    state: DomainState = DomainState.SHUTOFF
    reason: int = int(ShutoffReason.UNKNOWN)
    pid: int = 0
    start_time: int = 0
    monitor_path: str = ""
    autostart: bool = False
    runtime: Any = field(default=None, repr=False)  # events.DomainRuntime while attached
    _def: DomainDefinition | None = field(default=None, repr=False)

    @property
    def definition(self) -> DomainDefinition:
        if self._def is None:
            self._def = DomainDefinition.parse(self.config_xml or "")
        return self._def

    def set_definition(self, d: DomainDefinition) -> None:
        self._def = d
        self.config_xml = d.format()

    @property
    def live_xml(self) -> str | None:
        # A status document read by the cheap scan carries the whole file text; extract
        # the live XML only when somebody asks for it (dumpxml, start of a job).
        if isinstance(self._live_xml, _LazyLive):
            self._live_xml = StatusDoc.parse(str(self._live_xml)).live_xml
        return self._live_xml

    @live_xml.setter
    def live_xml(self, value: str | None) -> None:
        self._live_xml = value

    @property
    def active(self) -> bool:
        return self.id >= 0

    def ref(self) -> DomainRef:
        return DomainRef(self.name, self.uuid, self.id)

    def set_state(self, state: DomainState, reason: int) -> None:
        self.state = state
        self.reason = int(reason)

    def to_status(self) -> StatusDoc:
        return StatusDoc(
            name=self.name, uuid=format_uuid(self.uuid), id=self.id, pid=self.pid,
            start_time=self.start_time, monitor=self.monitor_path, state=int(self.state),
            reason=self.reason, live_xml=self.live_xml or "", persistent=self.persistent,
        )

    def apply_status(self, st: StatusDoc) -> None:
        self.id, self.pid, self.start_time = st.id, st.pid, st.start_time
        self.monitor_path = st.monitor
        self.state, self.reason = DomainState(st.state), st.reason
        self.live_xml = st.live_xml
        self.persistent = st.persistent

    def mark_inactive(self, reason: ShutoffReason) -> None:
        self.id, self.pid, self.start_time, self.monitor_path = -1, 0, 0, ""
        self.live_xml = None
        self.set_state(DomainState.SHUTOFF, reason)
        if self.next_xml is not None:
            self.config_xml, self._def, self.next_xml = self.next_xml, None, None


def domain_dir(run_dir: Path, dom_id: int, name: str) -> Path:
    """Per-run private dir (monitor socket, agent socket), like libvirt's domain-ID-NAME."""
    # libvirt shortens the name to keep unix socket paths under 108 bytes; so do we.
    return run_dir / f"domain-{dom_id}-{name[:20]}"


_UUID_RE = re.compile(rb"<uuid>\s*([0-9a-fA-F-]+)\s*</uuid>")
_ATTR_RE = re.compile(r"(\w+)='([^']*)'")


class DomainStore:
    """The driver's domain list, loaded from (and saved to) the config and run dirs."""

    def __init__(self, paths: QemuPaths) -> None:
        self.paths = paths
        self.by_name: dict[str, DomainObj] = {}

    def new_obj(self, name: str, uuid: bytes) -> DomainObj:
        obj = DomainObj(name, uuid, DomainJob(self.paths.run_dir / f"{name}.lock"))
        self.by_name[name] = obj
        return obj

    def load(self) -> None:
        """Scan the dirs (again). Cheap: reads each file but parses only the uuid / root attributes.

        Objects already known are refreshed in place, so a rescan keeps their job locks.
        """
        cfg, run = self.paths.config_dir, self.paths.run_dir
        autostart = {p.stem for p in self.paths.autostart_dir.glob("*.xml")} if self.paths.autostart_dir.is_dir() else set()
        for p in cfg.glob("*.xml") if cfg.is_dir() else ():
            known = self.by_name.get(p.stem)
            if known is not None:
                self.refresh(known)
                continue
            raw = p.read_bytes()
            m = _UUID_RE.search(raw)
            if m is None:
                continue
            obj = self.new_obj(p.stem, bytes.fromhex(m.group(1).decode().replace("-", "")))
            obj.config_xml = raw.decode()
            obj.autostart = p.stem in autostart
        for p in run.glob("*.xml") if run.is_dir() else ():
            st = self.read_status(p)
            if st is None:
                continue
            found = self.by_name.get(st.name)
            if found is not None and found.runtime is not None:
                continue  # attached: our in-memory state is the authority
            obj = found if found is not None else self.new_obj(st.name, bytes.fromhex(st.uuid.replace("-", "")))
            obj.apply_status(st)
            if not st.persistent:
                obj.config_xml = None  # transient: the definition is the live XML's inactive form

    @staticmethod
    def read_status(path: Path) -> StatusDoc | None:
        try:
            text = path.read_text()
        except OSError:
            return None
        first = text.split("\n", 1)[0]
        attrs = {k: unescape_attr(v) for k, v in _ATTR_RE.findall(first)}
        if "name" not in attrs:
            return None
        # the live XML is parsed only when asked for (dumpxml), via StatusDoc.parse
        return StatusDoc(
            name=attrs["name"], uuid=attrs.get("uuid", ""), id=int(attrs.get("id", -1)),
            pid=int(attrs.get("pid", 0)), start_time=int(attrs.get("starttime", 0)),
            monitor=attrs.get("monitor", ""), state=int(attrs.get("state", 5)),
            reason=int(attrs.get("reason", 0)), live_xml=_LazyLive(text),
            persistent=attrs.get("persistent", "1") == "1",
        )

    def refresh(self, obj: DomainObj) -> None:
        """Re-read obj's files (another process may have changed them). The status file
        is skipped while this process is attached to the domain (as in :meth:`load`): only
        the holder of the QEMU monitor writes it, so our in-memory state is the authority
        and re-reading it would only cost a read and a parse per call."""
        if obj.runtime is None:
            st = self.read_status(self.status_path(obj.name))
            if st is not None:
                obj.apply_status(st)
            elif obj.active:
                obj.mark_inactive(ShutoffReason.UNKNOWN)
        cfgp = self.config_path(obj.name)
        if cfgp.exists():
            text = cfgp.read_text()
            if text != obj.config_xml:
                obj.config_xml, obj._def = text, None
            obj.persistent = True
        obj.autostart = (self.paths.autostart_dir / f"{obj.name}.xml").exists()

    # The shut-off reason outlives the process that recorded it (one-shot pyvirsh runs
    # follow each other), in a one-line file read only when a single domain is queried.
    def shutoff_path(self, name: str) -> Path:
        return self.paths.run_dir / f"{name}.shutoff"

    def save_shutoff_reason(self, obj: DomainObj) -> None:
        atomic_write(self.shutoff_path(obj.name), f"{obj.reason}\n")

    def load_shutoff_reason(self, obj: DomainObj) -> None:
        if obj.active:
            return
        try:
            obj.reason = int(self.shutoff_path(obj.name).read_text().strip() or 0)
        except (OSError, ValueError):
            pass

    def clear_shutoff_reason(self, obj: DomainObj) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.shutoff_path(obj.name).unlink()

    def status_path(self, name: str) -> Path:
        return self.paths.run_dir / f"{name}.xml"

    def config_path(self, name: str) -> Path:
        return self.paths.config_dir / f"{name}.xml"

    def save_status(self, obj: DomainObj) -> None:
        write_status_file(self.status_path(obj.name), obj.to_status().format())  # no fsync: status.py

    def remove_status(self, obj: DomainObj) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.status_path(obj.name).unlink()

    def save_config(self, obj: DomainObj) -> None:
        atomic_write(self.config_path(obj.name), obj.config_xml or "")

    def remove_config(self, obj: DomainObj) -> None:
        for p in (self.config_path(obj.name), self.paths.autostart_dir / f"{obj.name}.xml"):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()


class _LazyLive(str):
    """The status file text standing in for its live XML until someone needs it."""

    __slots__ = ()

