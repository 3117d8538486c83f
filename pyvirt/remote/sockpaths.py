"""Where local daemons listen, without importing the client (pyvirsh's light start-up
checks this to decide between the daemon and reading the files in process)."""

from __future__ import annotations

import os

SYSTEM_SOCKET = "/run/pyvirt/libvirt-sock"


def session_socket() -> str:
    xdg = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    return os.path.join(xdg, "pyvirt", "libvirt-sock")


def running_daemon_socket(uri: str) -> str | None:
    """The socket of the pyvirtd serving plain ``qemu:///system`` / ``qemu:///session``
    when one is running (its socket exists), as pyvirt.aio.registry decides."""
    if uri == "qemu:///system":
        sock = SYSTEM_SOCKET
    elif uri == "qemu:///session":
        sock = session_socket()
    else:
        return None
    return sock if os.path.exists(sock) else None


def daemon_target(uri: str) -> tuple[str, str] | None:
    """(URI to open on the daemon, socket path) for the unix-socket forms a one-shot client
    can take without the full URI parser: plain ``qemu:///system|session`` while their
    pyvirtd runs, and ``qemu[+unix]:///system|session?socket=/ABS`` (pyvirtd or libvirtd).
    ``None`` for anything else (or when in doubt: escapes, more parameters), which the
    async client then handles; a test holds this to :func:`pyvirt.remote.client.split_uri`.
    """
    sock = running_daemon_socket(uri)
    if sock is not None:
        return uri, sock
    for scheme in ("qemu+unix://", "qemu://"):
        if not uri.startswith(scheme):
            continue
        path, sep, query = uri[len(scheme):].partition("?socket=")
        if (sep and path in ("/system", "/session") and query.startswith("/")
                and not any(c in query for c in "%&+#;?=")):
            return "qemu://" + path, query
    return None
