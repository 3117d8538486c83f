"""Golden conformance: libvirt's domaincapsdata, regenerated from the same QMP recordings.

libvirt produced tests/domaincapsdata/qemu_<ver>{,-q35,-tcg}.x86_64.xml from
tests/qemucapabilitiesdata/caps_<ver>.x86_64.replies with a fixed test host (firmware
list, VFIO, swtpm, Hyper-V caps). We feed the same replies through QemuCaps.from_replies and
our formatter with that host description and require byte equality.
"""

from __future__ import annotations

import difflib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.caps import QemuCaps
from pyvirt.drivers.qemu.cpumodel import DEFAULT_CPU_MAP, CpuMapData
from pyvirt.drivers.qemu.domcapsxml import (
    DomCapsHost,
    FirmwareDescriptor,
    domain_capabilities_xml,
    load_firmware_descriptors,
)
from pyvirt.errors import ErrorCode, VirtError

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests"

# The host libvirt's test suite pretends to run on (its qemu.conf nvram list and mocks).
TEST_LOADERS = (
    "/usr/share/AAVMF/AAVMF_CODE.fd",
    "/usr/share/AAVMF/AAVMF32_CODE.fd",
    "/usr/share/OVMF/OVMF_CODE.fd",
)
# Firmware descriptors shaped like libvirt's test host: a secure-boot (SMM) UEFI build for
# q35, a plain UEFI build for both machine types, and SeaBIOS.
TEST_DESCRIPTORS = (
    FirmwareDescriptor("/usr/share/OVMF/OVMF_CODE.secboot.fd", ("uefi",),
                       (("x86_64", ("pc-q35-*",)),), ("requires-smm", "secure-boot")),
    FirmwareDescriptor("/usr/share/OVMF/OVMF_CODE.fd", ("uefi",),
                       (("x86_64", ("pc-i440fx-*", "pc-q35-*")),)),
    FirmwareDescriptor("/usr/share/seabios/bios-256k.bin", ("bios",),
                       (("x86_64", ("pc-i440fx-*", "pc-q35-*")),)),
)
HYPERV_80 = ("relaxed", "vapic", "spinlocks", "vpindex", "runtime", "synic", "stimer", "reset",
             "vendor_id", "frequencies", "reenlightenment", "tlbflush", "ipi", "avic")
CASES = [
    ("7.2.0", "", {"virttype": "kvm"}, None),
    ("7.2.0", "-q35", {"virttype": "kvm", "machine": "q35"}, None),
    ("7.2.0", "-tcg", {"virttype": "qemu"}, None),
    ("8.0.0", "", {"virttype": "kvm"}, HYPERV_80),
    ("8.0.0", "-q35", {"virttype": "kvm", "machine": "q35"}, HYPERV_80),
    ("8.0.0", "-tcg", {"virttype": "qemu"}, HYPERV_80),
]


def _need(p: Path) -> Path:
    if not p.exists():
        pytest.skip(f"libvirt test corpus not found at {p} (clone ../shared beside the repo)")
    return p


def _caps(ver: str) -> QemuCaps:
    return QemuCaps.from_replies(_need(DATA / "qemucapabilitiesdata" / f"caps_{ver}.x86_64.replies"))


@pytest.mark.parametrize(("ver", "suffix", "kw", "hyperv"), CASES,
                         ids=[f"{c[0]}{c[1]}" for c in CASES])
def test_domcaps_golden(ver: str, suffix: str, kw: dict[str, str],
                        hyperv: tuple[str, ...] | None) -> None:
    if CpuMapData.load(DEFAULT_CPU_MAP) is None:
        pytest.skip(f"no CPU map at {DEFAULT_CPU_MAP}: host-model cannot be computed")
    want = _need(DATA / "domaincapsdata" / f"qemu_{ver}{suffix}.x86_64.xml").read_text()
    host = DomCapsHost(loaders=TEST_LOADERS, descriptors=TEST_DESCRIPTORS, vfio=True,
                       swtpm_versions=("2.0",), hyperv=hyperv)
    got = domain_capabilities_xml(_caps(ver), host=host, **kw)
    diff = "\n".join(difflib.unified_diff(want.splitlines(), got.splitlines(), "libvirt",
                                          "pyvirt", lineterm="", n=1))
    assert got == want, diff


def test_domcaps_without_cpu_map_says_host_model_unsupported(tmp_path: Path) -> None:
    host = DomCapsHost(cpu_map=tmp_path / "nothing")
    got = domain_capabilities_xml(_caps("7.2.0"), virttype="qemu", host=host)
    assert "<mode name='host-model' supported='no'/>" in got
    assert "<model usable='yes' vendor='unknown'>qemu64</model>" in got


def test_domcaps_errors() -> None:
    caps = _caps("7.2.0")
    host = DomCapsHost()
    with pytest.raises(VirtError) as e:
        domain_capabilities_xml(caps, machine="no-such-machine", virttype="qemu", host=host)
    assert e.value.code == ErrorCode.INVALID_ARG
    with pytest.raises(VirtError) as e:
        domain_capabilities_xml(caps, arch="aarch64", virttype="qemu", host=host)
    assert e.value.code == ErrorCode.INVALID_ARG
    assert e.value.message == ("invalid argument: architecture from emulator 'x86_64' doesn't "
                               "match given architecture 'aarch64'")
    # an x86_64 binary also serves i686 guests, and says so in <arch>
    assert "<arch>i686</arch>" in domain_capabilities_xml(caps, arch="i686", virttype="qemu",
                                                          host=host)
    with pytest.raises(VirtError) as e:
        domain_capabilities_xml(caps, virttype="xen", host=host)
    assert e.value.code == ErrorCode.INVALID_ARG
    assert e.value.message == ("invalid argument: Emulator '/usr/bin/qemu-system-x86_64' does "
                               "not support virt type 'xen'")
    assert int(e.value.domain) == 10  # VIR_FROM_QEMU


def test_domcaps_kvm_refused_when_kvm_unusable() -> None:
    path = _need(DATA / "qemucapabilitiesdata" / "caps_7.2.0.x86_64.replies")
    from pyvirt.drivers.qemu.caps import parse_replies

    caps = QemuCaps.from_conversation(parse_replies(path.read_text()), "/usr/bin/qemu-system-x86_64",
                                      kvm_usable=False, kvm_unusable_reason="kvm_pvm")
    assert not caps.kvm_available
    with pytest.raises(VirtError) as e:
        domain_capabilities_xml(caps, virttype="kvm", host=DomCapsHost())
    assert e.value.code == ErrorCode.INVALID_ARG
    # libvirt 9.0's words on a KVM-less host (checked with an unprivileged qemu:///session)
    assert e.value.message == ("invalid argument: the accel 'kvm' is not supported by "
                               "'/usr/bin/qemu-system-x86_64' on this host")
    # default virttype follows what really works
    assert "<domain>qemu</domain>" in domain_capabilities_xml(caps, host=DomCapsHost())


def test_firmware_descriptors(tmp_path: Path) -> None:
    usr, etc = tmp_path / "usr", tmp_path / "etc"
    usr.mkdir()
    etc.mkdir()

    def desc(kind: str, path: str, machines: list[str], features: list[str]) -> str:
        mapping = ({"device": "flash", "executable": {"filename": path, "format": "raw"}}
                   if kind == "uefi" else {"device": "memory", "filename": path})
        return json.dumps({"interface-types": [kind], "mapping": mapping,
                           "targets": [{"architecture": "x86_64", "machines": machines}],
                           "features": features})

    (usr / "50-ovmf-secboot.json").write_text(desc("uefi", "/fw/secboot.fd", ["pc-q35-*"],
                                                   ["requires-smm", "secure-boot"]))
    (usr / "60-ovmf.json").write_text(desc("uefi", "/fw/ovmf.fd", ["pc-*"], []))
    (usr / "70-masked.json").write_text(desc("uefi", "/fw/masked.fd", ["pc-*"], []))
    (etc / "70-masked.json").write_text("")  # an empty file in /etc masks the packaged one
    (usr / "80-bios.json").write_text(desc("bios", "/fw/bios.bin", ["pc-i440fx-*"], []))
    descs = load_firmware_descriptors((usr, etc))
    assert [d.path for d in descs] == ["/fw/secboot.fd", "/fw/ovmf.fd", "/fw/bios.bin"]

    caps = _caps("7.2.0")
    host = DomCapsHost(descriptors=descs)
    pc = ET.fromstring(domain_capabilities_xml(caps, virttype="qemu", host=host))
    q35 = ET.fromstring(domain_capabilities_xml(caps, virttype="qemu", machine="q35", host=host))
    assert [v.text for v in pc.findall("os/enum[@name='firmware']/value")] == ["bios", "efi"]
    assert [v.text for v in q35.findall("os/enum[@name='firmware']/value")] == ["efi"]
    assert [v.text for v in pc.findall("os/loader/value")] == ["/fw/ovmf.fd", "/fw/bios.bin"]
    assert [v.text for v in q35.findall("os/loader/value")] == ["/fw/secboot.fd", "/fw/ovmf.fd"]
    assert [v.text for v in pc.findall("os/loader/enum[@name='secure']/value")] == ["no"]
    assert [v.text for v in q35.findall("os/loader/enum[@name='secure']/value")] == ["yes", "no"]
