"""pyvirtd configuration: where state and sockets live, which drivers a URI opens."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.drivers.base import Driver
from pyvirt.drivers.test.node import TestNodeHub
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

SYSTEM_RUN_DIR = Path("/run/pyvirt")


@dataclass
class DaemonConfig:
    """``root`` set: everything (state and sockets) under it, for tests and side-by-side
    daemons. Otherwise the system locations (or the session ones with ``session``)."""

    root: Path | None = None
    session: bool = False
    idle_timeout: float = 0.0  # seconds without clients before exiting; 0 = never
    keepalive_interval: float = 5.0
    keepalive_count: int = 5
    # One test:///default node per daemon (shared by its connections, reset when the last
    # one closes), not per process, so two daemons in one process stay independent.
    test_hub: TestNodeHub = field(default_factory=TestNodeHub)

    @property
    def run_dir(self) -> Path:
        if self.root is not None:
            return self.root / "run"
        if self.session:
            xdg = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
            return Path(xdg) / "pyvirt"
        return SYSTEM_RUN_DIR

    @property
    def state_dir(self) -> Path:
        if self.root is not None:
            return self.root
        if self.session:
            return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "pyvirt"
        return Path("/var/lib/pyvirt")

    @property
    def rw_socket(self) -> Path:
        return self.run_dir / "libvirt-sock"

    @property
    def ro_socket(self) -> Path:
        return self.run_dir / "libvirt-sock-ro"

    @property
    def default_uri(self) -> str:
        return "qemu:///session" if self.session else "qemu:///system"

    async def open_driver(self, name: str | None, readonly: bool) -> Driver:
        """Open the driver for a CONNECT_OPEN URI (the daemon side of virConnectOpen)."""
        uri = name or self.default_uri
        scheme = uri.split(":", 1)[0]
        if scheme == "test":
            from pyvirt.drivers.test.driver import TestDriver

            return TestDriver(uri, hub=self.test_hub)
        if scheme == "qemu":
            return await self._open_qemu(uri)
        raise VirtError(
            f"no connection driver available for {uri}", ErrorCode.NO_CONNECT, ErrorDomain.NONE
        )

    async def _open_qemu(self, uri: str) -> Driver:
        try:
            from pyvirt.aio import open_driver  # type: ignore[attr-defined]
        except ImportError:
            open_driver = None
        if open_driver is not None:
            drv = await open_driver(uri, root=self.state_dir if self.root else None)
            assert isinstance(drv, Driver)
            return drv
        try:
            from pyvirt.drivers.qemu.driver import QemuDriver  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise VirtError(
                f"no connection driver available for {uri}", ErrorCode.NO_CONNECT, ErrorDomain.NONE
            ) from None
        drv = QemuDriver(uri, root=self.state_dir if self.root else None)
        assert isinstance(drv, Driver)
        return drv
