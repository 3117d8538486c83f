"""What several procedure families share: object references and one-field replies.

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
The family modules (``proto_*.py``) import from this module and from ``protocol_core`` only,
never from each other, so any of them can be read, changed or moved on its own. The storage
pool/volume, network and snapshot references decode straight into the drivers' ref classes,
as ``remote_nonnull_domain`` does into ``DomainRef``.
"""

from __future__ import annotations

from pyvirt.drivers.refs_objects import NetworkRef, SnapshotRef, StoragePoolRef, StorageVolRef
from pyvirt.remote.protocol_core import NonnullDomain, NonnullString, S, Uuid
from pyvirt.rpc import xdr

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any
    from typing import NamedTuple as Record

    from pyvirt.drivers.base import DomainRef
else:
    from pyvirt.rpc.record import Record


# ---- one-field replies and arguments of the same shape in several families


class GetXmlDescRet(Record):
    xml: str


class GetAutostartRet(Record):
    autostart: int


class IsActiveRet(Record):
    active: int


class IsPersistentRet(Record):
    persistent: int


class NumRet(Record):
    num: int


class ListDefinedDomainsArgs(Record):
    """remote_connect_list_defined_domains_args; the network and pool name lists take it too."""

    maxnames: int


class NamesRet(Record):
    names: list[str]


# ---- object references other than the domain's (protocol_core's NonnullDomain)


class _WireSnapshot(Record):
    name: str
    dom: DomainRef


class _NonnullSnapshotCodec(xdr.StructCodec["Any"]):
    """remote_nonnull_domain_snapshot (name, dom) carried as SnapshotRef (dom, name)."""

    def pack(self, out: bytearray, v: Any) -> None:
        super().pack(out, _WireSnapshot(v.name, v.dom))

    def unpack(self, buf: xdr.Buffer, off: int) -> tuple[Any, int]:
        w, off = super().unpack(buf, off)
        return SnapshotRef(w.dom, w.name), off


NonnullStoragePool = S(StoragePoolRef, NonnullString, Uuid)
NonnullStorageVol = S(StorageVolRef, NonnullString, NonnullString, NonnullString)
NonnullSnapshot = _NonnullSnapshotCodec(_WireSnapshot, (NonnullString, NonnullDomain))
NonnullNetwork = S(NetworkRef, NonnullString, Uuid)
