"""virConnectListAllDomains' snapshot and managed-save filters (virsh list --with-snapshot,
--without-snapshot, --with-managed-save, --without-managed-save) on the QEMU driver, as
libvirt 9.0 answers them: a domain with snapshot metadata is 'with', the others 'without'.
The light read path (readonly.py) must answer exactly as the full driver does."""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

import pytest

from pyvirt.cli import ctl as ctl_mod
from pyvirt.cli.main import main
from pyvirt.conf.snapshot import SnapshotCreateFlags
from pyvirt.drivers.qemu import readonly
from pyvirt.drivers.qemu.driver import QemuDriver
from pyvirt.drivers.qemu.paths import QemuPaths
from pyvirt.drivers.test.driver import run_sync
from pyvirt.enums import ListDomainsFlags as F

XML = """<domain type='qemu'>
  <name>{name}</name>
  <uuid>{uuid}</uuid>
  <memory unit='KiB'>65536</memory>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
</domain>
"""

SNAP = """<domainsnapshot><name>s1</name><state>shutoff</state><creationTime>1</creationTime>
<memory snapshot='no'/>{domain}</domainsnapshot>"""

NAMES = ["snapped", "plain", "saved"]


def _uuid(i: int) -> str:
    return f"{i:08x}-4444-5555-6666-{i:012x}"


async def _setup(root: Path) -> tuple[str, QemuDriver]:
    uri = f"qemu:///embed?root={root}"
    full = await QemuDriver.open(uri)
    for i, n in enumerate(NAMES):
        await full.define_xml(XML.format(name=n, uuid=_uuid(i + 1)))
    ref = await full.lookup_by_name("snapped")
    await full.snapshot_create_xml(ref, SNAP.format(domain=XML.format(name="snapped", uuid=_uuid(1))),
                                   int(SnapshotCreateFlags.REDEFINE))
    # a managed save image is only a file to the list filter; making a real one needs a guest
    save_dir = QemuPaths.embed(root).lib_dir / "save"
    save_dir.mkdir(parents=True, exist_ok=True)
    (save_dir / "saved.save").write_bytes(b"x")
    return uri, full


CASES = [
    (int(F.HAS_SNAPSHOT), ["snapped"]),
    (int(F.NO_SNAPSHOT), ["plain", "saved"]),
    (int(F.HAS_SNAPSHOT | F.NO_SNAPSHOT), ["plain", "saved", "snapped"]),
    (int(F.MANAGEDSAVE), ["saved"]),
    (int(F.NO_MANAGEDSAVE), ["plain", "snapped"]),
    (int(F.NO_SNAPSHOT | F.NO_MANAGEDSAVE), ["plain"]),
    (int(F.HAS_SNAPSHOT | F.ACTIVE), []),
    (0, ["plain", "saved", "snapped"]),
]


@pytest.mark.parametrize(("flags", "want"), CASES)
async def test_full_and_light_filter_like_libvirt(tmp_path: Path, flags: int, want: list[str]) -> None:
    root = tmp_path / "root"
    uri, full = await _setup(root)
    try:
        got_full = sorted(r.name for r in await full.list_all_domains(flags))
    finally:
        await full.close()
    dirs = readonly.light_dirs(uri)
    assert dirs is not None
    view = readonly.QemuReadView.open(uri, *dirs)
    assert view is not None
    got_light = sorted(e.name for e in run_sync(view.list_all_domains(flags)))
    assert got_full == want
    assert got_light == want


async def test_deleting_the_last_snapshot_makes_it_without(tmp_path: Path) -> None:
    root = tmp_path / "root"
    uri, full = await _setup(root)
    try:
        ref = await full.lookup_by_name("snapped")
        snap = await full.snapshot_lookup_by_name(ref, "s1")
        await full.snapshot_delete(snap, 2)  # VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY
        assert [r.name for r in await full.list_all_domains(int(F.HAS_SNAPSHOT))] == []
    finally:
        await full.close()
    dirs = readonly.light_dirs(uri)
    assert dirs is not None
    view = readonly.QemuReadView.open(uri, *dirs)
    assert view is not None
    assert run_sync(view.list_all_domains(int(F.HAS_SNAPSHOT))) == []


def _pyvirsh(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> str:
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    assert main(argv) == 0
    monkeypatch.undo()
    return out.getvalue()


def test_pyvirsh_list_with_snapshot_light_and_full(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"

    async def setup() -> str:
        uri, full = await _setup(root)
        await full.close()
        return uri

    uri = asyncio.run(setup())  # pyvirsh runs its own loop
    for opt, want in (("--with-snapshot", ["snapped"]), ("--without-snapshot", ["plain", "saved"]),
                      ("--with-managed-save", ["saved"])):
        light = _pyvirsh(["-c", uri, "list", "--all", "--name", opt], monkeypatch)
        monkeypatch.setattr(ctl_mod, "open_light", lambda u, readonly=False: None)
        heavy = _pyvirsh(["-c", uri, "list", "--all", "--name", opt], monkeypatch)
        assert sorted(light.split()) == want, opt
        assert light == heavy, opt


@pytest.mark.parametrize("uri", ["qemu:///system", "qemu:///session", "qemu:///embed?root=/var/tmp/x"])
def test_light_lib_dir_matches_qemu_paths(uri: str, monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    for env in ({}, {"XDG_DATA_HOME": str(tmp_path / "d")}):
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        assert readonly.light_lib_dir(uri) == str(QemuPaths.from_uri(uri).lib_dir)
