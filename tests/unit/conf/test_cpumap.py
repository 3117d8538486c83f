"""Host CPU sets: libvirt's cpuset strings, cpumaps and virsh's y/- display."""

from __future__ import annotations

import pytest

from pyvirt.conf.cpumap import format_cpuset, from_cpumap, maplen, parse_cpuset, to_cpumap, yes_dash
from pyvirt.errors import ErrorCode, VirtError


@pytest.mark.parametrize(("text", "cpus"), [
    ("0", {0}),
    ("0-3", {0, 1, 2, 3}),
    ("0-3,^2", {0, 1, 3}),
    ("0-3,^2,8", {0, 1, 3, 8}),
    (" 1 , 5-6 ", {1, 5, 6}),
    ("0-7,^0-", None),
    ("3-1", None),
    ("x", None),
    ("", None),
    ("1,,2", None),
])
def test_parse(text: str, cpus: set[int] | None) -> None:
    if cpus is None:
        with pytest.raises(VirtError) as e:
            parse_cpuset(text)
        assert e.value.code == ErrorCode.INVALID_ARG
        assert f"Failed to parse bitmap '{text}'" in e.value.message
    else:
        assert parse_cpuset(text) == cpus


def test_parse_limit() -> None:
    assert parse_cpuset("7", limit=8) == {7}
    with pytest.raises(VirtError):
        parse_cpuset("8", limit=8)


@pytest.mark.parametrize(("cpus", "text"), [
    ({0, 1, 2, 3, 5}, "0-3,5"),
    ({0, 2, 4}, "0,2,4"),
    ({1, 2}, "1-2"),
    (set(), ""),
    ({9, 0, 10, 11}, "0,9-11"),
])
def test_format(cpus: set[int], text: str) -> None:
    assert format_cpuset(cpus) == text
    if cpus:
        assert parse_cpuset(text) == cpus  # round trip


def test_cpumap_bits() -> None:
    assert maplen(1) == 1 and maplen(8) == 1 and maplen(9) == 2 and maplen(0) == 0
    # CPU i is bit i%8 of byte i//8 (libvirt's VIR_CPU_USED)
    assert to_cpumap({0, 2, 4}, 8) == b"\x15"
    assert to_cpumap({1}, 8) == b"\x02"
    assert to_cpumap({8, 15}, 16) == b"\x00\x81"
    assert to_cpumap({3, 20}, 8) == b"\x08"  # beyond the host: dropped
    assert from_cpumap(b"\x00\x81") == {8, 15}
    assert from_cpumap(b"\xff\xff", 8) == set(range(8))


def test_yes_dash() -> None:
    assert yes_dash(b"\x15", 8) == "y-y-y---"
    assert yes_dash(b"\xff", 8) == "yyyyyyyy"
    assert yes_dash(b"\x01\x80", 16) == "y--------------y"
    assert yes_dash(b"\x15", 3) == "y-y"
