"""QemuCaps.from_replies on libvirt's recorded QMP conversations, and the cache JSON form."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pyvirt.drivers.qemu.caps import Accel, QemuCapFlag, QemuCaps, parse_replies
from pyvirt.drivers.qemu.qapi_schema import QapiSchema

DATA = (Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "tests"
        / "qemucapabilitiesdata")


def _replies(ver: str) -> Path:
    p = DATA / f"caps_{ver}.x86_64.replies"
    if not p.exists():
        pytest.skip(f"libvirt test corpus not found at {p} (clone ../shared beside the repo)")
    return p


@pytest.fixture(scope="module")
def caps72() -> QemuCaps:
    return QemuCaps.from_replies(_replies("7.2.0"))


def test_identity(caps72: QemuCaps) -> None:
    assert caps72.version == 7_002_000
    assert caps72.version_str == "7.2.0"
    assert caps72.package == "v7.2.0"
    assert caps72.arch == "x86_64"
    assert caps72.binary == "/usr/bin/qemu-system-x86_64"


def test_both_sessions_recorded(caps72: QemuCaps) -> None:
    # The recording host had KVM: a KVM session then a TCG one, with different CPU answers.
    assert caps72.kvm_available
    assert [a.accel for a in caps72.accels] == [Accel.KVM, Accel.TCG]
    kvm, tcg = caps72.accel(Accel.KVM), caps72.tcg
    assert kvm is not None
    n270_kvm = next(m for m in kvm.cpu_models if m.name == "n270")
    n270_tcg = next(m for m in tcg.cpu_models if m.name == "n270")
    assert n270_kvm.usable is False and "ss" in n270_kvm.blockers
    assert n270_tcg.usable is True
    assert "invtsc" in kvm.host_cpu_nonmigratable
    assert tcg.host_cpu_model == "base" and tcg.host_cpu_props["vendor"] == "AuthenticAMD"


def test_machines(caps72: QemuCaps) -> None:
    assert caps72.default_machine() == "pc-i440fx-7.2"
    ms = caps72.machines()
    pc = caps72.tcg.machine("pc")
    assert pc is not None and pc.name == "pc-i440fx-7.2" and pc.max_cpus == 255 and pc.is_default
    q35 = caps72.tcg.machine("q35")
    assert q35 is not None and q35.name == "pc-q35-7.2" and q35.max_cpus == 288
    assert any(m.deprecated for m in ms)
    assert len(ms) == 59


def test_types_commands_props(caps72: QemuCaps) -> None:
    assert "blockdev-add" in caps72.commands and "device_add" in caps72.commands
    assert "SHUTDOWN" in caps72.events
    assert caps72.is_device_type("virtio-blk-pci")
    assert not caps72.is_device_type("memory-backend-file")
    assert "memory-backend-file" in caps72.object_types
    p = caps72.device_prop("virtio-blk-pci", "addr")
    assert p is not None and p.type == "int32"
    assert caps72.cmdline_has("machine", "kernel")
    assert "xbzrle" in caps72.migration_capabilities
    assert caps72.tpm_models == {"tpm-crb", "tpm-tis"}
    assert "io_uring" in caps72.qapi_enums["BlockdevAioOptions"]
    assert not caps72.sev_supported  # query-sev-capabilities answered with an error


def test_flags(caps72: QemuCaps) -> None:
    for f in (QemuCapFlag.BLOCKDEV, QemuCapFlag.DEVICE_JSON, QemuCapFlag.DEVICE_JSON_HOTPLUG,
              QemuCapFlag.OBJECT_QAPIFIED, QemuCapFlag.NETDEV_JSON, QemuCapFlag.KVM,
              QemuCapFlag.TCG, QemuCapFlag.QEMU_XHCI, QemuCapFlag.SMP_DIES,
              QemuCapFlag.BLOCKDEV_REOPEN, QemuCapFlag.AIO_IO_URING):
        assert caps72.has(f), f
    assert not caps72.has(QemuCapFlag.SGX_EPC) or not caps72.sgx_supported


def test_flags_follow_libvirt_recorded_flags(caps72: QemuCaps) -> None:
    """Every flag we compute must also be one libvirt computed from the same replies."""
    xml = _replies("7.2.0").with_suffix(".xml").read_text()
    import re

    libvirt_flags = set(re.findall(r"<flag name='([^']+)'/>", xml))
    extra = {f.value for f in caps72.flags} - libvirt_flags
    # libvirt 9.0 retired blockdev/device.json (always assumed); sev-guest/sgx-epc are QOM
    # type checks libvirt names differently.
    assert extra <= {"sev-guest", "sgx-epc", "blockdev", "device.json"}, extra
    assert len(caps72.flags) >= 60


def test_kvm_override_hides_kvm_session() -> None:
    conv = parse_replies(_replies("7.2.0").read_text())
    c = QemuCaps.from_conversation(conv, "/x", kvm_usable=False, kvm_unusable_reason="pvm")
    assert not c.kvm_available and c.kvm_unusable_reason == "pvm"
    assert [a.accel for a in c.accels] == [Accel.TCG]
    assert QemuCapFlag.KVM not in c.flags


def test_json_round_trip(caps72: QemuCaps) -> None:
    blob = json.dumps(caps72.to_json())
    back = QemuCaps.from_json(json.loads(blob))
    assert back == caps72
    assert back.flags == caps72.flags
    assert back.tcg.host_cpu_props == caps72.tcg.host_cpu_props


def test_json_rejects_other_format(caps72: QemuCaps) -> None:
    d = caps72.to_json() | {"format": -1}
    with pytest.raises(ValueError):
        QemuCaps.from_json(d)


def test_8_0_differs_from_7_2() -> None:
    c8 = QemuCaps.from_replies(_replies("8.0.0"))
    assert c8.version == 7_002_050  # libvirt's "8.0.0" recording is a 7.2.50 dev snapshot
    assert c8.version_str == "7.2.50"
    assert c8.tcg.machine("pc") is not None
    assert c8.default_machine() == "pc-i440fx-8.0"


def test_schema_queries() -> None:
    entries: list[dict[str, Any]] = [
        {"name": "cmd", "meta-type": "command", "arg-type": "1", "ret-type": "4",
         "features": ["json-cli"]},
        {"name": "1", "meta-type": "object",
         "members": [{"name": "driver", "type": "2"}, {"name": "opt", "type": "3",
                                                        "features": ["deprecated"]}],
         "tag": "driver", "variants": [{"case": "file", "type": "5"}]},
        {"name": "2", "meta-type": "enum", "values": ["file", "null"]},
        {"name": "3", "meta-type": "alternate", "members": [{"type": "2"}, {"type": "int"}]},
        {"name": "4", "meta-type": "array", "element-type": "2"},
        {"name": "5", "meta-type": "object", "members": [{"name": "filename", "type": "str"}]},
        {"name": "int", "meta-type": "builtin", "json-type": "int"},
        {"name": "str", "meta-type": "builtin", "json-type": "string"},
    ]
    s = QapiSchema(entries)
    assert s.query("cmd")
    assert not s.query("nope")
    assert s.query("cmd/$json-cli") and not s.query("cmd/$other")
    assert s.query("cmd/arg-type/driver/^null") and not s.query("cmd/arg-type/driver/^nbd")
    assert s.query("cmd/arg-type/+file/filename") and not s.query("cmd/arg-type/+nbd")
    assert s.query("cmd/arg-type/opt/$deprecated")
    assert s.query("cmd/arg-type/opt/^file")  # through the alternate
    assert s.query("cmd/ret-type/^null")  # through the array
    assert s.enum_at("cmd/arg-type/driver") == ("file", "null")
