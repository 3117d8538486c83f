"""`make demo` must keep working: run examples/demo.py end to end on the real test guest."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GUEST = REPO / ".guest"

pytestmark = pytest.mark.e2e


def test_demo_runs_end_to_end() -> None:
    if not (GUEST / "vmlinuz").exists():
        pytest.skip("test guest not built (make guest)")
    # A short root: QEMU's monitor socket path must fit in sun_path (108 bytes).
    with tempfile.TemporaryDirectory(prefix="pvdemo-", dir="/tmp") as root:
        proc = subprocess.run(
            [sys.executable, str(REPO / "examples" / "demo.py"), "--root", root,
             "--name", "demo-test"],
            check=False, capture_output=True, text=True, timeout=120,
        )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "TESTGUEST READY" in out
    assert "shut off" in out
    # the seed's snapshot story (examples/snapshot_story.py) after the foundation steps
    assert "Domain snapshot snap1 created" in out
    assert "Successfully pivoted" in out and "Pull complete" in out
    assert "Domain snapshot snap1 reverted" in out and "Domain snapshot snap1 deleted" in out
    assert "story done" in out
