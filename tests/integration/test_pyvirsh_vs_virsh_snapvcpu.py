"""pyvirsh against the real virsh 9.0 on test:///default: snapshots and vCPUs.

One process per tool and scenario (the test node resets when its last connection closes).
stdout, stderr and the exit code must be identical, except the wall clock: the test driver
stamps snapshots and vCPU CPU time with it, so creation times and ``CPU time:`` lines are
masked (the two runs may straddle a second).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VIRSH = shutil.which("virsh")

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(VIRSH is None, reason="the real virsh (libvirt-clients) is not installed"),
]

_CLOCK = (
    (re.compile(r"^CPU time:.*$", re.MULTILINE), "CPU time: <clock>"),
    (re.compile(r"<creationTime>\d+</creationTime>"), "<creationTime>T</creationTime>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}"), "<date>"),
    (re.compile(r"^(Creation Time:\s+).*$", re.MULTILINE), r"\1<date>"),
)


def _mask(text: str) -> str:
    for rx, repl in _CLOCK:
        text = rx.sub(repl, text)
    return text


NODE_XML = (REPO / ".." / "shared" / "libvirt-testdata" / "extra-libvirt-11.3.0" / "examples" / "xml" / "test"
            / "testnode.xml")


def run_both(line: str, uri: str = "test:///default") -> tuple[tuple[str, str, int], ...]:
    env = {k: v for k, v in os.environ.items() if k not in ("LIBVIRT_DEFAULT_URI", "VIRSH_DEFAULT_CONNECT_URI")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["LC_ALL"] = "C"
    out = []
    for argv0 in ([VIRSH or "virsh"], [sys.executable, "-m", "pyvirt.cli"]):
        p = subprocess.run([*argv0, "-c", uri, line], env=env, capture_output=True,
                           text=True, timeout=60, check=False)
        out.append((_mask(p.stdout), _mask(p.stderr), p.returncode))
    return tuple(out)


SNAPSHOT_LINES = [
    # the recorded trace's command line, then the rest of the snapshot-* family
    "snapshot-create-as test s1; snapshot-list test; snapshot-dumpxml test s1; snapshot-delete test s1",
    ("snapshot-create-as test s1; snapshot-create-as test s2 --description hello; snapshot-list test; "
    "snapshot-list test --tree; snapshot-list test --parent; snapshot-current test --name; "
    "snapshot-info test s1; snapshot-parent test s2; snapshot-dumpxml test s2; snapshot-revert test s1; "
    "snapshot-current test --name; snapshot-delete test s1; snapshot-list test --parent; "
    "snapshot-delete test s2; snapshot-list test"),
    ("destroy test; snapshot-create-as test off1; start test; snapshot-create-as test on1; "
    "snapshot-create-as test on2; snapshot-list test --roots; snapshot-list test --leaves; "
    "snapshot-list test --tree; snapshot-revert test off1; domstate test --reason; snapshot-list test --name; "
    "snapshot-revert test on2; domstate test --reason; snapshot-delete test off1 --children; snapshot-list test"),
    ("suspend test; snapshot-create-as test p1; snapshot-dumpxml test p1; destroy test; "
    "snapshot-revert test p1; domstate test --reason"),
    ("snapshot-create-as test c1; snapshot-create-as test c2; snapshot-create-as test c3; "
    "snapshot-delete test c1 --children-only; snapshot-list test --tree; snapshot-current test --name; "
    "snapshot-info test --current"),
    "snapshot-create-as test d; snapshot-create-as test d",
    "snapshot-dumpxml test nope",
    "snapshot-current test",
    "snapshot-create-as test x --diskspec vdz,snapshot=internal",
    "snapshot-create test --xmlfile /nonexistent/snap.xml",  # libvirt's file error, not virsh's own
]

VCPU_LINES = [
    "vcpuinfo test; vcpupin test 0 1; nodecpumap",  # the recorded trace's command line
    ("vcpuinfo test --pretty; vcpupin test 0 0-3,^2; vcpupin test; vcpupin test 1; nodecpumap --pretty; "
    "vcpuinfo test"),
    ("vcpupin test 0 r; vcpupin test --config; vcpucount test; vcpucount test --live; "
    "vcpucount test --maximum; vcpucount test --current --live; vcpucount test --config --maximum"),
    "destroy test; vcpupin test; vcpucount test; vcpuinfo test; vcpuinfo test --pretty",
    "vcpupin test 0 9",
    "vcpupin test 0 x",
    "vcpupin test 5 1",
    "vcpupin test 5",
    "vcpupin test 0 1 --config",
    "vcpupin test 0 0-1 --live",
    "destroy test; vcpupin test 0 1",
    "destroy test; vcpucount test --live",
    "vcpucount test --maximum --active",
    "vcpuinfo nope",
]


@pytest.mark.parametrize("line", SNAPSHOT_LINES + VCPU_LINES)
def test_same_output(line: str) -> None:
    real, ours = run_both(line)
    assert real[0] or real[1], "the oracle printed nothing"
    assert ours[0] == real[0], f"stdout differs for {line!r}"
    assert ours[1] == real[1], f"stderr differs for {line!r}"
    assert ours[2] == real[2], f"exit code differs for {line!r}"


def test_node_file_snapshots_and_vcpus() -> None:
    """A node file's domains: floppy disks (internal), disk order of the re-parsed copy
    libvirt snapshots, and vCPU affinity over the whole topology (128 CPUs there)."""
    if not NODE_XML.exists():
        pytest.skip(f"libvirt test data not found at {NODE_XML}")
    line = ("snapshot-create-as fv0 s1; snapshot-dumpxml fv0 s1; snapshot-create-as fc4 a; snapshot-list fc4; "
            "snapshot-dumpxml fc4 a; vcpuinfo fv0; vcpupin fv0; nodecpumap; vcpucount fc4")
    real, ours = run_both(line, f"test://{NODE_XML.resolve()}")
    assert "fda" in real[0]
    assert ours == real
