"""--keep-relative string composition (libvirt 9.0's results, recorded with virsh against
libvirtd), QEMU's json: pseudo file names, and a running disk's block info sizes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pyvirt.drivers.qemu.backingchain import chain_from_image_info, plain_filename
from pyvirt.drivers.qemu.blockinfo import live_sizes
from pyvirt.drivers.qemu.blockjob_relative import backing_refs, compose, relative_backing
from pyvirt.errors import ErrorCode, VirtError


@pytest.mark.parametrize(("refs", "expected"), [
    (["top.qcow2", "sub/mid.qcow2"], "sub/mid.qcow2"),  # libvirt: commit --top top --base sub/mid
    (["top.qcow2", "sub/mid.qcow2", "../base.qcow2"], "sub/../base.qcow2"),  # not normalised, as libvirt
    (["a/b.qcow2", "c/d.qcow2", "e.qcow2"], "a/c/e.qcow2"),
    (["top.qcow2", "/abs/base.qcow2"], None),
    (["top.qcow2", ""], None),
    ([], None),
])
def test_compose(refs: list[str], expected: str | None) -> None:
    assert compose(refs) == expected


async def test_relative_backing_reads_the_headers(tmp_path: Path) -> None:
    def img(*args: str) -> None:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *args], check=True, cwd=tmp_path)

    (tmp_path / "sub").mkdir()
    img("base.qcow2", "1M")
    img("-b", "../base.qcow2", "-F", "qcow2", "sub/mid.qcow2")
    img("-b", "sub/mid.qcow2", "-F", "qcow2", "top.qcow2")
    img("-b", str(tmp_path / "top.qcow2"), "-F", "qcow2", "act.qcow2")
    act = str(tmp_path / "act.qcow2")
    assert await backing_refs(act, "qcow2") == [str(tmp_path / "top.qcow2"), "sub/mid.qcow2", "../base.qcow2", ""]
    assert await relative_backing(str(tmp_path / "top.qcow2"), "qcow2", 0, 2) == "sub/../base.qcow2"
    with pytest.raises(VirtError) as ei:  # act names top by an absolute path
        await relative_backing(act, "qcow2", 0, 2)
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    assert ei.value.message == "Requested operation is not valid: can't keep relative backing relationship"


def test_json_pseudo_filenames() -> None:
    opts = {"backing": {"driver": "qcow2", "file": {"driver": "file", "filename": "/i/sub/mid.qcow2"}},
            "driver": "qcow2", "file": {"driver": "file", "filename": "/i/act.qcow2"}}
    assert plain_filename("json:" + json.dumps(opts)) == "/i/act.qcow2"
    assert plain_filename("/i/act.qcow2") == "/i/act.qcow2"
    assert plain_filename("json:{broken") == "json:{broken"
    image = {"filename": "json:" + json.dumps(opts), "format": "qcow2",
             "backing-image": {"filename": "/i/sub/mid.qcow2", "format": "qcow2"}}
    assert [c.path for c in chain_from_image_info(image)] == ["/i/act.qcow2", "/i/sub/mid.qcow2"]


def test_live_sizes() -> None:
    written = {"stats": {"wr_highest_offset": 344064}, "parent": {"stats": {"wr_highest_offset": 720896}}}
    # a running qcow2: the file's numbers whatever QEMU wrote (libvirtd: 663552 / 720896)
    assert live_sizes(written, "qcow2", 663552, 720896) == (663552, 720896)
    # raw, never written: the file's numbers (libvirtd: 4096 / 16777216)
    idle = {"stats": {"wr_highest_offset": 0}, "parent": {"stats": {"wr_highest_offset": 0}}}
    assert live_sizes(idle, "raw", 4096, 16777216) == (4096, 16777216)
    # raw written short of its end: the storage node's highest offset, then the allocation
    raw = {"stats": {"wr_highest_offset": 1}, "parent": {"stats": {"wr_highest_offset": 1048576}}}
    assert live_sizes(raw, "raw", 8192, 16777216) == (1048576, 8192)


XML = """<domain type='qemu'><name>r</name><memory unit='MiB'>64</memory>
<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{top}'/>
<target dev='vda' bus='virtio'/></disk></devices></domain>"""


def _relative_chain(d: Path, *, absolute_top: bool = False) -> str:
    def img(*args: str) -> None:
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", *args], check=True, cwd=d)

    (d / "sub").mkdir()
    img("base.qcow2", "1M")
    img("-b", "../base.qcow2", "-F", "qcow2", "sub/mid.qcow2")
    img("-b", "sub/mid.qcow2", "-F", "qcow2", "top.qcow2")
    img("-b", str(d / "top.qcow2") if absolute_top else "top.qcow2", "-F", "qcow2", "act.qcow2")
    return str(d / "act.qcow2")


def _backing(path: str) -> str:
    info = json.loads(subprocess.run(["qemu-img", "info", "-U", "--output=json", path], check=True,
                                     capture_output=True, text=True).stdout)
    return str(info.get("backing-filename", ""))


@pytest.mark.parametrize("relative", [True, False])
async def test_offline_commit_and_pull_keep_relative(tmp_path: Path, relative: bool) -> None:
    """The offline extension honours the flags like the live jobs: the image above the
    removed layers gets the composed relative string (or the absolute path without them)."""
    from pyvirt.conf.domain import parse_domain
    from pyvirt.drivers.qemu.blockjob_offline import offline_commit, offline_pull
    from pyvirt.drivers.qemu.blockjob_relative import COMMIT_RELATIVE

    act = _relative_chain(tmp_path)
    m = parse_domain(XML.format(top=act))
    await offline_commit(m, "vda", str(tmp_path / "sub/mid.qcow2"), str(tmp_path / "top.qcow2"),
                         COMMIT_RELATIVE if relative else 0)
    assert _backing(act) == ("sub/mid.qcow2" if relative else str(tmp_path / "sub/mid.qcow2"))
    await offline_pull(m, "vda", str(tmp_path / "base.qcow2"), relative=relative)
    # without the flag: the base's name as QEMU / qemu-img opened it (libvirtd writes the same)
    assert _backing(act) == ("sub/../base.qcow2" if relative else str(tmp_path / "sub/../base.qcow2"))


async def test_offline_relative_refused_on_an_absolute_reference(tmp_path: Path) -> None:
    from pyvirt.conf.domain import parse_domain
    from pyvirt.drivers.qemu.blockjob_offline import offline_pull

    act = _relative_chain(tmp_path, absolute_top=True)
    with pytest.raises(VirtError) as ei:
        await offline_pull(parse_domain(XML.format(top=act)), "vda", str(tmp_path / "base.qcow2"), relative=True)
    assert ei.value.code == ErrorCode.OPERATION_INVALID
    assert _backing(act) == str(tmp_path / "top.qcow2")  # nothing written
