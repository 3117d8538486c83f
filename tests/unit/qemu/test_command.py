"""Argv builder unit tests: accelerator choice, refusals with precise messages, purity."""

from __future__ import annotations

import builtins
import os
from pathlib import Path

import pytest

from pyvirt.conf.domain import parse_domain
from pyvirt.drivers.qemu.caps import QemuCaps
from pyvirt.drivers.qemu.command import CommandRuntime, build
from pyvirt.drivers.qemu.command.util import qescape, qjson
from pyvirt.drivers.qemu.postparse import postparse
from pyvirt.errors import ConfigUnsupported, ErrorCode

CAPS = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests" / "qemucapabilitiesdata"


@pytest.fixture(scope="module")
def caps() -> QemuCaps:
    f = CAPS / "caps_7.2.0.x86_64.replies"
    if not f.is_file():
        pytest.skip(f"libvirt test corpus not found at {CAPS}")
    return QemuCaps.from_replies(f)


def domain(devices: str = "", dtype: str = "qemu", machine: str = "pc", extra: str = "") -> str:
    return f"""<domain type='{dtype}'>
  <name>t1</name><uuid>11111111-2222-3333-4444-555555555555</uuid>
  <memory unit='MiB'>64</memory><vcpu>2</vcpu>
  <os><type arch='x86_64' machine='{machine}'>hvm</type></os>{extra}
  <devices>{devices}</devices>
</domain>"""


def argv_of(xml: str, caps: QemuCaps, rt: CommandRuntime | None = None) -> list[str]:
    defn = postparse(parse_domain(xml), caps)
    return build(defn, caps, rt or CommandRuntime(domain_dir="/d", monitor_fd=7))


def test_qemu_type_is_tcg_never_kvm(caps: QemuCaps) -> None:
    argv = argv_of(domain(), caps)
    i = argv.index("-accel")
    assert argv[i + 1] == "tcg"
    assert "kvm" not in " ".join(argv)
    assert argv.count("-accel") == 1


def test_kvm_type_refused_when_kvm_unusable(caps: QemuCaps) -> None:
    import dataclasses

    nokvm = dataclasses.replace(caps, kvm_available=False, kvm_unusable_reason="PVM cannot boot guests")
    with pytest.raises(ConfigUnsupported) as ei:
        argv_of(domain(dtype="kvm"), nokvm)
    assert ei.value.code == ErrorCode.CONFIG_UNSUPPORTED
    assert ei.value.message == (
        "unsupported configuration: domain type 'kvm' is not available on this host: PVM cannot boot guests")
    withkvm = dataclasses.replace(caps, kvm_available=True)
    argv = argv_of(domain(dtype="kvm"), withkvm)
    assert argv[argv.index("-accel") + 1] == "kvm"


@pytest.mark.parametrize(("devices", "machine", "message"), [
    ("<disk type='file' device='cdrom'><source file='/x.iso'/><target dev='vda' bus='virtio'/></disk>",
     "pc", "unsupported configuration: virtio disk device 'cdrom'"),
    ("<disk type='file' device='disk'><source file='/x.img'/><target dev='hda' bus='ide'/></disk>",
     "q35", "unsupported configuration: IDE controllers are unsupported for this QEMU binary or machine type"),
    ("<interface type='user'><model type='ne2k_pci'/></interface>", "pc",
     "unsupported configuration: interface model 'ne2k_pci' is not supported"),
    ("<graphics type='spice'/>", "pc", "unsupported configuration: graphics type 'spice' is not supported"),
])
def test_bad_combinations(devices: str, machine: str, message: str, caps: QemuCaps) -> None:
    with pytest.raises(ConfigUnsupported) as ei:
        argv_of(domain(devices, machine=machine), caps)
    assert ei.value.message == message


def test_host_passthrough_needs_kvm(caps: QemuCaps) -> None:
    with pytest.raises(ConfigUnsupported, match="host-passthrough"):
        argv_of(domain(extra="<cpu mode='host-passthrough'/>"), caps)


def test_head_order_and_runtime(caps: QemuCaps) -> None:
    rt = CommandRuntime(domain_dir="/run/d", monitor_fd=9, start_paused=True, no_shutdown=True)
    argv = argv_of(domain(), caps, rt)
    assert argv[0] == "/usr/bin/qemu-system-x86_64" or argv[0] == caps.binary
    assert argv[1:4] == ["-name", "guest=t1,debug-threads=on", "-S"]
    assert "socket,id=charmonitor,fd=9,server=on,wait=off" in argv
    assert argv[argv.index("-m") + 1] == "64"
    assert argv[argv.index("-smp") + 1] == "2,sockets=2,cores=1,threads=1"
    assert argv[-2:] == ["-msg", "timestamp=on"]
    no_s = argv_of(domain(), caps, CommandRuntime(start_paused=False, no_shutdown=False))
    assert "-S" not in no_s and "-no-shutdown" not in no_s


def test_builder_is_pure(caps: QemuCaps, monkeypatch: pytest.MonkeyPatch) -> None:
    """No file access and no os calls while building (it may run inside the event loop)."""
    defn = postparse(parse_domain(domain(
        "<serial type='file'><source path='/tmp/s.log'/><log file='/tmp/l.log'/></serial>")), caps)

    def boom(*a: object, **k: object) -> None:
        raise AssertionError("I/O during build")

    monkeypatch.setattr(builtins, "open", boom)
    for name in ("stat", "open", "listdir", "getpid", "getenv"):
        monkeypatch.setattr(os, name, boom)
    a = build(defn, caps, CommandRuntime())
    b = build(defn, caps, CommandRuntime())
    assert a == b


def test_quoting_helpers() -> None:
    assert qescape("a,b") == "a,,b"
    assert qjson({"b": 1, "a": "x"}) == '{"b":1,"a":"x"}'


def test_name_with_comma_is_escaped(caps: QemuCaps) -> None:
    argv = argv_of(domain().replace("<name>t1</name>", "<name>a,b</name>"), caps)
    assert argv[argv.index("-name") + 1] == "guest=a,,b,debug-threads=on"


def test_tap_nic_uses_the_fds_it_is_given(caps: QemuCaps) -> None:
    nic = "<interface type='ethernet'><mac address='52:54:00:00:00:07'/><model type='virtio'/></interface>"
    rt = CommandRuntime(tap_fds={"net0": (30,)}, vhost_fds={"net0": (31,)})
    argv = argv_of(domain(nic), caps, rt)
    assert argv[argv.index("-netdev") + 1] == '{"type":"tap","fd":"30","vhost":true,"vhostfd":"31","id":"hostnet0"}'
    multi = CommandRuntime(tap_fds={"net0": (30, 32)})
    argv = argv_of(domain(nic), caps, multi)
    assert argv[argv.index("-netdev") + 1] == '{"type":"tap","fds":"30:32","id":"hostnet0"}'
    with pytest.raises(ConfigUnsupported) as ei:
        argv_of(domain(nic), caps)
    assert ei.value.message == "unsupported configuration: interface 'net0' of type 'ethernet' needs a tap device fd"
