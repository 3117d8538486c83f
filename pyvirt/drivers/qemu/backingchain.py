"""Backing chains: read them (qemu-img offline, query-block live) and show them in the
live domain XML as libvirt does (``<backingStore type='file' index='N'>`` nested, ending
with an empty ``<backingStore/>``).

QEMU is the authority on the chain of a running disk: after every block job the live XML
is rebuilt from ``query-block``, so it always agrees with ``qemu-img info --backing-chain``.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

if TYPE_CHECKING:
    from pyvirt.conf.domain import DiskDef, DomainDef


@dataclass(frozen=True, slots=True)
class ChainLayer:
    """One image of a chain, top first."""

    path: str
    format: str


async def run_qemu_img(*args: str) -> str:
    """Run qemu-img; its stderr becomes an OPERATION_FAILED error like libvirt's."""
    proc = await asyncio.create_subprocess_exec(
        "qemu-img", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        msg = err.decode(errors="replace").strip() or f"qemu-img {args[0]} failed"
        raise VirtError(f"internal error: Child process (qemu-img {' '.join(args)}) unexpected exit status "
                        f"{proc.returncode}: {msg}", ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE)
    return out.decode()


async def image_chain(path: str, fmt: str | None = None) -> list[ChainLayer]:
    """The chain under ``path`` as qemu-img sees it (``-U``: the image may be in use)."""
    args = ["info", "--backing-chain", "--output=json", "-U"]
    if fmt:
        args += ["-f", fmt]
    data: Any = json.loads(await run_qemu_img(*args, path))
    items = data if isinstance(data, list) else [data]
    return [ChainLayer(str(i["filename"]), str(i.get("format", "raw"))) for i in items]


def plain_filename(name: str) -> str:
    """The image file of a QEMU node name. QEMU shows ``json:{...}`` instead when a node's
    backing string differs from its backing node's file name - after a commit or pull that
    wrote a relative backing string (``--keep-relative``); the file is ``file.filename``."""
    if not name.startswith("json:"):
        return name
    try:
        opts = json.loads(name[5:])
    except ValueError:
        return name
    f = opts.get("file") if isinstance(opts, dict) else None
    while isinstance(f, dict):  # format -> (filters) -> protocol
        if isinstance(f.get("filename"), str):
            return str(f["filename"])
        f = f.get("file")
    return name


def chain_from_image_info(image: dict[str, Any]) -> list[ChainLayer]:
    """The chain in one ``query-block`` entry's ``inserted.image`` (nested backing-image)."""
    out: list[ChainLayer] = []
    cur: dict[str, Any] | None = image
    while cur:
        out.append(ChainLayer(plain_filename(str(cur.get("filename", ""))), str(cur.get("format", "raw"))))
        nxt = cur.get("backing-image")
        cur = nxt if isinstance(nxt, dict) else None
    return out


def set_disk_chain(disk: DiskDef, chain: list[ChainLayer], next_index: int,
                   known: dict[str, int] | None = None) -> int:
    """Make ``disk`` show ``chain`` (top first); returns the next free source index.

    An image keeps the index it already had (``known``: path -> index), as libvirt keeps
    a node's index across pivots; a new image gets the next free one, numbered from the
    top down like libvirt does when it opens a chain.
    """
    from pyvirt.conf.domain.disk import BackingStoreDef, DiskDriverDef, DiskSourceDef

    if not chain:
        return next_index
    known = known or {}
    indexes: list[int] = []
    for layer in chain:
        idx = known.get(layer.path)
        if idx is None:
            idx = next_index
            next_index += 1
        indexes.append(idx)
    top = chain[0]
    if disk.source is None:
        disk.source = DiskSourceDef()
    disk.source.path = top.path
    if disk.driver is None:
        disk.driver = DiskDriverDef(name="qemu")
    disk.driver.type = top.format
    disk.source.index = indexes[0]
    tail: BackingStoreDef = BackingStoreDef()  # the terminating <backingStore/>
    for layer, idx in zip(reversed(chain[1:]), reversed(indexes[1:]), strict=True):
        tail = BackingStoreDef(type="file", index=idx, format=layer.format,
                               source=DiskSourceDef(path=layer.path), backing_store=tail)
    disk.backing_store = tail
    return next_index


def start_indexes(chains: list[list[ChainLayer]]) -> list[list[int]]:
    """The source indexes libvirt 9.0 gives the chains of a starting domain's disks
    (``chains`` in disk order, top first; empty for a drive without media).

    Checked against libvirtd: every disk's top image first, numbered from the last disk up
    (an empty CD-ROM takes one too), then the backing images, again from the last disk up
    and each chain top down - so of two disks vda (top + base) and vdb (top + 2 backing)
    vdb's top is 1, vda's 2, vdb's backing images 3 and 4 and vda's base 5.
    """
    out: list[list[int]] = [[] for _ in chains]
    n = 1
    for i in reversed(range(len(chains))):
        out[i].append(n)
        n += 1
    for i in reversed(range(len(chains))):
        for _ in chains[i][1:]:
            out[i].append(n)
            n += 1
    return [idx[:len(c)] for idx, c in zip(out, chains, strict=True)]


def disk_indexes(disk: DiskDef) -> dict[str, int]:
    """path -> index of every image a disk's XML shows."""
    out: dict[str, int] = {}
    if disk.source is not None and disk.source.path and disk.source.index is not None:
        out[disk.source.path] = disk.source.index
    bs = disk.backing_store
    while bs is not None and bs.type is not None:
        if bs.source is not None and bs.source.path and bs.index is not None:
            out[bs.source.path] = bs.index
        bs = bs.backing_store
    return out


def chain_of(disk: DiskDef) -> list[ChainLayer]:
    """The chain a (live) disk definition shows, top first."""
    out: list[ChainLayer] = []
    if disk.source is None or disk.source.path is None:
        return out
    out.append(ChainLayer(disk.source.path, str(disk.driver.type) if disk.driver and disk.driver.type else "raw"))
    bs = disk.backing_store
    while bs is not None and bs.type is not None:
        if bs.source is not None and bs.source.path is not None:
            out.append(ChainLayer(bs.source.path, bs.format or "raw"))
        bs = bs.backing_store
    return out


def live_xml_with_chains(live_xml: str, chains: dict[str, list[ChainLayer]]) -> str:
    """Rewrite the live XML so each disk named in ``chains`` (by target) shows its chain."""
    return live_xml_and_model_with_chains(live_xml, chains)[0]


def live_xml_and_model_with_chains(live_xml: str, chains: dict[str, list[ChainLayer]],
                                   model: DomainDef | None = None) -> tuple[str, DomainDef]:
    """:func:`live_xml_with_chains` and the model the new text was formatted from.
    ``model``: ``live_xml`` already parsed, changed in place (no second parse)."""
    from pyvirt.conf.domain import format_domain, parse_domain

    m = model if model is not None else parse_domain(live_xml)
    known = [disk_indexes(d) for d in m.devices.disks]
    next_index = max((i for k in known for i in k.values()), default=0) + 1
    for disk, k in zip(m.devices.disks, known, strict=True):
        chain = chains.get(disk.target.dev)
        if chain is not None:
            next_index = set_disk_chain(disk, chain, next_index, k)
    return str(format_domain(m)), m
