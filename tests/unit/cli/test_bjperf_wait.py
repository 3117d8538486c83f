"""pyvirsh ``--wait`` on a block job: subscribed before anything is asked, the remote event
registration complete before the job starts (an end event sent earlier would be lost and
``--wait`` would never return), no subscription for a shut-off domain, and the end taken
from the event (no polling: the driver is never asked for job info)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from pyvirt.cli.blockjob import _job_run
from pyvirt.drivers.base import BlockJobEventMsg, DomainRef, EventBus
from pyvirt.enums import BlockJobStatus, BlockJobType

DOM = DomainRef("d", b"\x03" * 16, 1)


class FakeDriver:
    """Records the order of what pyvirsh does; the job ends with an event right after it
    starts, as a fast pull through a daemon may."""

    def __init__(self, active: bool = True, remote: bool = True) -> None:
        self.log: list[str] = []
        self.active = active
        self.events = EventBus()
        self.registered = asyncio.Event()
        if remote:
            self.register_events = self._register

    async def _register(self) -> None:
        self.log.append("register")
        await asyncio.sleep(0)  # a round trip
        self.registered.set()

    async def is_active(self, dom: DomainRef) -> bool:
        self.log.append(f"is_active subs={len(self.events._subs)}")
        return self.active

    async def start(self) -> None:
        self.log.append(f"start registered={self.registered.is_set()}")
        if self.active:
            self.events.publish(BlockJobEventMsg(DOM, "/img/top.qcow2", "vda", BlockJobType.PULL,
                                                 BlockJobStatus.COMPLETED))

    async def get_block_job_info(self, *a: Any) -> None:
        raise AssertionError("--wait must not poll job info")


class FakeCtl:
    def __init__(self, drv: FakeDriver) -> None:
        self.conn = drv


async def test_wait_subscribes_and_registers_before_the_job() -> None:
    drv = FakeDriver()
    res = await _job_run(cast(Any, FakeCtl(drv)), DOM, "vda", drv.start, blocking=True, verbose=False,
                         timeout=None, label_type=BlockJobType.PULL, on_ready=None)
    assert res is BlockJobStatus.COMPLETED
    assert drv.log == ["is_active subs=1", "register", "start registered=True"]
    assert not drv.events._subs  # unsubscribed at the end


async def test_in_process_driver_needs_no_registration() -> None:
    drv = FakeDriver(remote=False)
    res = await _job_run(cast(Any, FakeCtl(drv)), DOM, "vda", drv.start, blocking=True, verbose=False,
                         timeout=None, label_type=BlockJobType.PULL, on_ready=None)
    assert res is BlockJobStatus.COMPLETED
    assert drv.log == ["is_active subs=1", "start registered=False"]


async def test_shut_off_domain_does_not_wait() -> None:
    drv = FakeDriver(active=False)
    res = await _job_run(cast(Any, FakeCtl(drv)), DOM, "vda", drv.start, blocking=True, verbose=False,
                         timeout=None, label_type=BlockJobType.PULL, on_ready=None)
    assert res is BlockJobStatus.COMPLETED  # offline: the call itself did the work
    assert drv.log == ["is_active subs=1", "start registered=False"]
    assert not drv.events._subs
