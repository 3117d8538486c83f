"""Pool objects and their persistence: definitions in <config>/storage/NAME.xml, autostart
symlinks in <config>/storage/autostart/, live status in <run>/storage/NAME.xml (present while
the pool is active, so a restarted daemon knows which pools were running)."""

from __future__ import annotations

import os
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.conf.storage.pool import PoolDef, parse_pool_xml
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError


def err(code: ErrorCode, msg: str) -> VirtError:
    return VirtError(msg, code, ErrorDomain.STORAGE)


@dataclass(slots=True)
class PoolObj:
    defn: PoolDef
    active: bool = False
    persistent: bool = True
    autostart: bool = False
    # Volumes created from XML since the pool was last scanned (start, refresh, daemon start).
    # libvirt keeps their definition as given until the next scan, so their live XML lacks
    # the probed details (cluster size) that scanned volumes show.
    unscanned: set[str] = field(default_factory=set)

    @property
    def uuid_bytes(self) -> bytes:
        return uuidlib.UUID(self.defn.uuid).bytes


@dataclass(slots=True)
class PoolStore:
    config_dir: Path
    run_dir: Path

    @property
    def autostart_dir(self) -> Path:
        return self.config_dir / "autostart"

    def ensure(self) -> None:
        for d in (self.config_dir, self.autostart_dir, self.run_dir):
            d.mkdir(parents=True, exist_ok=True)

    def load(self) -> dict[str, PoolObj]:
        pools: dict[str, PoolObj] = {}
        if not self.config_dir.is_dir():
            return pools
        for f in sorted(self.config_dir.glob("*.xml")):
            try:
                defn = parse_pool_xml(f.read_text())
            except (VirtError, OSError):
                continue  # a broken file must not stop the others (libvirt logs and skips)
            obj = PoolObj(defn, persistent=True)
            obj.autostart = (self.autostart_dir / f.name).is_symlink()
            obj.active = (self.run_dir / f.name).exists()
            pools[defn.name] = obj
        for f in sorted(self.run_dir.glob("*.xml")) if self.run_dir.is_dir() else ():
            name = f.stem
            if name not in pools:  # transient pool that was running
                try:
                    pools[name] = PoolObj(parse_pool_xml(f.read_text()), active=True,
                                          persistent=False)
                except (VirtError, OSError):
                    continue
        return pools

    def save_config(self, obj: PoolObj) -> None:
        _atomic_write(self.config_dir / f"{obj.defn.name}.xml", obj.defn.format())

    def delete_config(self, name: str) -> None:
        for p in (self.config_dir / f"{name}.xml", self.autostart_dir / f"{name}.xml"):
            p.unlink(missing_ok=True)

    def save_status(self, obj: PoolObj) -> None:
        _atomic_write(self.run_dir / f"{obj.defn.name}.xml", obj.defn.format())

    def delete_status(self, name: str) -> None:
        (self.run_dir / f"{name}.xml").unlink(missing_ok=True)

    def set_autostart(self, name: str, on: bool) -> None:
        link = self.autostart_dir / f"{name}.xml"
        if on:
            if not link.is_symlink():
                link.symlink_to(self.config_dir / f"{name}.xml")
        else:
            link.unlink(missing_ok=True)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
