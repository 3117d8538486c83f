"""Errors with libvirt's wire numbers.

Every failure that crosses a public API boundary is a :class:`VirtError` carrying a
libvirt error code (``VIR_ERR_*``), an error domain (``VIR_FROM_*``) and a message, so
the remote protocol can send it as a ``remote_error`` and clients get the same
``libvirtError`` a libvirt client expects.
"""

from __future__ import annotations

from enum import IntEnum

TYPE_CHECKING = False  # typing stays off the import path (mypy treats this as typing's)
if TYPE_CHECKING:
    # To the type checker every table below is an ordinary IntEnum class.
    from collections.abc import Awaitable
    from typing import TypeVar

    IntTable = IntEnum
    _T = TypeVar("_T")

    _E = TypeVar("_E")

    def int_table(cls: type[_E]) -> type[_E]:
        return cls

else:
    IntTable = object

    def int_table(cls: type) -> type[IntEnum]:
        """Turn a plain class of ``NAME = number`` lines into an IntEnum in one step.

        Python 3.11 builds a class-syntax IntEnum member by member (~6 us each); this file
        and enums.py declare ~400 members, which was ~5 ms of every full start-up. The
        standard library declares its own big IntEnums (http.HTTPStatus, signal, re, ssl)
        with ``enum._simple_enum`` for that reason; the result is the same enum
        (tests/unit/test_heavyimp_enums.py checks every table against a class-syntax build
        with ``enum._test_simple_enum``). Without it, the functional API builds the same class.
        """
        try:
            from enum import _simple_enum
        except ImportError:  # pragma: no cover - CPython >= 3.11 has it
            members = [(k, v) for k, v in vars(cls).items() if not k.startswith("_")]
            made = IntEnum(cls.__name__, members, module=cls.__module__, qualname=cls.__qualname__)
            made.__doc__ = cls.__doc__
            return made
        made = _simple_enum(IntEnum)(cls)
        made.__doc__ = cls.__doc__  # it would fill in "An enumeration." where class syntax leaves None
        return made


@int_table
class ErrorCode(IntTable):
    """virErrorNumber (libvirt's include/libvirt/virterror.h numbering)."""

    OK = 0
    INTERNAL_ERROR = 1
    NO_MEMORY = 2
    NO_SUPPORT = 3
    UNKNOWN_HOST = 4
    NO_CONNECT = 5
    INVALID_CONN = 6
    INVALID_DOMAIN = 7
    INVALID_ARG = 8
    OPERATION_FAILED = 9
    GET_FAILED = 10
    POST_FAILED = 11
    HTTP_ERROR = 12
    SEXPR_SERIAL = 13
    NO_XEN = 14
    XEN_CALL = 15
    OS_TYPE = 16
    NO_KERNEL = 17
    NO_ROOT = 18
    NO_SOURCE = 19
    NO_TARGET = 20
    NO_NAME = 21
    NO_OS = 22
    NO_DEVICE = 23
    NO_XENSTORE = 24
    DRIVER_FULL = 25
    CALL_FAILED = 26
    XML_ERROR = 27
    DOM_EXIST = 28
    OPERATION_DENIED = 29
    OPEN_FAILED = 30
    READ_FAILED = 31
    PARSE_FAILED = 32
    CONF_SYNTAX = 33
    WRITE_FAILED = 34
    XML_DETAIL = 35
    INVALID_NETWORK = 36
    NETWORK_EXIST = 37
    SYSTEM_ERROR = 38
    RPC = 39
    GNUTLS_ERROR = 40
    WAR_NO_NETWORK = 41
    NO_DOMAIN = 42
    NO_NETWORK = 43
    INVALID_MAC = 44
    AUTH_FAILED = 45
    INVALID_STORAGE_POOL = 46
    INVALID_STORAGE_VOL = 47
    WAR_NO_STORAGE = 48
    NO_STORAGE_POOL = 49
    NO_STORAGE_VOL = 50
    WAR_NO_NODE = 51
    INVALID_NODE_DEVICE = 52
    NO_NODE_DEVICE = 53
    NO_SECURITY_MODEL = 54
    OPERATION_INVALID = 55
    WAR_NO_INTERFACE = 56
    NO_INTERFACE = 57
    INVALID_INTERFACE = 58
    MULTIPLE_INTERFACES = 59
    WAR_NO_NWFILTER = 60
    INVALID_NWFILTER = 61
    NO_NWFILTER = 62
    BUILD_FIREWALL = 63
    WAR_NO_SECRET = 64
    INVALID_SECRET = 65
    NO_SECRET = 66
    CONFIG_UNSUPPORTED = 67
    OPERATION_TIMEOUT = 68
    MIGRATE_PERSIST_FAILED = 69
    HOOK_SCRIPT_FAILED = 70
    INVALID_DOMAIN_SNAPSHOT = 71
    NO_DOMAIN_SNAPSHOT = 72
    INVALID_STREAM = 73
    ARGUMENT_UNSUPPORTED = 74
    STORAGE_PROBE_FAILED = 75
    STORAGE_POOL_BUILT = 76
    SNAPSHOT_REVERT_RISKY = 77
    OPERATION_ABORTED = 78
    AUTH_CANCELLED = 79
    NO_DOMAIN_METADATA = 80
    MIGRATE_UNSAFE = 81
    OVERFLOW = 82
    BLOCK_COPY_ACTIVE = 83
    OPERATION_UNSUPPORTED = 84
    SSH = 85
    AGENT_UNRESPONSIVE = 86
    RESOURCE_BUSY = 87
    ACCESS_DENIED = 88
    DBUS_SERVICE = 89
    STORAGE_VOL_EXIST = 90
    CPU_INCOMPATIBLE = 91
    XML_INVALID_SCHEMA = 92
    MIGRATE_FINISH_OK = 93
    AUTH_UNAVAILABLE = 94
    NO_SERVER = 95
    NO_CLIENT = 96
    AGENT_UNSYNCED = 97
    LIBSSH = 98
    DEVICE_MISSING = 99
    INVALID_NWFILTER_BINDING = 100
    NO_NWFILTER_BINDING = 101
    INVALID_DOMAIN_CHECKPOINT = 102
    NO_DOMAIN_CHECKPOINT = 103
    NO_DOMAIN_BACKUP = 104
    INVALID_NETWORK_PORT = 105
    NETWORK_PORT_EXIST = 106
    NO_NETWORK_PORT = 107
    NO_HOSTNAME = 108
    CHECKPOINT_INCONSISTENT = 109
    MULTIPLE_DOMAINS = 110


@int_table
class ErrorDomain(IntTable):
    """virErrorDomain: which subsystem raised the error."""

    NONE = 0
    XEN = 1
    XEND = 2
    XENSTORE = 3
    SEXPR = 4
    XML = 5
    DOM = 6
    RPC = 7
    PROXY = 8
    CONF = 9
    QEMU = 10
    NET = 11
    TEST = 12
    REMOTE = 13
    OPENVZ = 14
    XENXM = 15
    STATS_LINUX = 16
    LXC = 17
    STORAGE = 18
    NETWORK = 19
    DOMAIN = 20
    UML = 21
    NODEDEV = 22
    XEN_INOTIFY = 23
    SECURITY = 24
    VBOX = 25
    INTERFACE = 26
    ONE = 27
    ESX = 28
    PHYP = 29
    SECRET = 30
    CPU = 31
    XENAPI = 32
    NWFILTER = 33
    HOOK = 34
    DOMAIN_SNAPSHOT = 35
    AUDIT = 36
    SYSINFO = 37
    STREAMS = 38
    VMWARE = 39
    EVENT = 40
    LIBXL = 41
    LOCKING = 42
    HYPERV = 43
    CAPABILITIES = 44
    URI = 45
    AUTH = 46
    DBUS = 47
    PARALLELS = 48
    DEVICE = 49
    SSH = 50
    LOCKSPACE = 51
    INITCTL = 52
    IDENTITY = 53
    CGROUP = 54
    ACCESS = 55
    SYSTEMD = 56
    BHYVE = 57
    CRYPTO = 58
    FIREWALL = 59
    POLKIT = 60
    THREAD = 61
    ADMIN = 62
    LOGGING = 63
    XENXL = 64
    PERF = 65
    LIBSSH = 66
    RESCTRL = 67
    FIREWALLD = 68
    DOMAIN_CHECKPOINT = 69
    TPM = 70
    BPF = 71
    CH = 72


@int_table
class ErrorLevel(IntTable):
    NONE = 0
    WARNING = 1
    ERROR = 2


class VirtError(Exception):
    """A failure with libvirt's (code, domain, message) triple.

    ``str1``/``str2``/``str3`` and ``int1``/``int2`` mirror virError's extra fields, which
    travel on the wire in ``remote_error``; most callers leave them unset.
    """

    code: ErrorCode = ErrorCode.INTERNAL_ERROR
    domain: ErrorDomain = ErrorDomain.NONE

    def __init__(
        self,
        message: str,
        code: ErrorCode | int | None = None,
        domain: ErrorDomain | int | None = None,
        *,
        level: ErrorLevel = ErrorLevel.ERROR,
        str1: str | None = None,
        str2: str | None = None,
        str3: str | None = None,
        int1: int = 0,
        int2: int = 0,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = ErrorCode(code) if code in ErrorCode._value2member_map_ else code  # type: ignore[assignment]
        if domain is not None:
            self.domain = ErrorDomain(domain) if domain in ErrorDomain._value2member_map_ else domain  # type: ignore[assignment]
        self.level = level
        self.str1 = str1
        self.str2 = str2
        self.str3 = str3
        self.int1 = int1
        self.int2 = int2

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={int(self.code)}, domain={int(self.domain)})"


# One subclass per decision a caller makes; each fixes the code so raise sites stay short.
class InternalError(VirtError):
    code = ErrorCode.INTERNAL_ERROR


class XMLError(VirtError):
    """Malformed or semantically invalid XML (VIR_ERR_XML_ERROR)."""

    code = ErrorCode.XML_ERROR
    domain = ErrorDomain.DOMAIN


class ConfigUnsupported(VirtError):
    """Valid XML asking for something we do not support (VIR_ERR_CONFIG_UNSUPPORTED)."""

    code = ErrorCode.CONFIG_UNSUPPORTED
    domain = ErrorDomain.DOMAIN


class InvalidArg(VirtError):
    code = ErrorCode.INVALID_ARG


class NoDomain(VirtError):
    code = ErrorCode.NO_DOMAIN
    domain = ErrorDomain.QEMU


class DomainExists(VirtError):
    code = ErrorCode.DOM_EXIST
    domain = ErrorDomain.QEMU


class OperationInvalid(VirtError):
    """The object is in the wrong state for the call (VIR_ERR_OPERATION_INVALID)."""

    code = ErrorCode.OPERATION_INVALID


class OperationFailed(VirtError):
    code = ErrorCode.OPERATION_FAILED


class OperationUnsupported(VirtError):
    code = ErrorCode.OPERATION_UNSUPPORTED


class NoSupport(VirtError):
    """This driver does not implement the call (VIR_ERR_NO_SUPPORT)."""

    code = ErrorCode.NO_SUPPORT


async def named_no_support(api: str, aw: Awaitable[_T], domain: ErrorDomain) -> _T:
    """Await ``aw``; a NO_SUPPORT error from it (a driver's default, or the code from a
    remote daemon) is raised again naming ``api`` in ``domain``. The driver interface folds
    several public calls into one method (the network counts and name lists into
    list_all_networks), and libvirt names the public call a client really made."""
    try:
        return await aw
    except VirtError as e:
        if e.code != ErrorCode.NO_SUPPORT:
            raise
        raise NoSupport(f"this function is not supported by the connection driver: {api}",
                        domain=domain) from None


class OperationTimeout(VirtError):
    code = ErrorCode.OPERATION_TIMEOUT


class OperationAborted(VirtError):
    code = ErrorCode.OPERATION_ABORTED


class SystemError_(VirtError):
    """An OS call failed (VIR_ERR_SYSTEM_ERROR); the message carries strerror."""

    code = ErrorCode.SYSTEM_ERROR


class RPCError(VirtError):
    code = ErrorCode.RPC
    domain = ErrorDomain.RPC


class AgentUnresponsive(VirtError):
    code = ErrorCode.AGENT_UNRESPONSIVE
    domain = ErrorDomain.QEMU


class AccessDenied(VirtError):
    code = ErrorCode.ACCESS_DENIED
    domain = ErrorDomain.ACCESS


class OperationDenied(VirtError):
    code = ErrorCode.OPERATION_DENIED


class InvalidConn(VirtError):
    code = ErrorCode.INVALID_CONN


class NoConnect(VirtError):
    code = ErrorCode.NO_CONNECT
