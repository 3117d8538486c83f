"""Golden argv files for the project's test guest (tests/data/argv/*.xml -> *.args).

Regenerate after an intended change with ``PYVIRT_REGENERATE=1 pytest tests/unit/qemu``,
then review the diff like code. Caps are libvirt's recorded QEMU 7.2.0 (this machine's QEMU).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pyvirt.conf.domain import parse_domain
from pyvirt.drivers.qemu.caps import QemuCaps
from pyvirt.drivers.qemu.command import CommandRuntime, build, file_fd_plan
from pyvirt.drivers.qemu.postparse import postparse

DATA = Path(__file__).resolve().parents[2] / "data" / "argv"
CAPS_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests" / "qemucapabilitiesdata"
REGENERATE = os.environ.get("PYVIRT_REGENERATE") == "1"

RUNTIMES = {
    # QEMU opens the files and binds the sockets itself.
    "paths": CommandRuntime(domain_id=1, domain_dir="/var/lib/pyvirt/qemu/domain-1-testguest", monitor_fd=3),
    # The process layer pre-opens everything and passes fds.
    "fds": CommandRuntime(domain_id=1, domain_dir="/var/lib/pyvirt/qemu/domain-1-testguest", monitor_fd=3,
                          socket_fds={"charconsole1": 5, "charchannel0": 6}, file_fd_base=10),
}


@pytest.fixture(scope="module")
def caps() -> QemuCaps:
    f = CAPS_DIR / "caps_7.2.0.x86_64.replies"
    if not f.is_file():
        pytest.skip(f"libvirt test corpus not found at {CAPS_DIR}")
    return QemuCaps.from_replies(f)


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
@pytest.mark.parametrize("xml", sorted(p.stem for p in DATA.glob("*.xml")))
def test_golden(xml: str, runtime: str, caps: QemuCaps) -> None:
    defn = postparse(parse_domain((DATA / f"{xml}.xml").read_text()), caps)
    got = "\n".join(build(defn, caps, RUNTIMES[runtime])) + "\n"
    golden = DATA / f"{xml}.{runtime}.args"
    if REGENERATE or not golden.exists():
        golden.write_text(got)
        if not REGENERATE:
            pytest.fail(f"{golden.name} did not exist; written, review and commit it")
    assert got == golden.read_text()


def test_fd_plan_matches_add_fd(caps: QemuCaps) -> None:
    """The files the caller must open are listed in the order their -add-fd numbers use."""
    defn = postparse(parse_domain((DATA / "testguest-q35.xml").read_text()), caps)
    plan = file_fd_plan(defn)
    assert [(p.opaque, p.path) for p in plan] == [("serial0-log", "/srv/guest/testguest-console.log")]
    argv = build(defn, caps, RUNTIMES["fds"])
    i = argv.index("-add-fd")
    assert argv[i + 1] == "set=0,fd=10,opaque=serial0-log"
    assert "logfile=/dev/fdset/0,logappend=on" in argv[i + 3]
