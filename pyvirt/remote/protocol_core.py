"""The core of the libvirt remote program: what every connection and ``pyvirsh list`` use.

Part of :mod:`pyvirt.remote.protocol`, which re-exports everything here; import from there.
Split out because declaring all ~250 procedures' codecs costs more than a one-shot client's
whole run (``pyvirsh list --all`` through pyvirtd), and that client only needs these:
the base types, the domain reference, the :class:`Procedure` record, and the procedures of
the handshake (AUTH_LIST, CONNECT_OPEN/CLOSE), the light reads (list, lookups, state),
and what ``pyvirsh blockcommit/blockpull`` need on it (pyvirt.remote.syncjobs: the job
calls, the callback event registration and the two block-job event messages).
Each is declared once, here; the spec test sees them through protocol.py's table.
"""

from __future__ import annotations

# struct.py only re-exports the C module _struct: importing that saves a module load on
# every client start-up (a one-shot pyvirsh through pyvirtd counts each).
import _struct as struct

from pyvirt.drivers.refs import DomainRef
from pyvirt.rpc import xdr

# No typing at run time (it imports re: ~4 ms of that one-shot client): the records are
# pyvirt.rpc.record's NamedTuple look-alikes and the generics exist for mypy only.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Generic, TypeVar
    from typing import NamedTuple as Record

    A = TypeVar("A")
    R = TypeVar("R")
else:
    from pyvirt.rpc.record import Record
    from pyvirt.rpc.xdr import Generic  # subscripting gives the class back

    A = R = None

PROGRAM = 0x20008086
VERSION = 1

STRING_MAX = 4194304
DOMAIN_LIST_MAX = 16384
AUTH_TYPE_LIST_MAX = 20

# ----------------------------------------------------------------------------- base types

NonnullString = xdr.String(STRING_MAX)
OptString = xdr.Optional(NonnullString)  # remote_string
Uuid = xdr.FixedOpaque(16)


class _NonnullDomainCodec(xdr.StructCodec[DomainRef]):
    """remote_nonnull_domain is exactly DomainRef (name, uuid, id), so replies need no copying.

    It is in nearly every call and in every listAllDomains entry, so pack/unpack are written
    out by hand instead of going through the generic per-field loop (~4x faster).
    """

    def pack(self, out: bytearray, v: DomainRef) -> None:
        b = v.name.encode()
        n = len(b)
        if n > STRING_MAX or len(v.uuid) != 16:
            super().pack(out, v)  # the generic path raises the precise XdrError
            return
        out += _U32.pack(n)
        out += b
        out += _PAD[n & 3]
        out += v.uuid
        out += _I32.pack(v.id)

    def unpack(self, buf: xdr.Buffer, off: int) -> tuple[DomainRef, int]:
        name, off = NonnullString.unpack(buf, off)
        end = off + 20
        if end > len(buf):
            raise xdr.XdrError(f"XDR data truncated: need 20 bytes at offset {off}")
        return DomainRef(name, bytes(buf[off : off + 16]), _I32.unpack_from(buf, off + 16)[0]), end


_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_PAD = (b"", b"\0\0\0", b"\0\0", b"\0")
NonnullDomain: xdr.StructCodec[DomainRef] = _NonnullDomainCodec(DomainRef, (NonnullString, Uuid, xdr.Int))
OptDomain = xdr.Optional(NonnullDomain)  # remote_domain


# ----------------------------------------------------------------------------- structs
# Records (typed as NamedTuples), not dataclasses: immutable, and a fraction of a
# dataclass's declaration cost, which matters for the start-up of every remote client.
# Naming: the spec's remote_<proc>_args/_ret/_msg in CamelCase; shapes shared by many
# procedures (a domain alone, a domain and flags) are declared once.


class DomArgs(Record):
    dom: DomainRef


class DomFlagsArgs(Record):
    dom: DomainRef
    flags: int


class DomRet(Record):
    dom: DomainRef


class AuthListRet(Record):
    types: list[int]


class OpenArgs(Record):
    name: str | None
    flags: int


class ListAllDomainsArgs(Record):
    need_results: int
    flags: int


class ListAllDomainsRet(Record):
    domains: list[DomainRef]
    ret: int


class LookupByNameArgs(Record):
    name: str


class LookupByUuidArgs(Record):
    uuid: bytes


class LookupByIdArgs(Record):
    id: int


class GetStateRet(Record):
    state: int
    reason: int


S = xdr.struct_codec
I, U, UH = xdr.Int, xdr.UInt, xdr.UHyper

DOM_ARGS = S(DomArgs, NonnullDomain)
DOM_FLAGS_ARGS = S(DomFlagsArgs, NonnullDomain, U)
DOM_RET = S(DomRet, NonnullDomain)


# ----------------------------------------------------------------------------- procedures


class Procedure(Generic[A, R]):
    """One procedure of the program: number, REMOTE_PROC_ name, codecs, dispatch flags.

    ``readonly`` marks calls allowed on the read-only socket; ``high`` marks calls libvirtd
    runs on its high-priority workers (never blocking on a domain job), which we honour by
    never queueing them behind anything. A plain slotted class rather than a frozen
    dataclass so that importing this module does not import ``dataclasses``; each instance
    is unique (compared and hashed by identity) and never changed after declaration.
    """

    __slots__ = ("args", "args_struct", "high", "message", "name", "number", "readonly", "ret", "ret_struct")

    def __init__(
        self,
        number: int,
        name: str,  # REMOTE_PROC_<name>
        args: xdr.Codec[A],
        ret: xdr.Codec[R],
        args_struct: str | None = None,  # the spec's struct name, for the conformance test
        ret_struct: str | None = None,
        readonly: bool = True,
        high: bool = False,
        message: bool = False,  # an event the server sends, not a call
    ) -> None:
        self.number = number
        self.name = name
        self.args = args
        self.ret = ret
        self.args_struct = args_struct
        self.ret_struct = ret_struct
        self.readonly = readonly
        self.high = high
        self.message = message

    def __repr__(self) -> str:
        return f"Procedure({self.number}, {self.name!r})"

    @property
    def api(self) -> str:
        """The public API behind the call, as libvirt names it in errors (virDomainDefineXML)."""
        return api_name(self.name)


def api_name(proc_name: str) -> str:
    """REMOTE_PROC_ name -> C API name: DOMAIN_GET_JOB_INFO -> virDomainGetJobInfo."""
    return "vir" + "".join(_ACRONYMS.get(w, w.capitalize()) for w in proc_name.split("_"))


def api_error_domain(proc_name: str) -> int:
    """The VIR_FROM_* of the public API's source file (libvirt-domain.c reports VIR_FROM_DOMAIN...)."""
    for key, dom in _API_DOMAINS:
        if key in proc_name:
            return dom
    return 0  # libvirt-host.c: VIR_FROM_NONE


_ACRONYMS = {
    w: w for w in ("XML", "UUID", "ID", "OS", "URI", "CPU", "FS", "PM", "MAC", "IP", "SCSI", "USB", "PCI")
} | {"IOTHREAD": "IOThread", "IOTHREADS": "IOThreads", "NWFILTER": "NWFilter"}
# (substring of the procedure name, VIR_FROM_*) - first match wins
_API_DOMAINS = (
    ("DOMAIN_SNAPSHOT", 35),
    ("DOMAIN_CHECKPOINT", 69),
    ("NWFILTER", 33),
    ("NETWORK", 19),
    ("STORAGE", 18),
    ("NODE_DEVICE", 22),
    ("INTERFACE", 26),
    ("SECRET", 30),
    ("DOMAIN", 20),
)


V = xdr.VOID


def _p(
    number: int,
    name: str,
    args: xdr.Codec[A],
    ret: xdr.Codec[R],
    *,
    rw: bool = False,
    high: bool = False,
    a: str | None = None,
    r: str | None = None,
) -> Procedure[A, R]:
    low = "remote_" + name.lower()
    return Procedure(
        number,
        name,
        args,
        ret,
        (a or low + "_args") if not isinstance(args, xdr.Void) else None,
        (r or low + "_ret") if not isinstance(ret, xdr.Void) else None,
        readonly=not rw,
        high=high,
    )


def _m(number: int, name: str, codec: xdr.Codec[Any]) -> Procedure[Any, Any]:
    return Procedure(number, name, codec, V, "remote_" + name.lower() + "_msg", None, message=True)


CONNECT_OPEN = _p(1, "CONNECT_OPEN", S(OpenArgs, OptString, U), V, high=True)
CONNECT_CLOSE = _p(2, "CONNECT_CLOSE", V, V, high=True)
DOMAIN_LOOKUP_BY_ID = _p(22, "DOMAIN_LOOKUP_BY_ID", S(LookupByIdArgs, I), DOM_RET, high=True)
DOMAIN_LOOKUP_BY_NAME = _p(
    23, "DOMAIN_LOOKUP_BY_NAME", S(LookupByNameArgs, NonnullString), DOM_RET, high=True
)
DOMAIN_LOOKUP_BY_UUID = _p(
    24, "DOMAIN_LOOKUP_BY_UUID", S(LookupByUuidArgs, Uuid), DOM_RET, high=True
)
AUTH_LIST = _p(66, "AUTH_LIST", V, S(AuthListRet, xdr.Array(I, AUTH_TYPE_LIST_MAX)), high=True)
DOMAIN_GET_STATE = _p(212, "DOMAIN_GET_STATE", DOM_FLAGS_ARGS, S(GetStateRet, I, I), high=True)
CONNECT_LIST_ALL_DOMAINS = _p(
    273,
    "CONNECT_LIST_ALL_DOMAINS",
    S(ListAllDomainsArgs, I, U),
    S(ListAllDomainsRet, xdr.Array(NonnullDomain, DOMAIN_LIST_MAX), U),
    high=True,
)

# ----------------------------------------------------------------------------- block jobs
# pyvirsh blockcommit/blockpull through a daemon run on the one-shot client too
# (pyvirt.remote.syncjobs): the job calls, and the block-job event registrations and
# messages virsh waits on. Moved here from proto_blockjob / proto_events (declared once).


class BlockPathFlagsArgs(Record):
    dom: DomainRef
    path: str
    flags: int


class GetBlockJobInfoRet(Record):
    found: int
    type: int
    bandwidth: int
    cur: int
    end: int


class BlockBandwidthArgs(Record):
    """block_job_set_speed and block_pull: (dom, path, bandwidth, flags)."""

    dom: DomainRef
    path: str
    bandwidth: int
    flags: int


class BlockRebaseArgs(Record):
    dom: DomainRef
    path: str
    base: str | None
    bandwidth: int
    flags: int


class BlockCommitArgs(Record):
    dom: DomainRef
    disk: str
    base: str | None
    top: str | None
    bandwidth: int
    flags: int


class EventRegisterArgs(Record):
    eventID: int
    dom: DomainRef | None


class EventRegisterRet(Record):
    callbackID: int


class EventDeregisterArgs(Record):
    callbackID: int


class BlockJobMsg(Record):
    dom: DomainRef
    path: str
    type: int
    status: int


class CallbackBlockJobMsg(Record):
    callbackID: int
    msg: BlockJobMsg


class BlockJob2Msg(Record):
    callbackID: int
    dom: DomainRef
    dst: str
    type: int
    status: int


BLOCK_PATH_FLAGS_ARGS = S(BlockPathFlagsArgs, NonnullDomain, NonnullString, U)
BLOCK_BANDWIDTH_ARGS = S(BlockBandwidthArgs, NonnullDomain, NonnullString, UH, U)
BLOCK_JOB_MSG = S(BlockJobMsg, NonnullDomain, NonnullString, I, I)

DOMAIN_BLOCK_JOB_ABORT = _p(237, "DOMAIN_BLOCK_JOB_ABORT", BLOCK_PATH_FLAGS_ARGS, V, rw=True)
DOMAIN_GET_BLOCK_JOB_INFO = _p(
    238, "DOMAIN_GET_BLOCK_JOB_INFO", BLOCK_PATH_FLAGS_ARGS, S(GetBlockJobInfoRet, I, I, UH, UH, UH), high=True
)
DOMAIN_BLOCK_PULL = _p(240, "DOMAIN_BLOCK_PULL", BLOCK_BANDWIDTH_ARGS, V, rw=True)
DOMAIN_BLOCK_REBASE = _p(
    266, "DOMAIN_BLOCK_REBASE", S(BlockRebaseArgs, NonnullDomain, NonnullString, OptString, UH, U), V, rw=True
)
DOMAIN_BLOCK_COMMIT = _p(
    290, "DOMAIN_BLOCK_COMMIT",
    S(BlockCommitArgs, NonnullDomain, NonnullString, OptString, OptString, UH, U), V, rw=True,
)
CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY = _p(
    316,
    "CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY",
    S(EventRegisterArgs, I, OptDomain),
    S(EventRegisterRet, I),
    high=True,
)
CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY = _p(
    317, "CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY", S(EventDeregisterArgs, I), V, high=True
)
EVENT_BLOCK_JOB = _m(
    326, "DOMAIN_EVENT_CALLBACK_BLOCK_JOB", S(CallbackBlockJobMsg, I, BLOCK_JOB_MSG)
)
EVENT_BLOCK_JOB_2 = _m(
    339, "DOMAIN_EVENT_BLOCK_JOB_2", S(BlockJob2Msg, I, NonnullDomain, NonnullString, I, I)
)
