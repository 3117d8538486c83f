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
