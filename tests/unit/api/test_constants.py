"""VIR_* constants: libvirt's numbers, checked against the real libvirt-python when present
and against pyvirt's own enums always."""

from __future__ import annotations

import json
import shutil
import subprocess
from enum import IntEnum

import pytest

from pyvirt import enums, errors, libvirt, libvirt_constants

REAL_PYTHON = "/usr/bin/python3"


def _ours() -> dict[str, object]:
    return {k: v for k, v in vars(libvirt_constants).items() if k.startswith("VIR_")}


@pytest.mark.oracle
def test_constants_equal_real_libvirt_python() -> None:
    if not shutil.which(REAL_PYTHON):
        pytest.skip("no /usr/bin/python3")
    proc = subprocess.run(
        [REAL_PYTHON, "-c", ("import json, libvirt; print(json.dumps({k: getattr(libvirt, k) "
         "for k in dir(libvirt) if k.startswith('VIR_')}))")],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.skip("python3-libvirt (the real libvirt-python) is not installed")
    real = json.loads(proc.stdout)
    ours = _ours()
    assert len(real) > 1000
    assert sorted(set(real) - set(ours)) == [], "constants libvirt-python has and we lack"
    assert {k: (real[k], ours[k]) for k in real if real[k] != ours[k]} == {}


def test_facade_exposes_constants_lazily() -> None:
    assert libvirt.VIR_DOMAIN_RUNNING == 1
    assert libvirt.VIR_ERR_NO_DOMAIN == 42
    assert "VIR_DOMAIN_EVENT_ID_LIFECYCLE" in dir(libvirt)
    with pytest.raises(AttributeError):
        _ = libvirt.VIR_NO_SUCH_CONSTANT


ENUM_PREFIXES: list[tuple[type[IntEnum], str]] = [
    (errors.ErrorCode, "VIR_ERR_"),
    (errors.ErrorDomain, "VIR_FROM_"),
    (enums.DomainState, "VIR_DOMAIN_"),
    (enums.EventID, "VIR_DOMAIN_EVENT_ID_"),
    (enums.LifecycleEvent, "VIR_DOMAIN_EVENT_"),
    (enums.ListDomainsFlags, "VIR_CONNECT_LIST_DOMAINS_"),
    (enums.DomainCreateFlags, "VIR_DOMAIN_"),
    (enums.UndefineFlags, "VIR_DOMAIN_UNDEFINE_"),
    (enums.BlockJobType, "VIR_DOMAIN_BLOCK_JOB_TYPE_"),
    (enums.BlockJobStatus, "VIR_DOMAIN_BLOCK_JOB_"),
]


@pytest.mark.parametrize(("enum", "prefix"), ENUM_PREFIXES, ids=lambda x: getattr(x, "__name__", x))
def test_pyvirt_enums_use_libvirts_numbers(enum: type[IntEnum], prefix: str) -> None:
    ours = _ours()
    checked = 0
    wrong = {}
    for member in enum:
        name = prefix + member.name
        if name in ours:
            checked += 1
            if ours[name] != member.value:
                wrong[name] = (ours[name], member.value)
    assert wrong == {}
    assert checked >= len(enum) // 2, f"too few {prefix}* names matched {enum.__name__}"
