"""Capabilities probed from the installed QEMU, the per-binary cache, and the libvirt oracle."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.caps import Accel, QemuCapFlag, QemuCaps
from pyvirt.drivers.qemu.caps_probe import (
    cache_file,
    find_emulators,
    kvm_usable,
    load_caps,
    probe_caps,
)
from pyvirt.drivers.qemu.capsxml import capabilities_xml, connect_capabilities, describe_host
from pyvirt.drivers.qemu.domcapsxml import connect_domain_capabilities, domain_capabilities_xml
from pyvirt.errors import ErrorCode, ErrorDomain, OperationFailed, VirtError

QEMU = "/usr/bin/qemu-system-x86_64"
REPO = Path(__file__).resolve().parents[1].parent
REPLIES = (REPO / ".." / "shared" / "libvirt-testdata" / "tests" / "qemucapabilitiesdata"
           / "caps_7.2.0.x86_64.replies")

pytestmark = pytest.mark.skipif(not os.access(QEMU, os.X_OK), reason=f"{QEMU} not installed")


class CountingProber:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, binary: str) -> QemuCaps:
        self.calls += 1
        return await probe_caps(binary)


@pytest.fixture(scope="module")
def real_caps_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("capscache")


def _qemu_version_text() -> str:
    return subprocess.run([QEMU, "--version"], capture_output=True, text=True, check=True).stdout


async def test_probe_real_binary(tmp_path: Path) -> None:
    caps = await load_caps(QEMU, tmp_path)
    out = _qemu_version_text()
    m = re.search(r"version (\d+)\.(\d+)\.(\d+)", out)
    assert m is not None
    major, minor, micro = map(int, m.groups())
    assert caps.version == major * 1_000_000 + minor * 1000 + micro
    assert caps.version_str == f"{major}.{minor}.{micro}"
    assert caps.package and caps.package in out
    assert caps.arch == "x86_64"
    ok, why = kvm_usable()
    assert caps.kvm_available == ok
    assert (caps.accel(Accel.KVM) is not None) == ok
    if not ok:
        assert caps.kvm_unusable_reason == why
        assert QemuCapFlag.KVM not in caps.flags
    tcg = caps.tcg
    assert tcg.default_machine() is not None
    assert tcg.machine("q35") is not None and tcg.machine("pc") is not None
    assert tcg.host_cpu_props and any(m.usable for m in tcg.cpu_models)
    for f in (QemuCapFlag.TCG, QemuCapFlag.BLOCKDEV, QemuCapFlag.DEVICE_JSON):
        assert f in caps.flags
    assert caps.is_device_type("virtio-blk-pci") and not caps.is_device_type("memory-backend-file")
    assert caps.device_prop("virtio-blk-pci", "addr") is not None


async def test_recorded_device_typing_agrees_with_probe(tmp_path: Path) -> None:
    if not REPLIES.exists():
        pytest.skip(f"libvirt test corpus not found at {REPLIES}")
    probed = await load_caps(QEMU, tmp_path)
    recorded = QemuCaps.from_replies(REPLIES)
    common = [t for t in probed.qom_types if t in recorded.qom_types]
    assert len(common) > 300
    assert [t for t in common if probed.is_device_type(t) != recorded.is_device_type(t)] == []


async def test_cache_second_load_does_not_spawn(tmp_path: Path) -> None:
    counter = CountingProber()
    first = await load_caps(QEMU, tmp_path, prober=counter)
    assert counter.calls == 1
    assert cache_file(tmp_path, QEMU).exists()
    second = await load_caps(QEMU, tmp_path, prober=counter)
    assert counter.calls == 1
    assert second == first


def test_cache_used_by_another_process(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
        import asyncio
        from pathlib import Path
        from pyvirt.drivers.qemu.caps_probe import load_caps
        asyncio.run(load_caps({QEMU!r}, Path({str(tmp_path)!r})))
    """)], check=True, timeout=60)
    # The second process may not spawn anything: its prober fails if called.
    script = textwrap.dedent(f"""
        import asyncio, json
        from pathlib import Path
        from pyvirt.drivers.qemu.caps_probe import load_caps
        async def refuse(binary):
            raise SystemExit("prober called: cache not used")
        caps = asyncio.run(load_caps({QEMU!r}, Path({str(tmp_path)!r}), prober=refuse))
        print(json.dumps([caps.version, caps.default_machine()]))
    """)
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 0, r.stderr
    version, machine = json.loads(r.stdout)
    assert version >= 7_000_000 and machine


async def test_cache_invalidated_by_binary_change_and_corruption(tmp_path: Path) -> None:
    wrapper = tmp_path / "qemu-wrapper"
    wrapper.write_text(f'#!/bin/sh\nexec {QEMU} "$@"\n')
    wrapper.chmod(0o755)
    cache = tmp_path / "cache"
    counter = CountingProber()
    caps = await load_caps(str(wrapper), cache, prober=counter)
    assert caps.binary == str(wrapper) and counter.calls == 1
    await load_caps(str(wrapper), cache, prober=counter)
    assert counter.calls == 1
    st = wrapper.stat()
    os.utime(wrapper, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    await load_caps(str(wrapper), cache, prober=counter)
    assert counter.calls == 2
    cache_file(cache, str(wrapper)).write_text("{not json")
    await load_caps(str(wrapper), cache, prober=counter)
    assert counter.calls == 3
    await load_caps(str(wrapper), cache, prober=counter)
    assert counter.calls == 3
    assert not list(cache.glob(".*.tmp"))  # atomic writes leave no temporaries


async def test_probe_failure_is_operation_failed(tmp_path: Path) -> None:
    bogus = tmp_path / "not-qemu"
    bogus.write_text("#!/bin/sh\nexit 1\n")
    bogus.chmod(0o755)
    with pytest.raises(OperationFailed):
        await load_caps(str(bogus), tmp_path / "c")
    with pytest.raises(VirtError) as e:
        await load_caps(str(tmp_path / "missing"), tmp_path / "c")
    assert e.value.code == ErrorCode.SYSTEM_ERROR


def _virsh(*args: str) -> str:
    if shutil.which("virsh") is None:
        pytest.skip("virsh (the libvirt oracle) is not installed")
    r = subprocess.run(["virsh", "-c", "qemu:///system", *args], capture_output=True, text=True,
                       timeout=60, check=False)
    if r.returncode != 0:
        pytest.skip(f"libvirtd oracle not reachable: {r.stderr.strip()}")
    return r.stdout.rstrip("\n") + "\n"  # virsh adds blank lines after the document


@pytest.mark.oracle
@pytest.mark.parametrize("machine", [None, "q35", "pc-i440fx-2.0"])
async def test_domcapabilities_matches_libvirt(tmp_path: Path, machine: str | None) -> None:
    args = ["domcapabilities", "--virttype", "qemu"] + (["--machine", machine] if machine else [])
    want = _virsh(*args)
    caps = await load_caps(QEMU, tmp_path)
    assert domain_capabilities_xml(caps, machine=machine, virttype="qemu") == want


@pytest.mark.oracle
async def test_capabilities_matches_libvirt(tmp_path: Path) -> None:
    binaries = [b for b in (QEMU, "/usr/bin/qemu-system-i386") if os.access(b, os.X_OK)]
    caps = [await load_caps(b, tmp_path) for b in binaries]
    # This VM's memory is resized now and then: describe the host on both sides of the
    # virsh call and accept either.
    before = capabilities_xml(caps, describe_host())
    want = _virsh("capabilities")
    after = capabilities_xml(caps, describe_host())

    def normalize(xml: str) -> str:
        # Deliberate differences (see capsxml's docstring): host UUID source, the DAC
        # security model, and <domain type='kvm'/> only where KVM really works.
        xml = re.sub(r"<uuid>[^<]*</uuid>", "<uuid/>", xml)
        xml = re.sub(r"    <secmodel>\n      <model>dac</model>.*?</secmodel>\n", "", xml,
                     flags=re.DOTALL)
        if not kvm_usable()[0]:
            xml = xml.replace("      <domain type='kvm'/>\n", "")
        return xml

    assert normalize(want) in (normalize(before), normalize(after))


@pytest.mark.oracle
async def test_domcapabilities_i686_picks_i386_binary(tmp_path: Path) -> None:
    if not os.access("/usr/bin/qemu-system-i386", os.X_OK):
        pytest.skip("qemu-system-i386 not installed")
    want = _virsh("domcapabilities", "--virttype", "qemu", "--arch", "i686")
    got = await connect_domain_capabilities(tmp_path, None, "i686", None, "qemu")
    assert "<path>/usr/bin/qemu-system-i386</path>" in got
    assert got == want


@pytest.mark.parametrize(("args", "code"), [
    ((None, "aarch64", None, None), ErrorCode.CONFIG_UNSUPPORTED),
    (("/usr/bin/nope", None, None, None), ErrorCode.SYSTEM_ERROR),
    ((None, None, "nonesuch", "qemu"), ErrorCode.INVALID_ARG),
    ((None, None, None, "xen"), ErrorCode.INVALID_ARG),
])
async def test_domcapabilities_errors_as_libvirt(
    tmp_path: Path, args: tuple[str | None, str | None, str | None, str | None], code: ErrorCode
) -> None:
    """Same codes libvirt 9.0 returns for these calls (checked with python3-libvirt)."""
    with pytest.raises(VirtError) as e:
        await connect_domain_capabilities(tmp_path, *args)
    assert e.value.code == code
    assert e.value.domain == ErrorDomain.QEMU


async def test_connect_capabilities_lists_installed_emulators(tmp_path: Path) -> None:
    xml = await connect_capabilities(tmp_path)
    for b in find_emulators():
        assert f"<emulator>{b}</emulator>" in xml


async def test_cache_reprobes_when_kvm_usability_changes(tmp_path: Path) -> None:
    counter = CountingProber()
    await load_caps(QEMU, tmp_path, prober=counter, kvm_check=lambda: (False, "x"))
    await load_caps(QEMU, tmp_path, prober=counter, kvm_check=lambda: (False, "x"))
    assert counter.calls == 1
    await load_caps(QEMU, tmp_path, prober=counter, kvm_check=lambda: (True, ""))
    assert counter.calls == 2
