"""pyvirsh's light commands on a qemu:/// URI served in process import none of the heavy
machinery (checked on a fresh interpreter's sys.modules; behaviour, not timing)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# What start-up must not pay for on the light path (docs/bench.md says why each matters).
HEAVY = ("asyncio", "lxml", "lxml.etree", "dataclasses", "typing", "re", "inspect",
         "xml.etree.ElementTree", "pyvirt.drivers.base", "pyvirt.drivers.qemu.driver",
         "pyvirt.drivers.qemu.domainobj", "pyvirt.remote.client", "pyvirt.aio",
         "pyvirt.conf", "qemu", "socket", "urllib.parse")

# The embed path also keeps these off (each ~1-3 ms): enum (with functools/collections),
# collections.abc, importlib.
EMBED_HEAVY = ("enum", "collections", "collections.abc", "functools", "importlib")

PROBE = """
import sys
from pyvirt.cli.main import main
code = main(sys.argv[1:])
mods = sorted(sys.modules)
import json  # only now: json imports re
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(mods), file=sys.stderr)
sys.exit(code)
"""


def _run(argv: list[str]) -> tuple[int, str, set[str]]:
    p = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True,
                       timeout=60, check=False)
    line = next(ln for ln in p.stderr.splitlines() if ln.startswith("MODULES="))
    return p.returncode, p.stdout, set(json.loads(line.removeprefix("MODULES=")))


@pytest.mark.parametrize("cmd", [["list", "--all"], ["list; domstate x; domid x"],
                                 ["domuuid", "x"], ["domstate", "x", "--reason"]])
def test_light_commands_import_nothing_heavy(tmp_path: Path, cmd: list[str]) -> None:
    root = tmp_path / "root"
    (root / "etc" / "qemu").mkdir(parents=True)
    (root / "etc" / "qemu" / "x.xml").write_text(
        "<domain type='qemu'><name>x</name><uuid>00000001-1111-2222-3333-000000000001</uuid>"
        "<memory>65536</memory><os><type>hvm</type></os></domain>\n")
    code, out, mods = _run(["-c", f"qemu:///embed?root={root}", *cmd])
    assert code == 0, out
    assert not sorted(mods & set(HEAVY + EMBED_HEAVY)), out
    assert "pyvirt.drivers.qemu.readonly" in mods


def test_a_heavy_command_still_loads_the_driver(tmp_path: Path) -> None:
    """The check above can fail: dominfo is not a light command and loads the driver."""
    root = tmp_path / "root"
    code, out, mods = _run(["-c", f"qemu:///embed?root={root}", "list; dominfo nosuch"])
    assert code == 1, out
    assert "pyvirt.drivers.qemu.driver" in mods and "asyncio" in mods
    assert "pyvirt.drivers.qemu.readonly" not in mods


DAEMON_PROBE = """
import sys
import pyvirt.remote.sockpaths as sp
sp.SYSTEM_SOCKET = sys.argv.pop(1)  # stands in for /run/pyvirt/libvirt-sock
from pyvirt.cli.main import main
code = main(sys.argv[1:])
mods = sorted(sys.modules)
import json  # only now: json imports re
sys.stdout.flush()
print("\\nMODULES=" + json.dumps(mods), file=sys.stderr)
sys.exit(code)
"""

# The blocking client declares its calls in protocol_core (rpc.record's records, the xdr
# codecs, rpc.wire's framing); it must not bring the asyncio client, the driver proper, the
# full procedure table (protocol.py), the Driver ABC (drivers.base) or dataclasses (with
# inspect and ast), even when it reports an error.
HEAVY_REMOTE = ("asyncio", "lxml", "pyvirt.remote.client", "pyvirt.rpc.client", "pyvirt.aio",
                "pyvirt.drivers.qemu.driver", "pyvirt.drivers.test.driver", "ssl",
                "pyvirt.remote.protocol", "pyvirt.drivers.base", "pyvirt.rpc.typedparams",
                "dataclasses", "inspect", "ast", "pyvirt.enums")

# A read that succeeds also keeps off typing (with re), enum (with collections/functools)
# and pyvirt.errors: they load only when the daemon answers with an error (rpc.packet's error
# records, pyvirt.errors' IntEnums). socket/selectors: the client takes _socket.
HEAVY_REMOTE_OK = (*HEAVY_REMOTE, "typing", "re", "enum", "collections", "functools",
                   "pyvirt.errors", "pyvirt.rpc.packet", "pyvirt.rpc.wireerrors", "socket",
                   "selectors", "contextlib", "operator")


def _daemon_run(tmp_path: Path, line: str) -> subprocess.CompletedProcess[str]:
    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.thread import DaemonThread

    (tmp_path / "etc" / "qemu").mkdir(parents=True)
    for i in (1, 2):
        (tmp_path / "etc" / "qemu" / f"d{i}.xml").write_text(
            f"<domain type='qemu'><name>d{i}</name>"
            f"<uuid>00000001-1111-2222-3333-00000000000{i}</uuid>"
            "<memory>65536</memory><os><type>hvm</type></os></domain>\n")
    with DaemonThread(DaemonConfig(root=tmp_path, keepalive_interval=0, reattach=False)):
        sock = str(tmp_path / "run" / "libvirt-sock")
        return subprocess.run([sys.executable, "-c", DAEMON_PROBE, sock, "-c", "qemu:///system",
                               line], capture_output=True, text=True, timeout=60, check=False)


def _modules(p: subprocess.CompletedProcess[str]) -> set[str]:
    line = next(ln for ln in p.stderr.splitlines() if ln.startswith("MODULES="))
    return set(json.loads(line.removeprefix("MODULES=")))


def test_light_commands_through_a_daemon_skip_asyncio(tmp_path: Path) -> None:
    p = _daemon_run(tmp_path, "list --all; domstate nosuch")
    mods = _modules(p)
    assert " -    d1     shut off" in p.stdout and " -    d2     shut off" in p.stdout
    assert "error: failed to get domain 'nosuch'" in p.stderr and p.returncode == 1
    assert "pyvirt.remote.syncclient" in mods
    assert "pyvirt.errors" in mods  # the check below can fail: an error loads the machinery
    assert not sorted(mods & set(HEAVY_REMOTE))


def test_a_successful_read_through_a_daemon_imports_no_error_machinery(tmp_path: Path) -> None:
    p = _daemon_run(tmp_path, "list --all; domstate d1 --reason; domuuid d2")
    mods = _modules(p)
    assert p.returncode == 0, p.stderr
    assert " -    d1     shut off" in p.stdout and "shut off (unknown)" in p.stdout
    assert "00000001-1111-2222-3333-000000000002" in p.stdout
    assert "pyvirt.remote.syncclient" in mods
    assert not sorted(mods & set(HEAVY_REMOTE_OK))


def test_cli_spelled_out_constants_match_the_enums() -> None:
    """dom_info and fmt spell virDomainState / list flags out to keep pyvirt.enums off the
    light path; they must keep meaning what the enums say."""
    from pyvirt.cli import dom_info, fmt
    from pyvirt.enums import DomainState, ListDomainsFlags

    for m in ListDomainsFlags:
        assert getattr(dom_info.ListDomainsFlags, m.name) == m.value, m.name
    assert len(fmt._REASONS) == len(fmt.STATE_NAMES) == len(DomainState)
    assert fmt.reason_name(DomainState.SHUTOFF, 2) == "destroyed"
    assert fmt.reason_name(DomainState.PAUSED, 1) == "user"
    assert fmt.reason_name(DomainState.CRASHED, 1) == "panicked"
    assert fmt.reason_name(len(DomainState), 0) == "unknown"
