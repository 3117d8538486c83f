"""pyvirtd configuration: where state and sockets live, which drivers a URI opens."""

from __future__ import annotations

import logging
import os
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.drivers.base import Driver
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pyvirt.drivers.test.node import TestNodeHub

log = logging.getLogger(__name__)

SYSTEM_RUN_DIR = Path("/run/pyvirt")


@dataclass
class TLSConfig:
    """The optional TCP+TLS listener, libvirt's defaults: port 16514, certificates in /etc/pki."""

    host: str = "0.0.0.0"
    port: int = 16514
    cert: Path = Path("/etc/pki/libvirt/servercert.pem")
    key: Path = Path("/etc/pki/libvirt/private/serverkey.pem")
    ca: Path = Path("/etc/pki/CA/cacert.pem")
    # libvirtd.conf's tls_allowed_dn_list: glob patterns for the client certificate's DN;
    # None checks nothing, an empty list refuses every client
    allowed_dn_list: list[str] | None = None

    def context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(self.ca))
        ctx.load_cert_chain(str(self.cert), str(self.key))
        ctx.verify_mode = ssl.CERT_REQUIRED  # x509 client certificates are the authentication
        # No TLS 1.3 session tickets: libvirt's client polls for the confirmation byte right
        # after the handshake, and a ticket record there makes its read fail with EAGAIN.
        ctx.num_tickets = 0
        return ctx


@dataclass
class DaemonConfig:
    """``root`` set: everything (state and sockets) under it, for tests and side-by-side
    daemons. Otherwise the system locations (or the session ones with ``session``)."""

    root: Path | None = None
    session: bool = False
    idle_timeout: float = 0.0  # seconds without clients before exiting; 0 = never
    keepalive_interval: float = 5.0
    keepalive_count: int = 5
    # Open qemu:///system (or session) at start and reattach to the guests a previous
    # daemon left running, so their events flow before any client asks.
    reattach: bool = True
    tls: TLSConfig | None = None  # off by default, as in libvirtd
    # False: behave like a daemon without callback events (clients fall back to the old
    # CONNECT_DOMAIN_EVENT_REGISTER[_ANY] procedures; for tests and old-client checks)
    event_callbacks: bool = True
    # One test:///default node per daemon (shared by its connections, reset when the last
    # one closes), not per process, so two daemons in one process stay independent.
    # Created with the first test:// connection: the test driver's modules are ~5 ms of a
    # daemon start that most daemons never use.
    _test_hub: TestNodeHub | None = field(default=None, init=False, repr=False)
    _shared: dict[str, Driver] = field(default_factory=dict)

    @property
    def test_hub(self) -> TestNodeHub:
        if self._test_hub is None:
            from pyvirt.drivers.test.node import TestNodeHub

            self._test_hub = TestNodeHub()
        return self._test_hub

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
        """Open the driver for a CONNECT_OPEN URI (the daemon side of virConnectOpen).

        test:// gives each connection its own driver over the daemon's shared node; qemu://
        connections share one driver per URI (one set of domain objects and jobs, as in
        libvirtd), kept open until the daemon stops.
        """
        uri = name or self.default_uri
        scheme = uri.split(":", 1)[0]
        if scheme == "test":
            from pyvirt.drivers.test.driver import TestDriver

            return TestDriver(uri, hub=self.test_hub)
        if scheme == "qemu":
            key = uri.split("?", 1)[0].rstrip("/")
            drv = self._shared.get(key)
            if drv is None:
                drv = self._shared[key] = await self._open_qemu(uri)
            return drv
        raise VirtError(
            f"no connection driver available for {uri}", ErrorCode.NO_CONNECT, ErrorDomain.NONE
        )

    async def reattach_qemu(self) -> None:
        try:
            drv = await self.open_driver(self.default_uri, False)
        except VirtError as e:
            log.info("not reattaching QEMU guests: %s", e.message)
            return
        reconnect = getattr(drv, "reconnect_all", None)
        if reconnect is not None:
            await reconnect()
        # Autostart once per boot, as libvirt does (virDriverShouldAutostart): a marker in
        # the runtime dir, which a reboot clears, keeps a daemon restart from starting
        # again the domains the user shut down meanwhile.
        autostart = getattr(drv, "autostart_all", None)
        marker = self.run_dir / "qemu-autostarted"
        if autostart is not None and not marker.exists():
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
            # storage pools first, as libvirt's storage driver does: guests may use them
            pools = getattr(drv, "autostart_storage_pools", None)
            if pools is not None:
                await pools()
            started = await autostart()
            if started:
                log.info("autostarted: %s", ", ".join(started))

    async def release_driver(self, drv: Driver) -> None:
        """A connection is done with ``drv``: close it unless it is shared."""
        if drv not in self._shared.values():
            await drv.close()

    async def close_shared(self) -> None:
        # QEMU drivers detach from their monitors; guests keep running for the next daemon.
        drivers, self._shared = list(self._shared.values()), {}
        for drv in drivers:
            await drv.close()

    async def _open_qemu(self, uri: str) -> Driver:
        try:
            from pyvirt.drivers.qemu.driver import QemuDriver
            from pyvirt.drivers.qemu.paths import QemuPaths
        except ImportError:
            log.warning("QEMU driver unavailable", exc_info=True)
            raise VirtError(
                f"no connection driver available for {uri}", ErrorCode.NO_CONNECT, ErrorDomain.NONE
            ) from None
        if self.root is None:
            return await QemuDriver.open(uri)
        # --root: the URI keeps its name (clients see qemu:///system) but all state lives
        # under the root, laid out like an embedded driver's.
        QemuPaths.from_uri(uri)  # same URI validation and errors as in-process
        emb = QemuPaths.embed(self.root)
        paths = QemuPaths(uri.split("?", 1)[0], emb.config_dir, emb.run_dir, emb.lib_dir,
                          emb.cache_dir, emb.log_dir)  # fmt: skip
        return await QemuDriver.open_paths(paths)
