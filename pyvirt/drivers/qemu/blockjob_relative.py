"""``--keep-relative``: the backing-file string a commit or pull writes stays relative.

VIR_DOMAIN_BLOCK_COMMIT_RELATIVE / VIR_DOMAIN_BLOCK_REBASE_RELATIVE. Without them QEMU
writes the new backing image's file name (absolute) into the image that now sits on top of
it. With them the string is made of the relative references already in the chain: the image
above the removed layers named its backing file ``R1`` (relative to its own directory),
that one named the next ``R2`` (relative to *its* directory), ... down to the new backing
image; composed, ``dir(R1) + R2``... is the new base as seen from the top image. libvirt
9.0 composes them the same way (``sub/../base.qcow2``, not normalised), and refuses with
"can't keep relative backing relationship" when one of the references is absolute.

The strings are read from the image headers (``qemu-img info --backing-chain``), which is
only done when the flag is given.
"""

from __future__ import annotations

import json
from typing import Any

from pyvirt.drivers.qemu.backingchain import run_qemu_img
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

COMMIT_RELATIVE = 8  # VIR_DOMAIN_BLOCK_COMMIT_RELATIVE
REBASE_RELATIVE = 16  # VIR_DOMAIN_BLOCK_REBASE_RELATIVE


def cannot_keep() -> VirtError:
    return VirtError("Requested operation is not valid: can't keep relative backing relationship",
                     ErrorCode.OPERATION_INVALID, ErrorDomain.QEMU)


def needs_base() -> VirtError:
    return VirtError("invalid argument: flag VIR_DOMAIN_BLOCK_REBASE_RELATIVE is valid only with non-null base",
                     ErrorCode.INVALID_ARG, ErrorDomain.QEMU)


def compose(refs: list[str]) -> str | None:
    """The references ``refs`` (each relative to the directory of the image holding it)
    chained into one path relative to the first holder; None if one is absolute or empty."""
    path = ""
    for ref in refs:
        if not ref or ref.startswith("/"):
            return None
        # keep the directory part with its slash ("a/b" -> "a/"), drop the file name
        path = path[: path.rfind("/") + 1] + ref
    return path or None


async def backing_refs(top: str, fmt: str | None) -> list[str]:
    """Each image's backing-file string as written in its header, top first ('' for the
    last image)."""
    args = ["info", "--backing-chain", "--output=json", "-U"] + (["-f", fmt] if fmt else [])
    data: Any = json.loads(await run_qemu_img(*args, top))
    items = data if isinstance(data, list) else [data]
    return [str(i.get("backing-filename") or "") for i in items]


async def relative_backing(top: str, fmt: str | None, holder: int, base: int) -> str:
    """The relative string image ``holder`` (index in the chain of ``top``) gets as its
    backing file when the layers between it and image ``base`` go away."""
    refs = await backing_refs(top, fmt)
    rel = compose(refs[holder:base])
    if rel is None:
        raise cannot_keep()
    return rel
