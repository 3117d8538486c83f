"""pyvirtd: serve libvirt's remote protocol on unix sockets.

``pyvirtd --root DIR`` keeps its state under DIR and listens on DIR/run/libvirt-sock (rw,
0600) and DIR/run/libvirt-sock-ro (0666, read-only procedures only). Without --root it
uses /run/pyvirt (system) or $XDG_RUNTIME_DIR/pyvirt (--session).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from pyvirt.daemon.config import DaemonConfig, TLSConfig
from pyvirt.remote.dispatch import RemoteProgram
from pyvirt.rpc.server import ListenerSpec, RPCServer

log = logging.getLogger("pyvirtd")


class Daemon:
    def __init__(self, cfg: DaemonConfig) -> None:
        self.cfg = cfg
        prog = RemoteProgram(
            cfg.open_driver,
            cfg.release_driver,
            keepalive_interval=cfg.keepalive_interval,
            keepalive_count=cfg.keepalive_count,
            event_callbacks=cfg.event_callbacks,
        )
        self.server = RPCServer(prog)
        self.tls_port: int | None = None

    async def start(self) -> None:
        self.cfg.run_dir.mkdir(parents=True, exist_ok=True)
        if self.cfg.reattach:
            await self.cfg.reattach_qemu()
        await self.server.listen_unix(ListenerSpec(str(self.cfg.rw_socket), 0o600, False))
        await self.server.listen_unix(ListenerSpec(str(self.cfg.ro_socket), 0o666, True))
        if self.cfg.tls is not None:
            t = self.cfg.tls
            acl = None
            if t.allowed_dn_list is not None:
                from pyvirt.rpc.tlsacl import DnAllowList

                acl = DnAllowList(t.allowed_dn_list)
            self.tls_port = await self.server.listen_tls(t.host, t.port, t.context(), acl)

    async def stop(self) -> None:
        # Closing client drivers never stops guests: QEMU processes outlive the daemon.
        await self.server.close()
        await self.cfg.close_shared()

    async def run(self, stop: asyncio.Event) -> None:
        await self.start()
        log.info("listening on %s", self.cfg.rw_socket)
        try:
            if self.cfg.idle_timeout > 0:
                await self._wait_idle(stop)
            else:
                await stop.wait()
        finally:
            await self.stop()

    async def _wait_idle(self, stop: asyncio.Event) -> None:
        # Session daemons exit after idle_timeout seconds without clients, like libvirtd --timeout.
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.cfg.idle_timeout)
            except TimeoutError:
                if not self.server.clients:
                    return


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="pyvirtd", description="pyvirt daemon (libvirt remote protocol)")
    ap.add_argument("--root", type=Path, help="keep all state under DIR; sockets at DIR/run/")
    ap.add_argument("--session", action="store_true", help="per-user daemon ($XDG_RUNTIME_DIR)")
    ap.add_argument("--timeout", type=float, default=0.0, help="exit after SECONDS without clients")
    ap.add_argument("--listen-tls", metavar="[HOST:]PORT", help="also serve TCP+TLS (x509 client certs)")
    ap.add_argument("--tls-cert", type=Path, default=TLSConfig.cert)
    ap.add_argument("--tls-key", type=Path, default=TLSConfig.key)
    ap.add_argument("--tls-ca", type=Path, default=TLSConfig.ca)
    ap.add_argument("--tls-allowed-dn", action="append", metavar="PATTERN",
                    help="allow only clients whose certificate DN matches (repeatable; '*' and '?' globs)")
    ap.add_argument("--no-reattach", action="store_true",
                    help="do not reconnect to running QEMU guests at start")  # fmt: skip
    ap.add_argument("-v", "--verbose", action="store_true")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s pyvirtd %(levelname)s %(name)s: %(message)s",
    )
    tls = None
    if args.listen_tls:
        host, _, port = args.listen_tls.rpartition(":")
        tls = TLSConfig(host or "0.0.0.0", int(port), args.tls_cert, args.tls_key, args.tls_ca,
                        args.tls_allowed_dn)
    cfg = DaemonConfig(root=args.root.resolve() if args.root else None, session=args.session,
                       idle_timeout=args.timeout, reattach=not args.no_reattach, tls=tls)  # fmt: skip

    async def amain() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await Daemon(cfg).run(stop)

    try:
        asyncio.run(amain())
    except OSError as e:
        print(f"pyvirtd: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
