"""Where the QEMU driver keeps its files, per connection URI flavour.

``qemu:///system`` uses the system dirs (root), ``qemu:///session`` the user's XDG dirs and
``qemu:///embed?root=DIR`` puts everything under DIR (tests and embedding applications).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError


@dataclass(frozen=True, slots=True)
class QemuPaths:
    uri: str
    config_dir: Path  # persistent definitions NAME.xml, autostart/
    run_dir: Path  # status NAME.xml, monitor sockets, locks, next id
    lib_dir: Path  # per-domain state (images, nvram...)
    cache_dir: Path  # capabilities cache
    log_dir: Path  # NAME.log (QEMU stderr + our start lines)

    @property
    def autostart_dir(self) -> Path:
        return self.config_dir / "autostart"

    def snapshot_dir(self, name: str) -> Path:
        """A domain's snapshot metadata (one XML file per snapshot)."""
        return self.lib_dir / "snapshot" / name

    def ensure(self) -> None:
        for d in (self.config_dir, self.autostart_dir, self.run_dir, self.lib_dir, self.cache_dir, self.log_dir):
            d.mkdir(parents=True, exist_ok=True)

    @classmethod
    def system(cls) -> QemuPaths:
        return cls(
            "qemu:///system",
            Path("/etc/pyvirt/qemu"),
            Path("/run/pyvirt/qemu"),
            Path("/var/lib/pyvirt/qemu"),
            Path("/var/cache/pyvirt/qemu"),
            Path("/var/log/pyvirt/qemu"),
        )

    @classmethod
    def session(cls) -> QemuPaths:
        home = Path.home()
        cfg = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
        cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
        run = Path(os.environ.get("XDG_RUNTIME_DIR") or cache)
        return cls(
            "qemu:///session",
            cfg / "pyvirt" / "qemu",
            run / "pyvirt" / "qemu",
            data / "pyvirt" / "qemu",
            cache / "pyvirt" / "qemu",
            cache / "pyvirt" / "qemu" / "log",
        )

    @classmethod
    def embed(cls, root: Path) -> QemuPaths:
        root = root.resolve()
        return cls(
            f"qemu:///embed?root={root}",
            root / "etc" / "qemu",
            root / "run" / "qemu",
            root / "lib" / "qemu",
            root / "cache" / "qemu",
            root / "log" / "qemu",
        )

    @classmethod
    def from_uri(cls, uri: str) -> QemuPaths:
        """Map a qemu URI to its dirs; raises VIR_ERR_INVALID_ARG style errors like libvirt."""
        parts = urlsplit(uri)
        scheme = parts.scheme.split("+", 1)[0]
        if scheme != "qemu" or parts.netloc not in ("", "localhost"):
            raise VirtError(f"unsupported URI {uri}", ErrorCode.NO_CONNECT, ErrorDomain.QEMU)
        path = parts.path.rstrip("/") or "/"
        if path == "/system":
            return cls.system()
        if path == "/session":
            return cls.session()
        if path == "/embed":
            root = parse_qs(parts.query).get("root")
            if not root or not root[0].startswith("/"):
                raise VirtError(
                    "internal error: Embedded URI must have a absolute 'root' parameter"
                    if root else "internal error: URI must have 'root' parameter",
                    ErrorCode.INTERNAL_ERROR,
                    ErrorDomain.QEMU,
                )
            return cls.embed(Path(root[0]))
        raise VirtError(
            f"internal error: unexpected QEMU URI path '{parts.path}', try qemu:///system",
            ErrorCode.INTERNAL_ERROR,
            ErrorDomain.QEMU,
        )
