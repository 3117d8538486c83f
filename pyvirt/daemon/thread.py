"""Run a pyvirtd in a background thread of the current process (tests, embedding).

The daemon gets its own event loop, so blocking callers (subprocesses such as the real
virsh, the C library through python3-libvirt) can talk to it from the main thread.
"""

from __future__ import annotations

import asyncio
import threading
from types import TracebackType

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.main import Daemon


class DaemonThread:
    def __init__(self, cfg: DaemonConfig) -> None:
        self.cfg = cfg
        self.daemon = Daemon(cfg)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="pyvirtd", daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self._stop = asyncio.Event()
            try:
                await self.daemon.start()
            except BaseException as e:  # noqa: BLE001 - reported to the starting thread
                self._error = e
                self._ready.set()
                return
            self._ready.set()
            await self._stop.wait()
            await self.daemon.stop()

        try:
            self.loop.run_until_complete(main())
        finally:
            self.loop.close()

    def start(self) -> DaemonThread:
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._stop is not None and self._thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> DaemonThread:  # noqa: PYI034
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
