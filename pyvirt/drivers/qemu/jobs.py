"""One mutating job per domain at a time.

Two layers of exclusion, because two kinds of concurrency exist:

* inside a process, an ``asyncio.Lock`` per domain object serializes API calls and the
  event worker's state changes;
* across processes (several one-shot ``pyvirsh`` runs may open qemu:///system in-process at
  once), an ``fcntl.flock`` on ``RUN_DIR/NAME.lock`` serializes mutating jobs.

Queries never take the job: they read the status file / in-memory object.
"""

from __future__ import annotations

import asyncio
import enum
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

# libvirt waits 30 s for the state change lock before failing with OPERATION_TIMEOUT.
JOB_WAIT_TIMEOUT = 30.0


class JobKind(enum.Enum):
    QUERY = "query"
    DESTROY = "destroy"
    SUSPEND = "suspend"
    MODIFY = "modify"
    ASYNC = "async"


@dataclass
class DomainJob:
    """The job slot of one domain."""

    lock_path: Path | None
    timeout: float = JOB_WAIT_TIMEOUT
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    active: JobKind | None = None

    @asynccontextmanager
    async def hold(self, kind: JobKind) -> AsyncIterator[None]:
        try:
            await asyncio.wait_for(self._lock.acquire(), self.timeout)
        except TimeoutError:
            raise VirtError(
                f"Timed out during operation: cannot acquire state change lock (held by {self.active})",
                ErrorCode.OPERATION_TIMEOUT,
                ErrorDomain.QEMU,
            ) from None
        fd = -1
        try:
            if self.lock_path is not None:
                fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                await self._flock(fd)
            self.active = kind
            yield
        finally:
            self.active = None
            if fd >= 0:
                os.close(fd)  # closing drops the flock
            self._lock.release()

    async def _flock(self, fd: int) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        # Another process holds it: block in a worker thread (flock has no async form).
        try:
            await asyncio.wait_for(asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX), self.timeout)
        except TimeoutError:
            raise VirtError(
                "Timed out during operation: cannot acquire state change lock (held by another process)",
                ErrorCode.OPERATION_TIMEOUT,
                ErrorDomain.QEMU,
            ) from None
