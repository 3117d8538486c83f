"""remote/qemu_protocol.py against libvirt's qemu_protocol.x: program number, procedure
numbers, and each struct's field count."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pyvirt.remote import qemu_protocol as Q

SPEC = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata" / "src" / "remote" / "qemu_protocol.x"


@pytest.fixture(scope="module")
def spec() -> str:
    if not SPEC.is_file():
        pytest.skip(f"libvirt test data absent: {SPEC}")
    return SPEC.read_text()


def _fields(spec: str, struct: str) -> int:
    m = re.search(r"struct " + struct + r" \{(.*?)\};", spec, re.DOTALL)
    assert m is not None, struct
    return len([ln for ln in m.group(1).splitlines() if ln.strip().endswith(";")])


def test_program_and_numbers(spec: str) -> None:
    assert int(re.search(r"QEMU_PROGRAM = (0x[0-9a-f]+);", spec).group(1), 16) == Q.QEMU_PROGRAM  # type: ignore[union-attr]
    numbers = {n: int(v) for n, v in re.findall(r"QEMU_PROC_(\w+) = (\d+)", spec)}
    ours = [Q.DOMAIN_QEMU_MONITOR_COMMAND, Q.DOMAIN_QEMU_ATTACH, Q.DOMAIN_QEMU_AGENT_COMMAND,
            Q.CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER, Q.CONNECT_DOMAIN_QEMU_MONITOR_EVENT_DEREGISTER,
            Q.DOMAIN_QEMU_MONITOR_EVENT]
    for p in ours:
        assert numbers[p.name.replace("QEMU_", "", 1)] == p.number, p.name
    assert set(Q.QEMU_PROCEDURES.values()) == set(ours[:-1])


def test_struct_fields(spec: str) -> None:
    for p in Q.QEMU_PROCEDURES.values():
        if p.args_struct:
            assert _fields(spec, p.args_struct) == len(p.args._codecs), p.args_struct  # type: ignore[attr-defined]
        if p.ret_struct and p.ret_struct.startswith("qemu_"):
            assert _fields(spec, p.ret_struct) == len(p.ret._codecs), p.ret_struct  # type: ignore[attr-defined]
    msg = Q.DOMAIN_QEMU_MONITOR_EVENT
    assert _fields(spec, "qemu_domain_monitor_event_msg") == len(msg.args._codecs)  # type: ignore[attr-defined]
