"""libvirt's storagepoolxml2xml and storagevolxml2xml corpora through pyvirt.conf.storage.

Cases come from tests/MANIFEST/storage{pool,vol}xml2xmltest.tsv. A case is skipped only when
its XML uses something the model refuses as unsupported (the skip reason is the model's own
CONFIG_UNSUPPORTED message, computed, never listed by hand); anything else must match
byte for byte, and formatting our output again must be a fixed point.
"""

from __future__ import annotations

import difflib
from collections import Counter
from pathlib import Path

import pytest

from pyvirt.conf.storage.pool import parse_pool_xml
from pyvirt.conf.storage.volume import PARSE_NO_CAPACITY, parse_vol_xml
from pyvirt.errors import ErrorCode, VirtError

from .conftest import TESTDATA

_MANIFESTS = TESTDATA / "tests" / "MANIFEST"
_RESULTS: dict[str, Counter[str]] = {"pool": Counter(), "vol": Counter()}
_FLAGS = {"VIR_VOL_XML_PARSE_NO_CAPACITY": PARSE_NO_CAPACITY}


def _cases(kind: str) -> list[list[str]]:
    manifest = _MANIFESTS / f"storage{kind}xml2xmltest.tsv"
    if not manifest.is_file():
        return [["corpus-missing"]]
    out = []
    for line in manifest.read_text().splitlines():
        if line.startswith(("#", "line\t")):
            continue
        args = line.split("\t", 2)[2]
        out.append([a.strip().strip('"') for a in args.split(",")])
    return out


def _diff(expected: str, got: str) -> str:
    return "".join(difflib.unified_diff(expected.splitlines(True), got.splitlines(True),
                                        "expected", "pyvirt"))


def _unsupported(kind: str, e: VirtError) -> None:
    if e.code == ErrorCode.CONFIG_UNSUPPORTED:
        _RESULTS[kind]["skip"] += 1
        pytest.skip(f"not modelled: {e.message}")
    _RESULTS[kind]["fail"] += 1
    raise e


@pytest.mark.parametrize("args", _cases("pool"), ids=lambda a: a[0])
def test_storagepool_xml2xml(args: list[str], testdata: Path) -> None:
    name = args[0]
    xml = (testdata / "tests" / "storagepoolxml2xmlin" / f"{name}.xml").read_text()
    expected = (testdata / "tests" / "storagepoolxml2xmlout" / f"{name}.xml").read_text()
    try:
        got = parse_pool_xml(xml).format()
    except VirtError as e:
        _unsupported("pool", e)
        return
    if got != expected:
        _RESULTS["pool"]["fail"] += 1
        pytest.fail(f"{name} differs:\n{_diff(expected, got)}")
    assert parse_pool_xml(got).format() == got
    _RESULTS["pool"]["pass"] += 1


@pytest.mark.parametrize("args", _cases("vol"), ids=lambda a: "-".join(a[:2]))
def test_storagevol_xml2xml(args: list[str], testdata: Path) -> None:
    pool_name, vol_name = args[0], args[1]
    flags = 0
    for a in args[2:]:
        flags |= _FLAGS[a]
    tests = testdata / "tests"
    pool = parse_pool_xml((tests / "storagepoolxml2xmlin" / f"{pool_name}.xml").read_text())
    xml = (tests / "storagevolxml2xmlin" / f"{vol_name}.xml").read_text()
    expected = (tests / "storagevolxml2xmlout" / f"{vol_name}.xml").read_text()
    try:
        got = parse_vol_xml(xml, pool.type, flags).format_xml()
    except VirtError as e:
        _unsupported("vol", e)
        return
    if got != expected:
        _RESULTS["vol"]["fail"] += 1
        pytest.fail(f"{vol_name} differs:\n{_diff(expected, got)}")
    assert parse_vol_xml(got, pool.type, flags).format_xml() == got
    _RESULTS["vol"]["pass"] += 1


def test_storage_xml2xml_summary(testdata: Path) -> None:
    """Runs last in this module: prints the pass counts and guards a floor."""
    print(f"\nstoragepoolxml2xml: {dict(_RESULTS['pool'])}  storagevolxml2xml: {dict(_RESULTS['vol'])}")
    if not sum(_RESULTS["pool"].values()):
        pytest.skip("run together with the parametrized cases")
    assert _RESULTS["pool"]["fail"] == 0 and _RESULTS["vol"]["fail"] == 0, _RESULTS
    assert _RESULTS["pool"]["pass"] >= 35 and _RESULTS["vol"]["pass"] >= 18, _RESULTS
