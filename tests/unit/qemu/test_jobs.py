"""Job serialization: in-process (asyncio) and across processes (flock)."""

from __future__ import annotations

import asyncio
import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.jobs import DomainJob, JobKind
from pyvirt.errors import ErrorCode, VirtError


async def test_two_jobs_do_not_overlap(tmp_path: Path) -> None:
    job = DomainJob(tmp_path / "d.lock")
    trace: list[str] = []

    async def work(tag: str) -> None:
        async with job.hold(JobKind.MODIFY):
            trace.append(f"{tag}-in")
            await asyncio.sleep(0.02)  # yield inside the job: the other must still wait
            trace.append(f"{tag}-out")

    await asyncio.gather(work("a"), work("b"))
    assert trace in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])


async def test_active_kind_is_visible_and_cleared(tmp_path: Path) -> None:
    job = DomainJob(None)
    async with job.hold(JobKind.SUSPEND):
        assert job.active is JobKind.SUSPEND
    assert job.active is None


async def test_job_released_on_error(tmp_path: Path) -> None:
    job = DomainJob(tmp_path / "d.lock")
    with pytest.raises(RuntimeError):
        async with job.hold(JobKind.MODIFY):
            raise RuntimeError("boom")
    async with job.hold(JobKind.MODIFY):
        pass


async def test_timeout_gives_operation_timeout(tmp_path: Path) -> None:
    job = DomainJob(None, timeout=0.05)
    async with job.hold(JobKind.MODIFY):
        with pytest.raises(VirtError) as ei:
            async with job.hold(JobKind.MODIFY):
                pass
    assert ei.value.code == ErrorCode.OPERATION_TIMEOUT
    assert "cannot acquire state change lock" in ei.value.message


async def test_waits_for_another_process_holding_the_flock(tmp_path: Path) -> None:
    lock = tmp_path / "d.lock"
    # A child process takes the flock, reports, and keeps it until we close its stdin.
    child = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-c",
         ("import fcntl,os,sys; fd=os.open(sys.argv[1], os.O_RDWR|os.O_CREAT); "
         "fcntl.flock(fd, fcntl.LOCK_EX); print('locked', flush=True); sys.stdin.read()"), str(lock)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None and child.stdin is not None
    assert child.stdout.readline().strip() == "locked"
    job = DomainJob(lock, timeout=10)
    entered = asyncio.Event()

    async def take() -> None:
        async with job.hold(JobKind.MODIFY):
            entered.set()

    task = asyncio.create_task(take())
    await asyncio.sleep(0.2)
    assert not entered.is_set()  # blocked on the other process
    child.stdin.close()
    child.wait(5)
    await asyncio.wait_for(task, 5)
    assert entered.is_set()
    # and we released it again
    fd = os.open(lock, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)
