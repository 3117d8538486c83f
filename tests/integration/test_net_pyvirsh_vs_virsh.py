"""pyvirsh net-* and screenshot side by side with the real virsh 9.0.

The same command line runs through virsh on libvirt's own test driver (the expectation),
pyvirsh on ours in process, and virsh and pyvirsh through pyvirtd; the outputs must be equal
byte for byte once random UUIDs (networks defined without one) are masked. A QEMU connection
has no network driver: virsh on libvirt's embedded QEMU driver (none either) is the reference.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyvirt.daemon.config import DaemonConfig
from pyvirt.daemon.thread import DaemonThread
from pyvirt.drivers.test.screenshot import LIBVIRT_TEST_SCREENSHOT

VIRSH = shutil.which("virsh")
pytestmark = [pytest.mark.oracle, pytest.mark.skipif(VIRSH is None, reason="virsh (libvirt-clients) not installed")]

N1 = """<network>
<name>n1</name>
    <bridge stp="off" name="br5"/>
  <ip netmask="255.255.255.0" address="10.0.0.1"><dhcp><range end="10.0.0.9" start="10.0.0.2"/></dhcp></ip>
<forward mode="nat"/>
</network>
"""
N2 = "<network><name>n2</name><uuid>11111111-2222-3333-4444-555555555555</uuid></network>\n"
N3 = ("<network><name>n3</name><forward mode='route'/><mac address='52:54:00:11:22:33'/><domain name='ex'/>"
      "<ip family='ipv6' address='fd00::1' prefix='64'/><ip address='10.1.1.1' prefix='24'><dhcp>"
      "<host ip='10.1.1.5' mac='52:54:00:00:00:01' name='h'/></dhcp></ip></network>\n")
BAD = {"noname.xml": "<network/>\n", "badroot.xml": "<foo/>\n", "dup.xml": "<network><name>default</name></network>\n",
       "bridge.xml": "<network><name>bm</name><forward mode='bridge'/><bridge name='br0'/></network>\n",
       "open.xml": "<network><name>op</name><forward mode='open'/></network>\n"}

SCRIPT = "; ".join([  # noqa: FLY002 (one command per item reads better)
    "net-list", "net-list --all", "net-info default", "net-dumpxml default", "net-dumpxml --inactive default",
    "net-define n1.xml", "net-dumpxml n1", "net-info n1", "net-list --all", "net-define n2.xml", "net-dumpxml n2",
    "net-info n2", "net-start n1", "net-start n1", "net-list --all", "net-autostart n1",
    "net-list --all --autostart", "net-list --inactive", "net-list --persistent", "net-list --transient",
    "net-list --uuid --all", "net-list --name --all", "net-list --name --uuid", "net-uuid n2",
    "net-name 11111111-2222-3333-4444-555555555555", "net-name n2", "net-uuid 11111111-2222-3333-4444-555555555555",
    "net-autostart n1 --disable", "net-undefine n1", "net-destroy n1", "net-destroy n1", "net-undefine n1",
    "net-create n2.xml", "net-list --all", "net-undefine default", "net-info nosuch", "net-dumpxml nosuch",
    "net-start default", "net-define n3.xml", "net-dumpxml n3", "net-define noname.xml", "net-define badroot.xml",
    "net-define dup.xml", "net-create bridge.xml", "net-dumpxml bm", "net-info bm", "net-define open.xml",
    "net-define nofile.xml", "net-destroy n2", "net-list --all --table", "screenshot test --file shot.png",
])


def files(cwd: Path) -> None:
    for name, text in {"n1.xml": N1, "n2.xml": N2, "n3.xml": N3, **BAD}.items():
        (cwd / name).write_text(text)


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def run(argv: list[str], cwd: Path) -> str:
    files(cwd)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=cwd, check=False)
    # the stock network's and n2's UUIDs are fixed; the others are random on both sides
    out = _UUID.sub(lambda m: m.group(0) if m.group(0).startswith(("dd8fe884", "11111111")) else "UUID",
                    p.stdout + p.stderr)
    return out + f"[rc={p.returncode}]"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonThread]:
    with DaemonThread(DaemonConfig(root=tmp_path / "root", keepalive_interval=0, reattach=False)) as d:
        yield d


def pyvirsh(*args: str) -> list[str]:
    return [sys.executable, "-m", "pyvirt.cli", *args]


@pytest.mark.parametrize("quiet", [False, True], ids=["plain", "quiet"])
def test_net_commands_equal_virsh(daemon: DaemonThread, tmp_path: Path, quiet: bool) -> None:
    assert VIRSH is not None
    q = ["-q"] if quiet else []
    want = run([VIRSH, *q, "-c", "test:///default", SCRIPT], tmp_path)
    assert "Network n1 started" in want or quiet
    assert "error: Failed to define network from noname.xml" in want  # the oracle really ran
    shot = (tmp_path / "shot.png").read_bytes()
    remote = f"test+unix:///default?socket={daemon.cfg.rw_socket}"
    assert run(pyvirsh(*q, "-c", "test:///default", SCRIPT), tmp_path) == want
    assert (tmp_path / "shot.png").read_bytes() == shot
    assert run(pyvirsh(*q, "-c", remote, SCRIPT), tmp_path) == want
    assert (tmp_path / "shot.png").read_bytes() == shot  # the image through pyvirtd's stream
    assert run([VIRSH, *q, "-c", remote, SCRIPT], tmp_path) == want
    if Path(LIBVIRT_TEST_SCREENSHOT).is_file():
        assert shot == Path(LIBVIRT_TEST_SCREENSHOT).read_bytes()


NO_NET = "; ".join([  # noqa: FLY002
    "net-list", "net-list --inactive", "net-list --all", "net-info default", "net-dumpxml default",
    "net-uuid default", "net-name dd8fe884-6c02-601e-7551-cca97df1c5df", "net-define n1.xml", "net-start default",
])


def test_qemu_connection_has_no_network_driver(daemon: DaemonThread, tmp_path: Path) -> None:
    assert VIRSH is not None
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    want = run([VIRSH, "-c", f"qemu:///embed?root={tmp_path / 'a'}", NO_NET], tmp_path)
    assert "virConnectNumOfNetworks" in want
    assert run(pyvirsh("-c", f"qemu:///embed?root={tmp_path / 'b'}", NO_NET), tmp_path) == want
    remote = f"qemu+unix:///system?socket={daemon.cfg.rw_socket}"
    assert run(pyvirsh("-c", remote, NO_NET), tmp_path) == want
    assert run([VIRSH, "-c", remote, NO_NET], tmp_path) == want


LIBVIRTD_SOCK = "/run/libvirt/libvirt-sock"


@pytest.mark.skipif(not Path(LIBVIRTD_SOCK).exists(), reason="libvirtd (the oracle) is not running")
def test_pyvirsh_client_against_libvirtd(tmp_path: Path) -> None:
    """Our remote client speaks the network and screenshot procedures to libvirtd itself
    (read-only commands: libvirtd's test:///default node is shared with anyone connected)."""
    assert VIRSH is not None
    uri = f"test+unix:///default?socket={LIBVIRTD_SOCK}"
    cmds = ("net-list --all; net-info default; net-dumpxml default; net-uuid default; net-info nosuch; "
            "screenshot test --file shot.png")
    want = run([VIRSH, "-c", uri, cmds], tmp_path)
    shot = (tmp_path / "shot.png").read_bytes()
    assert run(pyvirsh("-c", uri, cmds), tmp_path) == want
    assert (tmp_path / "shot.png").read_bytes() == shot
    # and libvirtd's real network driver (qemu:///system), read-only commands
    uri = f"qemu+unix:///system?socket={LIBVIRTD_SOCK}"
    cmds = "net-list --all; net-info default; net-dumpxml --inactive default; net-name 00000000-0000-0000-0000-000000000000"
    assert run(pyvirsh("-c", uri, cmds), tmp_path) == run([VIRSH, "-c", uri, cmds], tmp_path)
