"""Suite-wide pytest configuration. Kept tiny on purpose: fixtures live next to the tests
that use them (e2e fixtures: tests/e2e/conftest.py; corpus path: tests/conformance)."""

from __future__ import annotations

import contextlib
import os
import signal

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # e2e and oracle are declared in pyproject.toml; "lint" tags the slow whole-tree checks
    # (mypy --strict, ruff) so a local loop can use -m 'not lint'; make test runs them.
    config.addinivalue_line("markers", "lint: whole-tree mypy --strict / ruff runs")


def _qemu_children() -> list[int]:
    """QEMU processes whose parent is this pytest process (in-process drivers and
    DaemonThread daemons spawn them directly)."""
    me = str(os.getpid())
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        # comm is in parentheses and may contain spaces; ppid is the 2nd field after it
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = stat[stat.rindex(")") + 2 :].split()[1]
        if ppid == me and comm.startswith("qemu-system"):
            found.append(int(pid))
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Safety net: a test that fails half-way must not leave its guest burning CPU for the
    rest of the machine's life (stopping pyvirtd deliberately leaves guests running)."""
    leaked = _qemu_children()
    for pid in leaked:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if leaked:
        print(f"\nconftest: killed {len(leaked)} QEMU process(es) left by tests: {leaked}")
