"""Process layer: pidfd exit watch, SIGTERM/SIGKILL escalation, spawn failures, console pty stream."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirt.drivers.qemu import process
from pyvirt.drivers.qemu.console import PtyStream, open_console
from pyvirt.drivers.qemu.process import ProcessWatch, kill, make_monitor_listener, spawn
from pyvirt.errors import ErrorCode, VirtError


def _child(code: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", code])


async def test_watch_fires_on_exit_and_reaps() -> None:
    p = _child("import time; time.sleep(0.2)")
    w = ProcessWatch(p.pid)
    w.start()
    fired: list[int] = []
    w.on_exit(lambda: fired.append(1))
    await asyncio.wait_for(w.exited.wait(), 5)
    assert fired == [1]
    assert not Path(f"/proc/{p.pid}").exists()  # reaped, no zombie left
    p.returncode = 0


async def test_kill_escalates_to_sigkill_unless_graceful(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process, "TERM_GRACE", 0.3)
    code = "import signal, time, sys; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ok', flush=True); time.sleep(60)"
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)  # noqa: ASYNC220
    assert p.stdout is not None and p.stdout.readline() == b"ok\n"
    w = ProcessWatch(p.pid)
    w.start()
    with pytest.raises(VirtError) as ei:
        await kill(w, graceful=True)
    assert ei.value.code == ErrorCode.SYSTEM_ERROR
    assert not w.exited.is_set()
    await kill(w, graceful=False)
    assert w.exited.is_set()
    p.returncode = 0


async def test_spawn_reports_qemu_stderr_when_it_dies_early(tmp_path: Path) -> None:
    listener = make_monitor_listener(tmp_path / "m.sock")
    argv = [sys.executable, "-c", "import sys; sys.stderr.write('qemu: bad option -foo\\n'); sys.exit(1)"]
    with pytest.raises(VirtError) as ei:
        await spawn(argv, listener=listener, log_path=tmp_path / "log", cwd=tmp_path, handshake_timeout=10)
    assert ei.value.code == ErrorCode.INTERNAL_ERROR
    assert ei.value.message == "internal error: qemu unexpectedly closed the monitor: qemu: bad option -foo"


async def test_spawn_missing_binary(tmp_path: Path) -> None:
    listener = make_monitor_listener(tmp_path / "m.sock")
    with pytest.raises(VirtError) as ei:
        await spawn([str(tmp_path / "no-qemu")], listener=listener, log_path=tmp_path / "log", cwd=tmp_path)
    assert "no-qemu" in ei.value.message


async def test_pty_console_stream_round_trip() -> None:
    master, slave = os.openpty()
    name = os.ttyname(slave)
    xml = f"<domain><devices><serial type='pty'><source path='{name}'/><alias name='serial0'/></serial></devices></domain>"
    stream = await open_console(xml, "serial0")
    assert isinstance(stream, PtyStream)
    os.write(master, b"hello\n")
    assert await asyncio.wait_for(stream.read(), 5) == b"hello\n"
    await stream.write(b"typed")
    assert os.read(master, 100) == b"typed"
    await stream.close()
    os.close(master)
    os.close(slave)
    with pytest.raises(VirtError) as ei:
        await open_console(xml, "serial7")
    assert ei.value.message == "internal error: cannot find character device serial7"
