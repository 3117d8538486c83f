"""pyvirt.uri: parsing, default resolution and libvirt's errors for bad URIs."""

from __future__ import annotations

import pytest

from pyvirt.errors import ErrorCode, ErrorDomain, VirtError
from pyvirt.uri import ConnectURI, default_uri, parse_uri, resolve_uri


@pytest.mark.parametrize(
    ("text", "driver", "transport", "host", "port", "path", "params"),
    [
        ("qemu:///system", "qemu", None, None, None, "/system", ()),
        ("qemu:///session", "qemu", None, None, None, "/session", ()),
        ("qemu:///embed?root=/srv/vm%20a", "qemu", None, None, None, "/embed",
         (("root", "/srv/vm a"),)),
        ("qemu+unix:///system?socket=/run/x.sock", "qemu", "unix", None, None, "/system",
         (("socket", "/run/x.sock"),)),
        ("test:///default", "test", None, None, None, "/default", ()),
        ("test:///tmp/node.xml", "test", None, None, None, "/tmp/node.xml", ()),
        ("test+unix:///default?socket=/s", "test", "unix", None, None, "/default",
         (("socket", "/s"),)),
        ("qemu+tcp://host.example/system", "qemu", "tcp", "host.example", None, "/system", ()),
        ("qemu+tls://h:16514/system?no_verify=1;pkipath=/p", "qemu", "tls", "h", 16514,
         "/system", (("no_verify", "1"), ("pkipath", "/p"))),
        ("qemu+ssh://root@[::1]:22/system", "qemu", "ssh", "::1", 22, "/system", ()),
    ],
)
def test_parse(text: str, driver: str, transport: str | None, host: str | None,
               port: int | None, path: str, params: tuple[tuple[str, str], ...]) -> None:
    u = parse_uri(text)
    assert (u.driver, u.transport, u.host, u.port, u.path, u.params) == (
        driver, transport, host, port, path, params)
    assert str(u) == text and u.original == text
    assert u.scheme == text.split(":", 1)[0]


def test_user_and_remote_flags() -> None:
    u = parse_uri("qemu+ssh://alice@h/system")
    assert u.user == "alice" and u.is_remote
    assert not parse_uri("qemu:///system").is_remote
    assert parse_uri("qemu:///system?socket=/x").is_remote
    assert parse_uri("qemu+unix:///system").is_remote


def test_param_last_wins_and_missing() -> None:
    u = parse_uri("test:///default?a=1&b=2&a=3")
    assert u.param("a") == "3" and u.param("b") == "2" and u.param("c") is None


def test_driver_uri_drops_client_params() -> None:
    u = parse_uri("qemu+unix:///system?socket=/x&mode=direct&extra=1")
    assert u.driver_uri == "qemu:///system?extra=1"


@pytest.mark.parametrize(
    ("text", "code", "domain", "message"),
    [
        (":::", ErrorCode.INTERNAL_ERROR, ErrorDomain.URI, "internal error: Unable to parse URI :::"),
        ("foo", ErrorCode.NO_CONNECT, ErrorDomain.NONE,
         "no connection driver available for URI 'foo' does not include a driver name"),
        ("qemu+foo:///system", ErrorCode.INVALID_ARG, ErrorDomain.REMOTE,
         ("invalid argument: remote_open: transport in URL not recognised (should be "
          "tls|unix|ssh|ext|tcp|libssh2|libssh)")),
        ("qemu+tcp://h:x/system", ErrorCode.INTERNAL_ERROR, ErrorDomain.URI,
         "internal error: Unable to parse URI qemu+tcp://h:x/system"),
    ],
)
def test_bad_uri_errors(text: str, code: ErrorCode, domain: ErrorDomain, message: str) -> None:
    with pytest.raises(VirtError) as ei:
        parse_uri(text)
    assert (ei.value.code, ei.value.domain, ei.value.message) == (code, domain, message)


def test_default_uri_resolution() -> None:
    assert default_uri({}, euid=0) == "qemu:///system"
    assert default_uri({}, euid=1000) == "qemu:///session"
    assert default_uri({"LIBVIRT_DEFAULT_URI": "test:///default"}, euid=0) == "test:///default"
    assert default_uri({"LIBVIRT_DEFAULT_URI": ""}, euid=1000) == "qemu:///session"
    env = {"LIBVIRT_DEFAULT_URI": "test:///default"}
    # An explicit URI wins; an empty one counts as none, as in virConnectOpen.
    assert resolve_uri("qemu:///embed?root=/r", env, 0).path == "/embed"
    assert resolve_uri("", env, 0).driver == "test"
    assert resolve_uri(None, {}, 1000) == parse_uri("qemu:///session")


def test_connect_uri_is_frozen() -> None:
    u = parse_uri("test:///default")
    assert isinstance(u, ConnectURI)
    with pytest.raises(AttributeError):
        u.path = "/x"  # type: ignore[misc]
