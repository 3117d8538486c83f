"""The same libvirt-python program against the real libvirt and against pyvirt.libvirt.

One scenario script is run twice, each time in a fresh process: with ``/usr/bin/python3``
and Debian's python3-libvirt (``import libvirt``, test:///default in libvirt's own test
driver), and with our interpreter importing ``pyvirt.libvirt`` under the same name. Every
step records its result or its error (code, domain, message); the two transcripts must be
equal step by step, events included.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.oracle

REPO = Path(__file__).resolve().parents[2]
REAL_PYTHON = "/usr/bin/python3"

SCENARIO = r'''
import importlib, json, sys
libvirt = importlib.import_module(sys.argv[1])
URI = sys.argv[2]

XML = """<domain type='test'>
  <name>facade-a</name>
  <uuid>0b1e5a0c-86a6-4c3e-9a43-2b3c4d5e6f70</uuid>
  <memory unit='KiB'>65536</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
</domain>"""
TRANSIENT = XML.replace("facade-a", "facade-t").replace("0b1e5a0c", "0b1e5a0d")
NO_OS = "<domain type='test'><name>bad</name><memory>1024</memory></domain>"

out = []
handled = []

def norm(v):
    if isinstance(v, libvirt.virDomain):
        return {"dom": v.name()}
    if isinstance(v, (list, tuple)):
        return [norm(x) for x in v]
    if isinstance(v, bytes):
        return v.hex()
    return v

def step(label, fn):
    try:
        out.append([label, "ok", norm(fn())])
    except libvirt.libvirtError as e:
        out.append([label, "error", e.get_error_code(), e.get_error_domain(),
                    e.get_error_message(), e.get_error_level()])

libvirt.registerErrorHandler(lambda ctx, err: None, None)
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(URI)
# A daemon's test:///default outlives a run that died half-way: start from its stock state.
for d in c.listAllDomains(0):
    if d.name().startswith("facade-"):
        if d.isActive():
            d.destroy()
        if d.isPersistent():
            d.undefine()
libvirt.registerErrorHandler(lambda ctx, err: handled.append([ctx, err[0], err[1]]), "ctx")
events = []
c.domainEventRegisterAny(None, libvirt.VIR_DOMAIN_EVENT_ID_LIFECYCLE,
                         lambda conn, dom, ev, detail, opaque:
                             events.append([dom.name(), ev, detail, opaque]), "lc")
c.domainEventRegister(lambda conn, dom, ev, detail, opaque:
                          events.append(["old", dom.name(), ev, detail, opaque]), "old")

step("type", c.getType)
step("version", c.getVersion)
step("libversion>=9", lambda: c.getLibVersion() >= 9000000)
step("uri", c.getURI)
step("alive", c.isAlive)
step("info", c.getInfo)
step("ids", c.listDomainsID)
step("defined", c.listDefinedDomains)
step("num", c.numOfDomains)
step("numdef", c.numOfDefinedDomains)
step("all", lambda: c.listAllDomains(0))
step("all-inactive", lambda: c.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_INACTIVE))
step("by-name", lambda: c.lookupByName("test").UUIDString())
step("by-id", lambda: c.lookupByID(1).name())
step("by-uuidstr", lambda: c.lookupByUUIDString("6695eb01-f6a4-8304-79aa-97f2502e193f").ID())
step("by-uuid", lambda: c.lookupByUUID(bytes.fromhex("6695eb01f6a4830479aa97f2502e193f")).name())
step("by-name-missing", lambda: c.lookupByName("nope"))
step("by-id-missing", lambda: c.lookupByID(99))
step("by-uuidstr-bad", lambda: c.lookupByUUIDString("not-a-uuid"))
step("define-no-os", lambda: c.defineXML(NO_OS))
step("define", lambda: c.defineXML(XML))
d = c.lookupByName("facade-a")
step("d.id-inactive", d.ID)
step("d.uuid", d.UUID)
step("d.ostype", d.OSType)
step("d.info.state", lambda: d.info()[0:4])
step("d.state", lambda: d.state(0))
step("d.active", d.isActive)
step("d.persistent", d.isPersistent)
step("d.autostart", d.autostart)
step("d.managedsave", lambda: d.hasManagedSaveImage(0))
step("d.suspend-off", d.suspend)
step("d.create", d.create)
step("d.state-running", d.state)
step("d.id-positive", lambda: d.ID() > 0)
step("d.suspend", d.suspend)
step("d.state-paused", d.state)
step("d.resume", d.resume)
step("d.resume-again", d.resume)
step("d.shutdown", d.shutdown)
step("d.state-shutoff", d.state)
step("d.destroy-off", d.destroy)
step("d.createWithFlags", lambda: d.createWithFlags(0))
step("d.destroyFlags", lambda: d.destroyFlags(0))
step("d.state-destroyed", d.state)
step("d.setAutostart", lambda: d.setAutostart(1))
step("d.autostart-after", d.autostart)
step("d.undefine", d.undefine)
step("gone", lambda: c.lookupByName("facade-a"))
step("createXML", lambda: c.createXML(TRANSIENT, 0))
t = c.lookupByName("facade-t")
step("t.persistent", t.isPersistent)
step("t.active", t.isActive)
step("t.destroy", t.destroy)
step("t.gone", lambda: c.lookupByName("facade-t"))
ro = libvirt.openReadOnly(URI)
step("ro.define", lambda: ro.defineXML(XML))
step("ro.list", lambda: ro.listAllDomains(0))
step("ro.close", ro.close)

fired = []
libvirt.virEventAddTimeout(100, lambda timer, opaque: fired.append(opaque), "done")
while not fired:
    libvirt.virEventRunDefaultImpl()

keep = c.lookupByName("test")
step("close-with-dom", c.close)
step("after-close", c.getURI)
step("dom-after-close", keep.name)
print(json.dumps({"steps": out, "events": events, "handled": handled}))
'''


def _run(python: str, module: str, tmp: Path, env: dict[str, str],
         uri: str = "test:///default") -> dict[str, Any]:
    script = tmp / "scenario.py"
    script.write_text(SCENARIO)
    proc = subprocess.run([python, str(script), module, uri], capture_output=True, text=True,
                          timeout=60, env=env, cwd=tmp, check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


@pytest.fixture(scope="module")
def transcripts(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    if not shutil.which(REAL_PYTHON) or subprocess.run(
            [REAL_PYTHON, "-c", "import libvirt"], capture_output=True, check=False).returncode != 0:
        pytest.skip("python3-libvirt (the real libvirt-python) is not installed")
    env = {k: v for k, v in os.environ.items() if k != "LIBVIRT_DEFAULT_URI"}
    real = _run(REAL_PYTHON, "libvirt", tmp_path_factory.mktemp("real"), env)
    env_ours = dict(env, PYTHONPATH=str(REPO))
    ours = _run(sys.executable, "pyvirt.libvirt", tmp_path_factory.mktemp("ours"), env_ours)
    return real, ours


def test_scenario_steps_match(transcripts: tuple[dict[str, Any], dict[str, Any]]) -> None:
    real, ours = transcripts
    assert [s[0] for s in ours["steps"]] == [s[0] for s in real["steps"]]
    diffs = [(r, o) for r, o in zip(real["steps"], ours["steps"], strict=True) if r != o]
    assert diffs == []


def test_scenario_events_match(transcripts: tuple[dict[str, Any], dict[str, Any]]) -> None:
    real, ours = transcripts
    assert real["events"], "the real libvirt delivered no events: the scenario is broken"
    assert ours["events"] == real["events"]


def test_error_handler_saw_every_error(transcripts: tuple[dict[str, Any], dict[str, Any]]) -> None:
    real, ours = transcripts
    errors = [s for s in real["steps"] if s[1] == "error"]
    assert len(real["handled"]) >= len(errors) > 0
    # One handler call per failure, in order, with the same context, code and domain.
    assert ours["handled"] == real["handled"]


# ------------------------------------------------------------------ through the daemons

LIBVIRTD_SOCK = "/var/run/libvirt/libvirt-sock"


def test_same_scenario_through_pyvirtd_and_libvirtd(tmp_path: Path) -> None:
    """pyvirt.libvirt -> pyvirtd equals libvirt-python -> libvirtd, both on test+unix://."""
    if subprocess.run([REAL_PYTHON, "-c", "import libvirt"], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("python3-libvirt (the real libvirt-python) is not installed")
    if not os.access(LIBVIRTD_SOCK, os.W_OK):
        pytest.skip(f"the oracle libvirtd is not running ({LIBVIRTD_SOCK})")
    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.thread import DaemonThread

    env = {k: v for k, v in os.environ.items() if k != "LIBVIRT_DEFAULT_URI"}
    real_dir, ours_dir = tmp_path / "real", tmp_path / "ours"
    real_dir.mkdir()
    ours_dir.mkdir()
    real = _run(REAL_PYTHON, "libvirt", real_dir, env,
                f"test+unix:///default?socket={LIBVIRTD_SOCK}")
    with DaemonThread(DaemonConfig(root=tmp_path / "d", keepalive_interval=0)) as d:
        ours = _run(sys.executable, "pyvirt.libvirt", ours_dir, dict(env, PYTHONPATH=str(REPO)),
                    f"test+unix:///default?socket={d.cfg.rw_socket}")
    # The URI is the one each client opened (it names its own socket).
    drop = {"uri"}
    r = [s for s in real["steps"] if s[0] not in drop]
    o = [s for s in ours["steps"] if s[0] not in drop]
    assert [(a, b) for a, b in zip(r, o, strict=True) if a != b] == []
    assert ours["events"] == real["events"] != []


def test_close_callback_when_pyvirtd_goes_away(tmp_path: Path) -> None:
    """Stopping the daemon reaches registerCloseCallback as VIR_CONNECT_CLOSE_REASON_EOF."""
    from pyvirt import libvirt
    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.thread import DaemonThread

    libvirt.virEventRegisterDefaultImpl()
    got: list[tuple[bool, int, str]] = []
    with DaemonThread(DaemonConfig(root=tmp_path, keepalive_interval=0)) as d:
        c = libvirt.open(f"test+unix:///default?socket={d.cfg.rw_socket}")
        assert c.getType() == "TEST"
        c.registerCloseCallback(lambda cc, reason, op: got.append((cc is c, reason, op)), "x")
    timer = libvirt.virEventAddTimeout(10_000, lambda t, o: got.append((False, -1, "timeout")),
                                       None)
    while not got:
        libvirt.virEventRunDefaultImpl()
    libvirt.virEventRemoveTimeout(timer)
    assert got == [(True, libvirt.VIR_CONNECT_CLOSE_REASON_EOF, "x")]
    assert c.close() == 0
