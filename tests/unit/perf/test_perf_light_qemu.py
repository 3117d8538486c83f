"""The light view against a real QEMU the driver started: running, paused, shut off, and a
QEMU killed behind the driver's back — pyvirsh's light answers equal the full driver's."""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyvirt.cli import ctl as ctl_mod
from pyvirt.cli.main import main
from pyvirt.drivers.qemu import readonly

REPO = Path(__file__).resolve().parents[3]
QEMU = "/usr/bin/qemu-system-x86_64"

pytestmark = pytest.mark.skipif(not os.path.exists(QEMU) or shutil.which("qemu-img") is None,
                                reason="needs qemu-system-x86_64")


def _virsh(uri: str, line: str) -> str:
    p = subprocess.run([sys.executable, "-m", "pyvirt.cli", "-c", uri, line], cwd=REPO,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    return p.stdout


def _both(uri: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    outs = []
    for light in (True, False):
        if not light:
            monkeypatch.setattr(ctl_mod, "open_light", lambda u, readonly=False: None)
        buf, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdout", buf)
        monkeypatch.setattr(sys, "stderr", err)
        code = main(["-c", uri, *argv])
        monkeypatch.undo()
        outs.append(f"{code}\n{buf.getvalue()}{err.getvalue()}")
    return outs[0], outs[1]


LINES = [["list", "--all"], ["domstate", "jq", "--reason"], ["domid", "jq"],
         ["list", "--state-running", "--name"], ["list", "--state-paused", "--uuid"]]


def test_light_equals_full_on_a_real_qemu(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    uri = f"qemu:///embed?root={root}"
    xml = (REPO / "bench" / "minimal.xml").read_text().replace("${name}", "jq")
    (tmp_path / "jq.xml").write_text(xml)
    _virsh(uri, f"define {tmp_path / 'jq.xml'}")
    try:
        for step in ("start jq", "suspend jq", "resume jq", "destroy jq", "start jq", None):
            if step is None:
                # QEMU killed behind the driver's back: the view must step aside
                status = (root / "run" / "qemu" / "jq.xml").read_text().split("\n", 1)[0]
                attrs = readonly.status_attrs(status)
                pid, start = int(attrs["pid"]), int(attrs["starttime"])
                os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
                while readonly.pid_alive_as(pid, start) and time.monotonic() < deadline:
                    time.sleep(0.01)  # SIGKILL lands asynchronously; nothing to wait on here
                dirs = readonly.light_dirs(uri)
                assert dirs is not None
                assert readonly.QemuReadView.open(uri, *dirs) is None
                light, _ = _both(uri, ["domstate", "jq", "--reason"], monkeypatch)
                assert "shut off (crashed)" in light
                continue
            _virsh(uri, step)
            for argv in LINES:
                light, full = _both(uri, argv, monkeypatch)
                assert light == full, (step, argv)
    finally:
        subprocess.run([sys.executable, "-m", "pyvirt.cli", "-c", uri, "destroy jq"], cwd=REPO,
                       capture_output=True, timeout=60, check=False)
