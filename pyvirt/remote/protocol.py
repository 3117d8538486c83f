"""The libvirt remote program (0x20008086 v1): THE one table of what we serve and call.

Hand-written from the specification (remote_protocol.x in libvirt's sources). Each struct
is a record whose fields are in wire order, with its XDR codec next to it; each procedure
names the spec's struct for its arguments/return so a test can check the field lists and
numbers against the spec (tests/unit/remote/test_protocol_spec.py). ``readonly`` marks calls
allowed on the read-only socket; ``high`` marks calls libvirtd runs on its high-priority
workers (never blocking on a domain job), which we honour by never queueing them behind
anything.

The declarations live by family in sibling modules; this module assembles
:data:`PROCEDURES` and :data:`EVENTS` from them and re-exports every name they define, so
importers use ``from pyvirt.remote import protocol as P`` and ``P.NAME`` only:

==================  ===========================================================================
``protocol_core``   base types, the domain reference, :class:`Procedure`, the handshake and the
                    light reads (one-shot clients such as ``pyvirsh list`` import only that)
``proto_common``    the other object references and the one-field replies families share
``proto_host``      connection and node calls, :class:`DrvFeature`
``proto_domain``    define, start, stop, info, console, save/restore, screenshot
``proto_vcpu``      vCPU count, info and pinning, the node CPU map
``proto_blockjob``  block stats/info/resize and the block jobs (pull, rebase, commit, copy)
``proto_snapshot``  domain snapshots
``proto_storage``   storage pools and volumes
``proto_network``   virtual networks
``proto_events``    event registration and event messages (callback-based and old style)
==================  ===========================================================================

A family imports only ``protocol_core`` and ``proto_common``, never another family.
"""

from __future__ import annotations

# Star imports are the re-export: mypy treats them as explicit, and a family's new
# declaration needs no second edit here. tests/unit/remote/test_protosplit_table.py checks
# that no two families bind one name to different objects (a star import would silently
# shadow) and that every declared procedure number is in the tables exactly once.
from pyvirt.remote import (
    proto_blockjob,
    proto_common,
    proto_domain,
    proto_events,
    proto_host,
    proto_network,
    proto_snapshot,
    proto_storage,
    proto_vcpu,
    protocol_core,
)
from pyvirt.remote.proto_blockjob import *
from pyvirt.remote.proto_common import *
from pyvirt.remote.proto_domain import *
from pyvirt.remote.proto_events import *
from pyvirt.remote.proto_host import *
from pyvirt.remote.proto_network import *
from pyvirt.remote.proto_snapshot import *
from pyvirt.remote.proto_storage import *
from pyvirt.remote.proto_vcpu import *
from pyvirt.remote.protocol_core import *

# the declaration helpers, re-exported as before the split (star imports skip "_" names)
from pyvirt.remote.protocol_core import _m as _m  # noqa: PLC0414
from pyvirt.remote.protocol_core import _p as _p  # noqa: PLC0414

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType
    from typing import Any

# Every module that declares procedures, in the order the tables are filled.
FAMILIES: tuple[ModuleType, ...] = (
    protocol_core,
    proto_common,
    proto_host,
    proto_domain,
    proto_vcpu,
    proto_blockjob,
    proto_snapshot,
    proto_storage,
    proto_network,
    proto_events,
)


def _table(messages: bool) -> dict[int, Procedure[Any, Any]]:
    return {
        p.number: p
        for family in FAMILIES
        for p in vars(family).values()
        if isinstance(p, Procedure) and p.message is messages
    }


PROCEDURES: dict[int, Procedure[Any, Any]] = _table(messages=False)
EVENTS: dict[int, Procedure[Any, Any]] = _table(messages=True)
