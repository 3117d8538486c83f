"""libvirt's qemudomainsnapshotxml2xml corpus through pyvirt.conf.snapshot.

Cases and their arguments come from tests/MANIFEST/qemudomainsnapshotxml2xmltest.tsv:

* DO_TEST_OUT(name, uuid, internal): the out file is both input and expected output, parsed
  as a redefinition (state, parent, creationTime, domain kept); ``TEST_INTERNAL`` also reads
  and writes <active>.
* DO_TEST_INOUT(name, uuid, time, flags): a new snapshot's XML; the test fixes the creation
  time (and the name when there is none) to ``time``; ``TEST_RUNNING`` sets state running.
* DO_TEST_IN(name, uuid): the input parses and formats back to itself.

``uuid`` adds libvirt's <domain><uuid/></domain> stub when no domain is embedded.
Pass counts are printed at the end of the module.
"""

from __future__ import annotations

import difflib
from collections import Counter
from pathlib import Path

import pytest

from pyvirt.conf.snapshot import DomainSnapshotDef, SnapshotState

from .conftest import TESTDATA

MANIFEST = TESTDATA / "tests" / "MANIFEST" / "qemudomainsnapshotxml2xmltest.tsv"
_RESULTS: Counter[str] = Counter()


def _args(raw: str) -> list[str]:
    return [a.strip().strip('"') for a in raw.split(",")]


def _cases() -> list[tuple[str, str, list[str]]]:
    if not MANIFEST.is_file():
        return [("corpus-missing", "NONE", [])]
    out = []
    for line in MANIFEST.read_text().splitlines():
        if line.startswith(("#", "line\t")):
            continue
        _, macro, args = line.split("\t", 2)
        a = _args(args)
        out.append((a[0], macro, a))
    return out


def _uuid(arg: str) -> str | None:
    return None if arg == "NULL" else arg


@pytest.mark.parametrize(("name", "macro", "args"), _cases(), ids=lambda v: str(v) if isinstance(v, str) else "")
def test_snapshot_xml2xml(name: str, macro: str, args: list[str], testdata: Path) -> None:
    if macro == "NONE":
        pytest.skip(f"libvirt test corpus not found at {TESTDATA}")
    indir = testdata / "tests" / "qemudomainsnapshotxml2xmlin"
    outdir = testdata / "tests" / "qemudomainsnapshotxml2xmlout"
    if macro == "DO_TEST_OUT":
        src = dst = outdir / f"{name}.xml"
        internal = "TEST_INTERNAL" in args[2]
        d, cur = DomainSnapshotDef.parse(src.read_text(), redefine=True, internal=internal)
        got = d.format(internal=internal, current=cur, domain_uuid=_uuid(args[1]))
    elif macro == "DO_TEST_INOUT":
        src, dst = indir / f"{name}.xml", outdir / f"{name}.xml"
        d, cur = DomainSnapshotDef.parse(src.read_text())
        d.creation_time = int(args[2])
        if d.name is None:
            d.name = args[2]
        if "TEST_RUNNING" in args[3]:
            assert d.state is None
            d.state = SnapshotState.RUNNING
        got = d.format(domain_uuid=_uuid(args[1]))
    else:  # DO_TEST_IN
        src = dst = indir / f"{name}.xml"
        d, cur = DomainSnapshotDef.parse(src.read_text())
        got = d.format(domain_uuid=_uuid(args[1]))
    want = dst.read_text()
    ok = got == want
    _RESULTS["pass" if ok else "fail"] += 1
    assert ok, "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "libvirt", "pyvirt"))


def test_snapshot_invalid_inputs(testdata: Path) -> None:
    """The corpus' *-invalid inputs are rejected with an XML error."""
    from pyvirt.errors import VirtError

    bad = sorted((testdata / "tests" / "qemudomainsnapshotxml2xmlin").glob("*invalid*.xml"))
    assert bad
    for p in bad:
        with pytest.raises(VirtError):
            DomainSnapshotDef.parse(p.read_text())


def teardown_module() -> None:
    total = sum(_RESULTS.values())
    if total:
        print(f"\nqemudomainsnapshotxml2xml: {_RESULTS['pass']}/{total} pass")
