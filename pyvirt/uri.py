"""libvirt connection URIs: parsing and default resolution.

A URI names a driver and, optionally, how to reach it::

    qemu:///system                      driver=qemu, local
    qemu:///embed?root=/srv/vm          driver=qemu, local, params root
    qemu+unix:///system?socket=/p       driver=qemu, transport=unix (a daemon)
    qemu+tcp://host:16509/system        driver=qemu, transport=tcp, host, port
    test:///default  test:///abs/node.xml

This module is a leaf of the layer graph (it imports only :mod:`pyvirt.errors`): it says
what a URI *means*; choosing and opening a driver is :mod:`pyvirt.aio`'s job.
Errors carry the codes the real libvirt gives for the same input.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

# libvirt's remote driver accepts exactly these transports (remote_driver.c's list).
TRANSPORTS = ("tls", "unix", "ssh", "ext", "tcp", "libssh2", "libssh")

# RFC 3986 shape, as libxml2's parser (which libvirt uses) sees it.
_URI_RE = re.compile(
    r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*):"
    r"(?://(?P<authority>[^/?#]*))?"
    r"(?P<path>[^?#]*)"
    r"(?:\?(?P<query>[^#]*))?"
    r"(?:#(?P<fragment>.*))?$"
)
_AUTHORITY_RE = re.compile(r"^(?:(?P<user>[^@]*)@)?(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>\d*))?$")


def _parse_error(uri: str) -> VirtError:
    return VirtError(f"internal error: Unable to parse URI {uri}", ErrorCode.INTERNAL_ERROR,
                     ErrorDomain.URI)


def no_driver(uri: str) -> VirtError:
    """virConnectOpen's answer when no driver accepts a URI (VIR_ERR_NO_CONNECT)."""
    return VirtError(f"no connection driver available for {uri}", ErrorCode.NO_CONNECT,
                     ErrorDomain.NONE)


@dataclass(frozen=True, slots=True)
class ConnectURI:
    """A parsed connection URI. ``params`` keeps query order (libvirt forwards it verbatim)."""

    original: str
    scheme: str  # as written: "qemu+unix"
    driver: str  # "qemu"
    transport: str | None  # "unix", "tcp", ... or None for a plain driver URI
    user: str | None
    host: str | None
    port: int | None
    path: str
    params: tuple[tuple[str, str], ...]

    def __str__(self) -> str:
        return self.original

    def param(self, name: str) -> str | None:
        """The last value of a query parameter, as libvirt's virURIParse keeps it."""
        found = None
        for key, value in self.params:
            if key == name:
                found = value
        return found

    @property
    def is_remote(self) -> bool:
        """True when the URI asks for a daemon: a transport, a host or a socket parameter."""
        return self.transport is not None or bool(self.host) or self.param("socket") is not None

    @property
    def driver_uri(self) -> str:
        """The URI without transport, host and client-side params: what a daemon opens."""
        client_only = {"socket", "no_verify", "no_tty", "pkipath", "keyfile", "sshauth",
                       "known_hosts", "known_hosts_verify", "command", "netcat", "mode", "proxy",
                       "name"}
        kept = "&".join(f"{k}={v}" for k, v in self.params if k not in client_only)
        return f"{self.driver}://{self.path}" + (f"?{kept}" if kept else "")


def parse_uri(uri: str) -> ConnectURI:
    """Parse a URI; raise libvirt's error for text it cannot read.

    >>> parse_uri("qemu+tcp://h:16509/system").port
    16509
    """
    m = _URI_RE.match(uri)
    if m is None:
        if ":" not in uri:
            # libvirt parses a bare word as a relative reference with no scheme.
            raise VirtError(
                f"no connection driver available for URI '{uri}' does not include a "
                "driver name", ErrorCode.NO_CONNECT, ErrorDomain.NONE)
        raise _parse_error(uri)
    scheme = m["scheme"]
    driver, _, transport = scheme.partition("+")
    if transport and transport not in TRANSPORTS:
        raise VirtError(
            "invalid argument: remote_open: transport in URL not recognised (should be "
            + "|".join(TRANSPORTS) + ")", ErrorCode.INVALID_ARG, ErrorDomain.REMOTE)
    user = host = None
    port = None
    if m["authority"]:
        a = _AUTHORITY_RE.match(m["authority"])
        if a is None:
            raise _parse_error(uri)
        user = unquote(a["user"]) if a["user"] is not None else None
        host = a["host"].strip("[]") or None
        if a["port"]:
            port = int(a["port"])
    params: list[tuple[str, str]] = []
    # libvirt splits on '&' and also ';' (virURIParseParams).
    for item in re.split(r"[&;]", m["query"] or ""):
        if not item:
            continue
        key, _, value = item.partition("=")
        params.append((unquote(key.replace("+", " ")), unquote(value.replace("+", " "))))
    return ConnectURI(
        original=uri, scheme=scheme, driver=driver.lower(), transport=transport or None,
        user=user, host=host, port=port, path=m["path"], params=tuple(params),
    )


def default_uri(env: Mapping[str, str] | None = None, euid: int | None = None) -> str:
    """The URI virConnectOpen(NULL) uses: LIBVIRT_DEFAULT_URI, else system for root."""
    env = os.environ if env is None else env
    configured = env.get("LIBVIRT_DEFAULT_URI")
    if configured:
        return configured
    euid = os.geteuid() if euid is None else euid
    return "qemu:///system" if euid == 0 else "qemu:///session"


def resolve_uri(uri: str | None, env: Mapping[str, str] | None = None,
                euid: int | None = None) -> ConnectURI:
    """Explicit URI if given (an empty string counts as none, as in libvirt), else default."""
    text = uri if uri else default_uri(env, euid)
    return parse_uri(text)


__all__ = ["TRANSPORTS", "ConnectURI", "default_uri", "no_driver", "parse_uri", "resolve_uri"]
