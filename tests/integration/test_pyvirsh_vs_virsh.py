"""pyvirsh against the real virsh 9.0, byte for byte, on test:///default.

Each scenario is ONE process per tool (virsh's multi-command string), because the
test:///default node resets when a process's last connection closes. stdout, stderr and
the exit code must be identical, except the lines that carry the wall clock (the test
driver reports the current time as CPU time) and, for the event command, nothing else.
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
CORPUS = REPO / ".." / "shared" / "libvirt-testdata"
NODE_XML = CORPUS / "extra-libvirt-11.3.0" / "examples" / "xml" / "test" / "testnode.xml"
VIRSH = shutil.which("virsh")

pytestmark = [
    pytest.mark.oracle,
    pytest.mark.skipif(VIRSH is None, reason="the real virsh (libvirt-clients) is not installed"),
]

_CPU_TIME = re.compile(r"^CPU time:.*$", re.MULTILINE)


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LIBVIRT_DEFAULT_URI", "VIRSH_DEFAULT_CONNECT_URI")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["LC_ALL"] = "C"
    return env


def run_both(args: list[str], cwd: Path, stdin: str | None = None,
             env_extra: dict[str, str] | None = None) -> tuple[tuple[str, str, int], ...]:
    env = _env() | (env_extra or {})
    out = []
    for argv0 in ([VIRSH or "virsh"], [sys.executable, "-m", "pyvirt.cli"]):
        p = subprocess.run(argv0 + args, cwd=cwd, env=env, input=stdin, capture_output=True,
                           text=True, timeout=60, check=False)
        out.append((_CPU_TIME.sub("CPU time: <clock>", p.stdout), p.stderr, p.returncode))
    return tuple(out)


def assert_same(args: list[str], cwd: Path, **kw: object) -> str:
    """Both tools agree; returns stdout + stderr so callers can check it is not empty."""
    real, ours = run_both(args, cwd, **kw)  # type: ignore[arg-type]
    assert ours[0] == real[0], f"stdout differs for {args}"
    assert ours[1] == real[1], f"stderr differs for {args}"
    assert ours[2] == real[2], f"exit code differs for {args}"
    return real[0] + real[1]


DOMAIN_XML = """<domain type='test'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>256</memory>
  <currentMemory unit='MiB'>128</currentMemory>
  <vcpu>3</vcpu>
  <os><type>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/x/{name}.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <source file='/iso/boot.iso'/>
      <target dev='hdc'/>
      <readonly/>
    </disk>
    <disk type='file'>
      <source file='/var/lib/x/{name}-a.img'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'>
      <source network='default'/>
      <mac address='52:54:00:11:22:33'/>
    </interface>
    <interface type='bridge'>
      <mac address='52:54:00:11:22:34'/>
      <source bridge='br0'/>
      <model type='virtio'/>
    </interface>
  </devices>
</domain>
"""


# Disk and NIC kinds whose "Source" columns virsh derives differently.
DEVICES_XML = """<domain type='test'><name>vol</name>
<uuid>11111111-2222-3333-4444-999999999999</uuid><memory>1024</memory><os><type>hvm</type></os>
<devices>
<disk type='volume' device='disk'><source pool='default-pool' volume='v1.img'/>
  <target dev='vda' bus='virtio'/></disk>
<disk type='network' device='disk'><source protocol='nbd' name='export1'>
  <host name='h' port='10809'/></source><target dev='vdb' bus='virtio'/></disk>
<disk type='file' device='cdrom'><target dev='hdc' bus='ide'/><readonly/></disk>
<interface type='bridge'><mac address='52:54:00:00:00:01'/><source bridge='br0'/>
  <model type='e1000'/></interface>
<interface type='user'><mac address='52:54:00:00:00:02'/></interface>
<interface type='direct'><mac address='52:54:00:00:00:03'/><source dev='eth0' mode='vepa'/>
  </interface>
</devices></domain>
"""


@pytest.fixture
def xmldir(tmp_path: Path) -> Path:
    (tmp_path / "a.xml").write_text(DOMAIN_XML.format(
        name="alpha", uuid="11111111-2222-3333-4444-555555555555"))
    (tmp_path / "b.xml").write_text(DOMAIN_XML.format(
        name="beta", uuid="11111111-2222-3333-4444-666666666666"))
    # Same name as the stock domain, another uuid: a clash.
    (tmp_path / "clash.xml").write_text(DOMAIN_XML.format(
        name="test", uuid="11111111-2222-3333-4444-777777777777"))
    (tmp_path / "upper.xml").write_text(DOMAIN_XML.format(
        name="Zed", uuid="11111111-2222-3333-4444-888888888888"))
    (tmp_path / "devices.xml").write_text(DEVICES_XML)
    (tmp_path / "noname.xml").write_text("<domain type='test'><memory>1024</memory>"
                                         "<os><type>hvm</type></os></domain>")
    (tmp_path / "broken.xml").write_text("<domain type='test'><name>x</name>")
    return tmp_path


SCENARIOS = {
    "stock-listing": "list; list --all; list --inactive; list --name; list --uuid; "
                     "list --name --uuid --all; list --state-running; list --state-shutoff; "
                     "list --state-paused --all",
    "info": "dominfo test; dominfo 1; dominfo 6695eb01-f6a4-8304-79aa-97f2502e193f; "
            "domstate test; domstate test --reason; domid test; domname 1; domuuid test; "
            "domuuid 1; domname 6695eb01-f6a4-8304-79aa-97f2502e193f",
    "xml-and-devices": "dumpxml test; dumpxml test --inactive; domblklist test; "
                       "domblklist test --details; domiflist test; domiflist test --inactive",
    "host": "uri; hostname; version; nodeinfo; capabilities",
    "lifecycle": "suspend test; domstate test --reason; list; suspend test; resume test; "
                 "domstate test --reason; resume test; reboot test; domstate test --reason; "
                 "reset test; shutdown test; domstate test --reason; list --all; "
                 "shutdown test; start test; dominfo test; destroy test; "
                 "domstate test --reason; destroy test; destroy --graceful test; start test; "
                 "destroy test --graceful; list --all; start test --paused; reboot test; "
                 "reset test; domid test; dominfo test",
    "autostart": "autostart test; dominfo test; list --autostart; list --no-autostart; "
                 "autostart --disable test; dominfo test; list --all --autostart",
    "define-undefine": "define a.xml; define b.xml; list --all; dominfo alpha; "
                       "dumpxml alpha; dumpxml alpha --inactive; domblklist alpha --details; "
                       "domiflist alpha; start alpha; list; dumpxml alpha; define a.xml; "
                       "undefine alpha; list --all --persistent; list --transient; "
                       "dominfo alpha; destroy alpha; list --all; undefine beta; list --all",
    "create-transient": "create b.xml; list --all; dominfo beta; domstate beta --reason; "
                        "undefine beta; destroy beta; list --all; domstate beta",
    "list-order": "define upper.xml; define b.xml; define a.xml; list --all; list --name --all; "
                  "start beta; start Zed; list; list --all --uuid",
    "flags": "create a.xml --paused; create a.xml --autodestroy; create a.xml --validate; "
             "destroy alpha; define a.xml; start alpha --bypass-cache; start alpha --reset-nvram; "
             "start alpha --force-boot --bypass-cache; start alpha --force-boot; "
             "destroy alpha --remove-logs; reboot alpha --mode acpi,agent; destroy alpha; "
             "undefine alpha --nvram; undefine alpha --keep-nvram --snapshots-metadata; list --all",
    "device-columns": "define devices.xml; domblklist vol; domblklist vol --details; "
                      "domiflist vol; start vol; domiflist vol; dumpxml vol",
    "define-errors": "define clash.xml; define noname.xml; define nosuchfile.xml; "
                     "create clash.xml; list --all",
    "undefine-running": "undefine test; dominfo test; list --all --transient; shutdown test; "
                        "list --all",
    "redefine-running": "define a.xml; start alpha; define a.xml; dumpxml alpha --inactive; "
                        "destroy alpha; dumpxml alpha",
    "errors": "dominfo nosuch; domstate 42; domid nosuch; start test; suspend nosuch; "
              "shutdown test --mode foo; console test; destroy test; console test",
    # One bad command makes virsh reject the whole line before running anything.
    "parse-error-option": "uri; list --foo; uri",
    "parse-error-missing": "uri; dominfo",
    "parse-error-extra": "dominfo test extra; uri",
    "parse-error-unknown": "uri; nosuchcmd",
    "parse-error-value": "uri; dominfo --domain",
    "parse-error-quote": "uri; dominfo 'test",
    "shutdown-modes": "shutdown test --mode acpi; reboot test --mode agent; "
                      "shutdown test --mode=acpi,agent",
    "quoting": "domstate 'test'; domstate \"test\"; domstate te\\st; "
               "domstate --domain test --reason; domstate --domain=test",
    "last-command-ok": "dominfo nosuch; uri",
    "event-errors": "event; event --all --event lifecycle; event --event nosuch; "
                    "event --all --timeout abc; event --all --timeout 0; event --list",
}


BAD_XML = {
    "bad-uuid": "<domain type='test'><name>x</name><uuid>zzz</uuid><memory>1024</memory>"
                "<os><type>hvm</type></os></domain>",
    "bad-memory": "<domain type='test'><name>x</name><memory>abc</memory><os><type>hvm</type>"
                  "</os></domain>",
    "bad-unit": "<domain type='test'><name>x</name><memory unit='XB'>1</memory>"
                "<os><type>hvm</type></os></domain>",
    "no-memory": "<domain type='test'><name>x</name><os><type>hvm</type></os></domain>",
    "no-os": "<domain type='test'><name>x</name><memory>1024</memory></domain>",
    "no-type": "<domain><name>x</name><memory>1024</memory><os><type>hvm</type></os></domain>",
    "wrong-root": "<dom type='test'/>",
    "slash-name": "<domain type='test'><name>a/b</name><memory>1024</memory>"
                  "<os><type>hvm</type></os></domain>",
    "zero-vcpu": "<domain type='test'><name>x</name><memory>1024</memory><vcpu>0</vcpu>"
                 "<os><type>hvm</type></os></domain>",
    "text-vcpu": "<domain type='test'><name>x</name><memory>1024</memory><vcpu>x</vcpu>"
                 "<os><type>hvm</type></os></domain>",
    "kvm-type": "<domain type='kvm'><name>x</name><uuid>3ac34ec4-d4e9-45be-a40f-ae0710d32b3c</uuid>"
                "<memory>1024</memory><os><type>hvm</type></os></domain>",
    # Not compared: malformed XML, where libvirt prints libxml2's own message and context lines.
}


@pytest.mark.parametrize("case", sorted(BAD_XML))
def test_define_bad_xml(case: str, tmp_path: Path) -> None:
    (tmp_path / "bad.xml").write_text(BAD_XML[case])
    assert assert_same(["-c", "test:///default", "define bad.xml; dumpxml x; list --all"],
                       tmp_path)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario(name: str, xmldir: Path) -> None:
    out = assert_same(["-c", "test:///default", SCENARIOS[name]], xmldir)
    assert out  # every scenario prints something, so an empty match is not a pass


def test_argv_form_and_quiet(xmldir: Path) -> None:
    assert_same(["-c", "test:///default", "dominfo", "test"], xmldir)
    assert_same(["-q", "-c", "test:///default", "list", "--all"], xmldir)
    assert_same(["--quiet", "--connect=test:///default", "destroy test; list --all"], xmldir)
    assert_same(["--connect", "test:///default", "-r", "list"], xmldir)
    # In argv form ';' is data, not a separator.
    assert_same(["-c", "test:///default", "echo", "a", ";", "b"], xmldir)
    assert_same(["-c", "test:///default", "uri", ";", "uri"], xmldir)
    # Commands named like comments are skipped.
    assert_same(["-c", "test:///default", "\\# skipped; uri\n'#also' skipped"], xmldir)


def test_readonly_connection(xmldir: Path) -> None:
    line = ("destroy test --graceful; shutdown test; reboot test; reset test; suspend test; "
            "resume test; autostart test; define a.xml; create a.xml; "
            "shutdown test --mode acpi; destroy test; list --all; dominfo test")
    assert_same(["-r", "-c", "test:///default", line], xmldir)
    assert_same(["--readonly", "-c", "test:///default", "connect test:///default; destroy test"],
                xmldir)


def test_connection_failures(xmldir: Path) -> None:
    for uri in ("qemu+unix:///system?socket=/nonexistent/sock", "foo:///bar", "test:///"):
        assert_same(["-c", uri, "list"], xmldir)
        assert_same(["-c", uri, "echo hi"], xmldir)


def test_default_uri_from_environment(xmldir: Path) -> None:
    assert_same(["uri"], xmldir, env_extra={"LIBVIRT_DEFAULT_URI": "test:///default"})
    assert_same(["uri"], xmldir, env_extra={"VIRSH_DEFAULT_CONNECT_URI": "test:///default",
                                            "LIBVIRT_DEFAULT_URI": "qemu:///nowhere"})


def test_version_options(xmldir: Path) -> None:
    assert_same(["--version"], xmldir)
    assert_same(["-v"], xmldir)
    assert_same(["--version=short"], xmldir)


def test_interactive_shell_from_stdin(xmldir: Path) -> None:
    assert_same(["-c", "test:///default"], xmldir,
                stdin="list --all\ndestroy test\ndomstate test --reason\nquit\n")
    assert_same(["-c", "test:///default"], xmldir, stdin="uri\n")


def test_event_times_out(xmldir: Path) -> None:
    line = "event --all --loop --timeout 1; event --event lifecycle --domain test --timeout 1"
    assert_same(["-c", "test:///default", line], xmldir)


@pytest.mark.skipif(not NODE_XML.exists(), reason=f"libvirt test corpus absent at {CORPUS}")
def test_node_file(xmldir: Path) -> None:
    uri = f"test://{NODE_XML.resolve()}"
    line = ("list --all; nodeinfo; dominfo fv0; dominfo fc4; dominfo fc5; "
            "domblklist fv0 --details; domblklist fc5 --details; domiflist fc5; "
            "domstate fc4 --reason; destroy fv0; start fv0; domid fv0; list --all")
    assert_same(["-c", uri, line], xmldir)
    line = ("dumpxml fv0; dumpxml fv0 --inactive; dumpxml fc4; dumpxml fc5 --inactive; "
            "destroy fc5; dumpxml fc5; start fc5; dumpxml fc5")
    assert_same(["-c", uri, line], xmldir)
    inline = f"test://{(NODE_XML.parent / 'testnodeinline.xml').resolve()}"
    assert_same(["-c", inline, "list --all; dominfo fv0; dumpxml fv0; dumpxml fc5 --inactive"],
                xmldir)
