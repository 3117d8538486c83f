"""The other identity records (snapshot, network, storage pool and volume), without the
Driver ABC: the remote protocol's reference codecs (``remote/proto_common.py``) need them,
and a one-shot client (pyvirsh snapshot-create-as through pyvirtd) need not load
:mod:`pyvirt.drivers.base` for them. ``base`` re-exports them; import them from there as usual.
(:class:`DomainRef` has its own dependency-free module, ``refs.py``.)
"""

from __future__ import annotations

from pyvirt.drivers.refs import DomainRef

TYPE_CHECKING = False  # typing stays off this module's import (mypy treats it as typing's)
if TYPE_CHECKING:
    from dataclasses import dataclass
else:
    # frozen slotted dataclasses to mypy, FrozenRecords at run time (drivers/frozenrec.py)
    from pyvirt.drivers.frozenrec import dataclass



@dataclass(frozen=True, slots=True)
class StoragePoolRef:
    """Identity of a storage pool (remote_nonnull_storage_pool): name, raw 16-byte UUID."""

    name: str
    uuid: bytes


@dataclass(frozen=True, slots=True)
class StorageVolRef:
    """Identity of a volume (remote_nonnull_storage_vol): pool name, volume name, key."""

    pool: str
    name: str
    key: str


@dataclass(frozen=True, slots=True)
class NetworkRef:
    """Identity of a virtual network (remote_nonnull_network): name, raw 16-byte UUID."""

    name: str
    uuid: bytes


@dataclass(frozen=True, slots=True)
class SnapshotRef:
    """A domain snapshot as clients see it (remote_nonnull_domain_snapshot: name + domain)."""

    dom: DomainRef
    name: str
