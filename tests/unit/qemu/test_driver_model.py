"""QemuDriver on the project's domain model: libvirt's define errors, capabilities by arch,
messages — real QEMU binaries are probed (cached), no guest is started."""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

X86 = "/usr/bin/qemu-system-x86_64"
I386 = "/usr/bin/qemu-system-i386"
pytestmark = pytest.mark.skipif(not os.path.exists(X86), reason="qemu-system-x86_64 not installed")

_CAPS_CACHE = Path(tempfile.mkdtemp(prefix="pyvirt-caps-"))

XML = """<domain type='{vt}'>
  <name>m</name>
  <uuid>{uuid}</uuid>
  <memory unit='MiB'>64</memory>
  {os}
  <devices><memballoon model='none'/></devices>
</domain>"""
OS = "<os><type arch='x86_64' machine='q35'>hvm</type></os>"


async def open_drv(tmp_path: Path) -> QemuDriver:
    drv = await QemuDriver.open_paths(QemuPaths.embed(tmp_path / "root"))
    drv.lc.caps_cache_dir = _CAPS_CACHE
    return drv


@pytest.mark.parametrize(("vt", "os_", "code", "domain", "message"), [
    ("xen", OS, ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.QEMU,
     f"unsupported configuration: Emulator '{X86}' does not support virt type 'xen'"),
    ("qemu", "", ErrorCode.XML_ERROR, ErrorDomain.DOMAIN, "XML error: an os <type> must be specified"),
    ("foo", OS, ErrorCode.CONFIG_UNSUPPORTED, ErrorDomain.DOMAIN,
     "unsupported configuration: invalid domain type foo"),
])
async def test_define_errors_are_libvirts(tmp_path: Path, vt: str, os_: str, code: ErrorCode,
                                          domain: ErrorDomain, message: str) -> None:
    """Messages and codes as libvirtd 9.0 gives them for the same XML (checked side by side)."""
    drv = await open_drv(tmp_path)
    with pytest.raises(VirtError) as ei:
        await drv.define_xml(XML.format(vt=vt, uuid=uuid.uuid4(), os=os_))
    assert (ei.value.code, ei.value.domain, ei.value.message) == (code, domain, message)
    assert await drv.list_all_domains() == []


async def test_definition_is_the_models_canonical_form(tmp_path: Path) -> None:
    drv = await open_drv(tmp_path)
    ref = await drv.define_xml(XML.format(vt="qemu", uuid=uuid.uuid4(), os=OS))
    xml = await drv.get_xml_desc(ref, 0)
    # QEMU post-parse ran: versioned machine, emulator, default CPU, implicit controllers
    assert "machine='pc-q35-7.2'" in xml or "machine='pc-q35-" in xml
    assert f"<emulator>{X86}</emulator>" in xml
    assert "<cpu mode='custom' match='exact' check='none'>" in xml
    assert "<controller type='pci' index='0' model='pcie-root'/>" in xml
    assert "<alias" not in xml  # runtime-only parts are not kept in the definition
    info = await drv.get_info(ref)
    assert (info.max_mem, info.memory, info.nr_virt_cpu) == (65536, 65536, 1)


@pytest.mark.skipif(not os.path.exists(I386), reason="qemu-system-i386 not installed")
async def test_domain_capabilities_follow_the_arch(tmp_path: Path) -> None:
    drv = await open_drv(tmp_path)
    i686 = await drv.get_domain_capabilities(None, "i686", None, "qemu", 0)
    x86 = await drv.get_domain_capabilities(None, None, None, "qemu", 0)
    assert f"<path>{I386}</path>" in i686 and "<arch>i686</arch>" in i686
    assert f"<path>{X86}</path>" in x86 and "<arch>x86_64</arch>" in x86
    caps = await drv.get_capabilities()
    assert f"<emulator>{I386}</emulator>" in caps and f"<emulator>{X86}</emulator>" in caps


async def test_messages_flags_and_shut_off_domain(tmp_path: Path) -> None:
    drv = await open_drv(tmp_path)
    ref = await drv.define_xml(XML.format(vt="qemu", uuid=uuid.uuid4(), os=OS))
    assert await drv.get_messages(ref, 0) == []  # a shut-off domain carries no taint
    with pytest.raises(VirtError) as ei:
        await drv.get_messages(ref, 4)
    assert (ei.value.code, ei.value.message) == (
        ErrorCode.INVALID_ARG, "unsupported flags (0x4) in function qemuDomainGetMessages")
