"""capabilities XML from recorded caps and a fabricated host description."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from pyvirt.drivers.base import NodeInfo
from pyvirt.drivers.qemu.caps import QemuCaps, parse_replies
from pyvirt.drivers.qemu.capsxml import HostCpuDescription, HostDescription, capabilities_xml
from pyvirt.drivers.qemu.hostinfo import CacheBank, HostCpu, NumaCell

DATA = (Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests"
        / "qemucapabilitiesdata")


def _conv(ver: str) -> list[tuple[str, Mapping[str, Any] | None, Any]]:
    p = DATA / f"caps_{ver}.x86_64.replies"
    if not p.exists():
        pytest.skip(f"libvirt test corpus not found at {p} (clone ../shared beside the repo)")
    return parse_replies(p.read_text())


def _host() -> HostDescription:
    cpus = tuple(HostCpu(i, 0, 0, i // 2, frozenset({i - i % 2, i - i % 2 + 1})) for i in range(4))
    return HostDescription(
        uuid="11111111-2222-3333-4444-555555555555",
        cpu=HostCpuDescription("x86_64", "Skylake-Client", "Intel", ("vme", "ss")),
        node=NodeInfo("x86_64", 8192, 4, 2000, 1, 1, 2, 2),
        cells=(NumaCell(0, 8192, cpus, 2048, ((0, 10),)),),
        page_sizes_kib=(2048,),
        caches=(CacheBank(0, 3, "both", 8192, frozenset({0, 1, 2, 3})),),
        huge_pages={(0, 2048): 2},
    )


def test_capabilities_structure() -> None:
    conv = _conv("7.2.0")
    x86 = QemuCaps.from_conversation(conv, "/usr/bin/qemu-system-x86_64", kvm_usable=False)
    xml = capabilities_xml([x86], _host())
    root = ET.fromstring(xml)
    assert xml.startswith("<capabilities>\n\n  <host>\n")
    assert xml.endswith("\n\n</capabilities>\n")
    h = root.find("host")
    assert h is not None
    assert h.findtext("uuid") == "11111111-2222-3333-4444-555555555555"
    assert h.findtext("cpu/model") == "Skylake-Client"
    assert [f.get("name") for f in h.findall("cpu/feature")] == ["vme", "ss"]
    assert h.find("cpu/topology").attrib == {"sockets": "1", "dies": "1", "cores": "2",  # type: ignore[union-attr]
                                             "threads": "2"}
    assert [p.get("size") for p in h.findall("cpu/pages")] == ["4", "2048"]
    cell = h.find("topology/cells/cell")
    assert cell is not None
    # 4 KiB pages = (memory - huge pages) / 4
    assert [p.text for p in cell.findall("pages")] == [str((8192 - 4096) // 4), "2"]
    assert cell.find("cpus/cpu[@id='1']").get("siblings") == "0-1"  # type: ignore[union-attr]
    assert h.find("cache/bank").attrib["size"] == "8" and h.find("cache/bank").attrib["unit"] == "MiB"  # type: ignore[union-attr]
    assert [t.text for t in h.findall("migration_features/uri_transports/uri_transport")] == [
        "tcp", "rdma"]
    assert h.findtext("secmodel/model") == "none"

    g = root.find("guest")
    assert g is not None and g.findtext("os_type") == "hvm"
    arch = g.find("arch")
    assert arch is not None and arch.get("name") == "x86_64"
    assert arch.findtext("wordsize") == "64"
    machines = arch.findall("machine")
    # default machine first, its alias right after it with canonical=
    assert machines[0].text == "pc-i440fx-7.2"
    assert machines[1].text == "pc" and machines[1].get("canonical") == "pc-i440fx-7.2"
    assert "none" not in [m.text for m in machines]
    assert len(machines) == 58 + 2  # 59 machines minus 'none', plus pc and q35 aliases
    assert any(m.get("deprecated") == "yes" for m in machines)
    # KVM not usable: only the qemu domain type
    assert [d.get("type") for d in arch.findall("domain")] == ["qemu"]
    assert [f.tag for f in g.find("features")] == [  # type: ignore[union-attr]
        "acpi", "apic", "cpuselection", "deviceboot", "disksnapshot"]


def test_kvm_domain_type_listed_when_usable() -> None:
    conv = _conv("7.2.0")
    x86 = QemuCaps.from_conversation(conv, "/usr/bin/qemu-system-x86_64", kvm_usable=True)
    root = ET.fromstring(capabilities_xml([x86], _host()))
    assert [d.get("type") for d in root.findall("guest/arch/domain")] == ["qemu", "kvm"]
