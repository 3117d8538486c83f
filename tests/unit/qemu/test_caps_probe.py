"""The QMP probe against a stand-in emulator that replays libvirt's recorded QEMU 7.2 answers.

The stand-in is a small script started exactly like QEMU (same argv, QMP on the inherited
fd). It answers from caps_7.2.0.x86_64.replies: the KVM session's answers when started with
accel=kvm, the TCG session's (falling back to the KVM session's for accelerator-independent
queries) with accel=tcg. So the whole probe -> caps -> domcapabilities pipeline can be
checked against libvirt's golden domaincapsdata without KVM on this machine.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.caps import Accel, QemuCaps
from pyvirt.drivers.qemu.caps_probe import load_caps, probe_caps
from pyvirt.drivers.qemu.cpumodel import DEFAULT_CPU_MAP, CpuMapData
from pyvirt.drivers.qemu.domcapsxml import (
    DomCapsHost,
    FirmwareDescriptor,
    domain_capabilities_xml,
)
from pyvirt.errors import OperationFailed

# libvirt's test host (as in test_caps_domcaps): its nvram list, and descriptors with a
# secure-boot UEFI build for q35 and a plain one for every pc machine.
TEST_LOADERS = ("/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF32_CODE.fd",
                "/usr/share/OVMF/OVMF_CODE.fd")
TEST_DESCRIPTORS = (
    FirmwareDescriptor("/fw/secboot.fd", ("uefi",), (("x86_64", ("pc-q35-*",)),),
                       ("requires-smm",)),
    FirmwareDescriptor("/fw/ovmf.fd", ("uefi",), (("x86_64", ("pc-*",)),)),
    FirmwareDescriptor("/fw/bios.bin", ("bios",), (("x86_64", ("pc-*",)),)),
)

TESTS = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests"
REPLIES = TESTS / "qemucapabilitiesdata" / "caps_7.2.0.x86_64.replies"

FAKE_QEMU = r'''#!{python}
import json, re, socket, sys
sys.path.insert(0, {repo!r})
from pyvirt.drivers.qemu.caps import parse_replies

argv = sys.argv[1:]
fd = int(re.search(r"fd=(\d+)", argv[argv.index("-chardev") + 1]).group(1))
accel = re.search(r"accel=(\w+)", argv[argv.index("-machine") + 1]).group(1)
sessions = [[]]
for cmd, args, reply in parse_replies(open({replies!r}).read()):
    if cmd == "qmp_capabilities" and sessions[-1]:
        sessions.append([])
    sessions[-1].append((cmd, args, reply))
order = [sessions[0]] if accel == "kvm" else [sessions[-1], sessions[0]]
sock = socket.socket(fileno=fd)
f = sock.makefile("rwb", buffering=0)

def send(obj):
    f.write(json.dumps(obj).encode() + b"\r\n")

def answer(cmd, args):
    for exact in (True, False):
        for sess in order:
            for c, a, r in sess:
                if c == cmd and (a == args or not exact):
                    return r
    return {{"error": {{"class": "CommandNotFound", "desc": "no recorded answer"}}}}

send({{"QMP": {{"version": {{}}, "capabilities": []}}}})
for line in f:
    msg = json.loads(line)
    if msg["execute"] == "quit":
        send({{"return": {{}}, "id": msg.get("id")}})
        break
    r = answer(msg["execute"], msg.get("arguments"))
    if isinstance(r, dict) and set(r) == {{"error"}}:
        send({{"error": r["error"], "id": msg.get("id")}})
    else:
        send({{"return": r, "id": msg.get("id")}})
'''


@pytest.fixture
def fake_qemu(tmp_path: Path) -> str:
    if not REPLIES.exists():
        pytest.skip(f"libvirt test corpus not found at {REPLIES}")
    repo = str(Path(__file__).resolve().parents[3])
    p = tmp_path / "qemu-system-x86_64"
    p.write_text(FAKE_QEMU.format(python=sys.executable, repo=repo, replies=str(REPLIES)))
    p.chmod(0o755)
    return str(p)


async def test_probe_with_kvm_session_matches_recording(fake_qemu: str) -> None:
    caps = await probe_caps(fake_qemu, kvm_check=lambda: (True, ""))
    recorded = QemuCaps.from_replies(REPLIES, binary=fake_qemu)
    assert [a.accel for a in caps.accels] == [Accel.KVM, Accel.TCG]
    assert caps.kvm_available
    assert caps.version == recorded.version and caps.package == recorded.package
    assert caps.accels == recorded.accels
    assert caps.flags == recorded.flags
    assert caps.commands == recorded.commands


async def test_probe_pipeline_reproduces_golden_domcaps(fake_qemu: str) -> None:
    if CpuMapData.load(DEFAULT_CPU_MAP) is None:
        pytest.skip(f"no CPU map at {DEFAULT_CPU_MAP}: host-model cannot be computed")
    caps = await probe_caps(fake_qemu, kvm_check=lambda: (True, ""))
    host = DomCapsHost(descriptors=TEST_DESCRIPTORS, vfio=True, swtpm_versions=("2.0",),
                       hyperv=None, loaders=TEST_LOADERS)
    for suffix, vt in (("", "kvm"), ("-tcg", "qemu")):
        want = (TESTS / "domaincapsdata" / f"qemu_7.2.0{suffix}.x86_64.xml").read_text()
        got = domain_capabilities_xml(caps, virttype=vt, host=host)
        assert got.replace(fake_qemu, "/usr/bin/qemu-system-x86_64") == want


async def test_probe_without_kvm_has_tcg_only(fake_qemu: str, tmp_path: Path) -> None:
    caps = await probe_caps(fake_qemu, kvm_check=lambda: (False, "no /dev/kvm"))
    assert [a.accel for a in caps.accels] == [Accel.TCG]
    assert not caps.kvm_available and caps.kvm_unusable_reason == "no /dev/kvm"
    # TCG answers are the TCG session's: n270 is usable under TCG, not under KVM
    n270 = next(m for m in caps.tcg.cpu_models if m.name == "n270")
    assert n270.usable is True


async def test_cache_file_is_json_keyed_by_binary(fake_qemu: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    calls = 0

    async def prober(binary: str) -> QemuCaps:
        nonlocal calls
        calls += 1
        return await probe_caps(binary, kvm_check=lambda: (False, "test"))

    c1 = await load_caps(fake_qemu, cache, prober=prober)
    c2 = await load_caps(fake_qemu, cache, prober=prober)
    assert calls == 1 and c1 == c2
    (entry,) = cache.glob("*.json")
    data = json.loads(entry.read_text())
    assert data["key"]["path"] == fake_qemu
    assert data["key"]["size"] == Path(fake_qemu).stat().st_size


async def test_emulator_that_dies_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "qemu-broken"
    bad.write_text("#!/bin/sh\necho 'qemu: could not load PC BIOS' >&2\nexit 1\n")
    bad.chmod(0o755)
    with pytest.raises(OperationFailed) as e:
        await probe_caps(str(bad), kvm_check=lambda: (False, ""))
    assert "Failed to probe capabilities" in e.value.message
    assert "could not load PC BIOS" in e.value.message
