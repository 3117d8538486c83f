"""Schema conformance: every domain XML under tests/ in the repo, and everything pyvirt.conf
formats from libvirt's corpora, validates against libvirt's src/conf/schemas/domain.rng."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
from lxml import etree

from pyvirt.conf.domain import format_domain, parse_domain
from pyvirt.errors import VirtError

from .conftest import TESTDATA

REPO_TESTS = Path(__file__).resolve().parents[1]
REPO = REPO_TESTS.parent
# domain XML shipped outside tests/ (demo and bench definitions) is checked too
EXTRA_DIRS = (REPO / "examples", REPO / "bench")
SCHEMA = TESTDATA / "src" / "conf" / "schemas" / "domain.rng"


@cache
def _schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(SCHEMA)))


def _repo_domain_xml() -> list[Path]:
    out = []
    files = sorted(REPO_TESTS.rglob("*.xml"))
    for d in EXTRA_DIRS:
        files += sorted(d.glob("*.xml")) if d.is_dir() else []
    for p in files:
        try:
            head = p.read_text(errors="replace")[:400]
        except OSError:
            continue
        if "<domain" in head:
            out.append(p)
    return out


def _check(xml: str, what: str) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"libvirt schemas not found at {SCHEMA}")
    schema = _schema()
    doc = etree.fromstring(xml.encode())
    if not schema.validate(doc):
        pytest.fail(f"{what} does not validate:\n{schema.error_log}")


@pytest.mark.parametrize("path", _repo_domain_xml(), ids=lambda p: str(p.relative_to(REPO)))
def test_repo_domain_xml_validates(path: Path) -> None:
    root = etree.parse(str(path)).getroot()
    if root.tag != "domain":
        pytest.skip("not a domain document")
    xml = _fill_template(path.read_text())
    _check(xml, str(path))
    # and what we make of it
    _check(format_domain(parse_domain(xml), inactive=True), f"format({path.name})")


def _fill_template(xml: str) -> str:
    """examples/*.xml are string.Template files: ${name} becomes a name, others a path."""
    return re.sub(r"\$\{(\w+)\}", lambda m: "demo" if m.group(1) == "name" else f"/tmp/{m.group(1)}",
                  xml)


def _corpus(sub: str) -> list[Path]:
    d = TESTDATA / "tests" / sub
    return sorted(d.glob("*.xml")) if d.is_dir() else []


@pytest.mark.parametrize("path", _corpus("genericxml2xmlindata") + _corpus("qemuxml2xmloutdata"),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_formatted_output_validates(path: Path) -> None:
    try:
        d = parse_domain(path.read_text())
    except VirtError as e:
        pytest.skip(f"input rejected ({e.message})")
    _check(format_domain(d, inactive=True, secure=True), f"format_domain({path.name})")
    _check(format_domain(d, inactive=False, secure=True), f"format_domain({path.name}, live)")


def test_formatted_live_domain_validates() -> None:
    xml = ("<domain type='qemu' id='3'><name>t</name><memory>1024</memory><os><type>hvm</type>"
           "</os><devices><disk type='file'><source file='/a.img'/><target dev='vda'/>"
           "<alias name='virtio-disk0'/></disk><serial type='pty'><source path='/dev/pts/4'/>"
           "<alias name='serial0'/></serial></devices></domain>")
    d = parse_domain(xml)
    out = format_domain(d)
    assert "id='3'" in out and "<alias name='serial0'/>" in out and "tty='/dev/pts/4'" in out
    _check(out, "live domain")
