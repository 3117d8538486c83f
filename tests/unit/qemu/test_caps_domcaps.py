"""Golden conformance: libvirt's domaincapsdata, regenerated from the same QMP recordings.

libvirt produced tests/domaincapsdata/qemu_<ver>{,-q35,-tcg}.x86_64.xml from
tests/qemucapabilitiesdata/caps_<ver>.x86_64.replies with a fixed test host (firmware
list, VFIO, swtpm, Hyper-V caps). We feed the same replies through QemuCaps.from_replies and
our formatter with that host description and require byte equality.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.caps import QemuCaps
from pyvirt.drivers.qemu.cpumodel import DEFAULT_CPU_MAP, CpuMapData
from pyvirt.drivers.qemu.domcapsxml import DomCapsHost, domain_capabilities_xml
from pyvirt.errors import ErrorCode, VirtError

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests"

# The host libvirt's test suite pretends to run on (its qemu.conf nvram list and mocks).
TEST_LOADERS = (
    "/usr/share/AAVMF/AAVMF_CODE.fd",
    "/usr/share/AAVMF/AAVMF32_CODE.fd",
    "/usr/share/OVMF/OVMF_CODE.fd",
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
    host = DomCapsHost(firmwares=("bios", "efi"), loaders=TEST_LOADERS, vfio=True,
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
