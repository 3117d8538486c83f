"""Connection and node procedures: versions, capabilities, host info, feature probes.

Part of :mod:`pyvirt.remote.protocol`, which re-exports every name here: import from there.
(CONNECT_OPEN/CLOSE and AUTH_LIST are in ``protocol_core`` with the light reads.)
"""

from __future__ import annotations

from pyvirt.remote.protocol_core import UH, I, NonnullString, OptString, S, U, V, _p
from pyvirt.rpc import xdr

# Records: typed as NamedTuples for mypy, built by rpc.record at run time (no typing
# import, a fifth of a NamedTuple's declaration cost: every async client and pyvirtd pays it).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NamedTuple as Record
else:
    from pyvirt.rpc.record import Record


SECURITY_MODEL_MAX = 257  # VIR_SECURITY_MODEL_BUFLEN
SECURITY_DOI_MAX = 257  # VIR_SECURITY_DOI_BUFLEN


class SupportsFeatureArgs(Record):
    feature: int


class SupportsFeatureRet(Record):
    supported: int


class GetUriRet(Record):
    uri: str


class GetTypeRet(Record):
    type: str


class GetVersionRet(Record):
    hv_ver: int


class GetLibVersionRet(Record):
    lib_ver: int


class GetHostnameRet(Record):
    hostname: str


class GetCapabilitiesRet(Record):
    capabilities: str


class GetDomainCapabilitiesArgs(Record):
    emulatorbin: str | None
    arch: str | None
    machine: str | None
    virttype: str | None
    flags: int


class GetMaxVcpusArgs(Record):
    type: str | None


class GetMaxVcpusRet(Record):
    max_vcpus: int


class IsSecureRet(Record):
    secure: int


class NodeGetInfoRet(Record):
    model: str
    memory: int
    cpus: int
    mhz: int
    nodes: int
    sockets: int
    cores: int
    threads: int


class NodeGetSecurityModelRet(Record):
    model: str
    doi: str


CONNECT_GET_TYPE = _p(3, "CONNECT_GET_TYPE", V, S(GetTypeRet, NonnullString), high=True)
CONNECT_GET_VERSION = _p(4, "CONNECT_GET_VERSION", V, S(GetVersionRet, UH), high=True)
CONNECT_GET_MAX_VCPUS = _p(
    5, "CONNECT_GET_MAX_VCPUS", S(GetMaxVcpusArgs, OptString), S(GetMaxVcpusRet, I), high=True
)
NODE_GET_INFO = _p(
    6,
    "NODE_GET_INFO",
    V,
    S(NodeGetInfoRet, xdr.CharArray(32, True), UH, I, I, I, I, I, I),
    high=True,
)
CONNECT_GET_CAPABILITIES = _p(
    7, "CONNECT_GET_CAPABILITIES", V, S(GetCapabilitiesRet, NonnullString), high=True
)
CONNECT_GET_HOSTNAME = _p(
    59, "CONNECT_GET_HOSTNAME", V, S(GetHostnameRet, NonnullString), high=True
)
CONNECT_SUPPORTS_FEATURE = _p(
    60, "CONNECT_SUPPORTS_FEATURE", S(SupportsFeatureArgs, I), S(SupportsFeatureRet, I), high=True
)
CONNECT_GET_URI = _p(110, "CONNECT_GET_URI", V, S(GetUriRet, NonnullString), high=True)
NODE_GET_SECURITY_MODEL = _p(
    122,
    "NODE_GET_SECURITY_MODEL",
    V,
    S(
        NodeGetSecurityModelRet,
        xdr.CharArray(SECURITY_MODEL_MAX, False),
        xdr.CharArray(SECURITY_DOI_MAX, False),
    ),
    high=True,
)
CONNECT_IS_SECURE = _p(149, "CONNECT_IS_SECURE", V, S(IsSecureRet, I), high=True)
CONNECT_GET_LIB_VERSION = _p(157, "CONNECT_GET_LIB_VERSION", V, S(GetLibVersionRet, UH), high=True)
CONNECT_GET_DOMAIN_CAPABILITIES = _p(
    342,
    "CONNECT_GET_DOMAIN_CAPABILITIES",
    S(GetDomainCapabilitiesArgs, OptString, OptString, OptString, OptString, U),
    S(GetCapabilitiesRet, NonnullString),
)
CONNECT_REGISTER_CLOSE_CALLBACK = _p(360, "CONNECT_REGISTER_CLOSE_CALLBACK", V, V, high=True)
CONNECT_UNREGISTER_CLOSE_CALLBACK = _p(361, "CONNECT_UNREGISTER_CLOSE_CALLBACK", V, V, high=True)


class DrvFeature:
    """virDrvFeature numbers clients ask about with CONNECT_SUPPORTS_FEATURE.

    The three the daemon itself answers are the ones virsh and python3-libvirt 9.0 ask on
    every connect (seen in rpc-traces/): keepalive before CONNECT_OPEN, event and close
    callbacks after it.
    """

    TYPED_PARAM_STRING = 8
    PROGRAM_KEEPALIVE = 10
    REMOTE_EVENT_CALLBACK = 14
    REMOTE_CLOSE_CALLBACK = 15
