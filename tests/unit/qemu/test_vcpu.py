"""QEMU-driver vCPU pieces without a guest: the node CPU map honours offline host CPUs, pin
info of unpinned vCPUs is the online CPUs only, --config pins land in <cputune>, and the pure
helpers (vcpupin XML edit, /proc task stat). Booted-guest behaviour is compared with libvirtd
in tests/integration/test_pyvirsh_vs_virsh_vcpu_qemu.py."""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path

import pytest

from pyvirt.conf.cpumap import from_cpumap, parse_cpuset
from pyvirt.drivers.qemu import hostinfo, vcpu
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.errors import ErrorCode, VirtError

X86 = "/usr/bin/qemu-system-x86_64"
_CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))

XML = """<domain type='qemu'>
  <name>v</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  <vcpu placement='static'>3</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><memballoon model='none'/></devices>
</domain>"""

# a host with CPUs 0-3 present and CPU 2 taken offline
OFFLINE_HOST = hostinfo.CpuMap(total=4, present=frozenset({0, 1, 2, 3}), online=frozenset({0, 1, 3}))


@pytest.fixture
def offline_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hostinfo, "cpu_map", lambda: OFFLINE_HOST)


async def test_node_cpu_map_shows_offline_cpus(offline_cpu: None, tmp_path: Path) -> None:
    drv = QemuDriver(QemuPaths.embed(tmp_path))
    m = await drv.node_get_cpu_map()
    assert (m.cpus, m.cpumap, m.online) == (4, b"\x0b", 3)  # y y - y


async def test_node_cpu_map_of_this_host(tmp_path: Path) -> None:
    drv = QemuDriver(QemuPaths.embed(tmp_path))
    m = await drv.node_get_cpu_map()
    sysfs = Path("/sys/devices/system/cpu/online")
    if not sysfs.exists():
        pytest.skip("no /sys/devices/system/cpu/online")
    online = parse_cpuset(sysfs.read_text().strip())
    assert from_cpumap(m.cpumap, m.cpus) == online
    assert m.online == len(online)
    assert m.cpus == max(parse_cpuset(Path("/sys/devices/system/cpu/present").read_text().strip())) + 1


@pytest.mark.skipif(not os.path.exists(X86), reason="qemu-system-x86_64 not installed")
async def test_pin_info_and_config_pin(offline_cpu: None, tmp_path: Path) -> None:
    drv = await QemuDriver.open_paths(QemuPaths.embed(tmp_path / "root"))
    drv.lc.caps_cache_dir = _CAPS_CACHE
    ref = await drv.define_xml(XML.format(uuid=uuid.uuid4()))
    # unpinned vCPUs may run on the online CPUs only: CPU 2 is not offered
    assert await drv.get_vcpu_pin_info(ref, 3, 1, 2) == [b"\x0b"] * 3
    await drv.pin_vcpu_flags(ref, 1, b"\x08", 2)  # vCPU 1 -> CPU 3, persistent definition
    assert await drv.get_vcpu_pin_info(ref, 3, 1, 2) == [b"\x0b", b"\x08", b"\x0b"]
    assert "<cputune>\n    <vcpupin vcpu='1' cpuset='3'/>\n  </cputune>" in await drv.get_xml_desc(ref, 0)
    with pytest.raises(VirtError) as ei:
        await drv.pin_vcpu_flags(ref, 0, b"\x04", 2)  # CPU 2 is offline
    assert ei.value.code == ErrorCode.INVALID_ARG
    with pytest.raises(VirtError) as ei:
        await drv.pin_vcpu_flags(ref, 0, b"\x01", 1)  # live on a shut-off domain
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    assert await drv.get_vcpus_flags(ref, 2 | 4) == 3
    with pytest.raises(VirtError) as ei:
        await drv.get_vcpus(ref, 3, 1)
    assert "inactive domain" in ei.value.message
    # the pin survives a fresh driver reading the config dir
    drv2 = await QemuDriver.open_paths(QemuPaths.embed(tmp_path / "root"))
    assert await drv2.get_vcpu_pin_info(ref, 3, 1, 2) == [b"\x0b", b"\x08", b"\x0b"]


def test_set_vcpupin_xml_creates_orders_and_replaces() -> None:
    xml = "<domain type='qemu'>\n  <name>v</name>\n  <vcpu placement='static'>4</vcpu>\n  <os>\n  </os>\n</domain>\n"
    one = vcpu.set_vcpupin_xml(xml, 2, "1-3")
    assert one == ("<domain type='qemu'>\n  <name>v</name>\n  <vcpu placement='static'>4</vcpu>\n"
                   "  <cputune>\n    <vcpupin vcpu='2' cpuset='1-3'/>\n  </cputune>\n  <os>\n  </os>\n</domain>\n")
    two = vcpu.set_vcpupin_xml(one, 0, "0")
    assert two.index("vcpu='0'") < two.index("vcpu='2'")
    three = vcpu.set_vcpupin_xml(two, 2, "5")
    assert "cpuset='1-3'" not in three and "<vcpupin vcpu='2' cpuset='5'/>" in three
    assert three.count("<cputune>") == 1


def test_thread_stat_reads_this_thread() -> None:
    busy = 0
    for i in range(200_000):  # spend a little CPU so the counters move
        busy += i
    t, cpu = vcpu.thread_stat(os.getpid(), threading.get_native_id())
    assert t > 0
    assert 0 <= cpu < (os.cpu_count() or 1) * 64
    assert vcpu.thread_stat(os.getpid(), 2**30) == (0, -1)  # no such thread
