"""Shared corpus location for the conformance tests: libvirt's test data checked out beside
the repo (``../shared/libvirt-testdata``, as CI clones it)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "libvirt-testdata"


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The corpus root; skips the test when it is not checked out."""
    if not TESTDATA.is_dir():
        pytest.skip(f"libvirt test corpus not found at {TESTDATA} (clone ../shared beside the repo)")
    return TESTDATA
