"""python3-libvirt's ``libvirt_qemu`` module for pyvirt: ``import pyvirt.libvirt_qemu as
libvirt_qemu``.

QEMU monitor and guest-agent pass-through (at the user's risk, as in libvirt: commands that
change the block graph or run state behind the driver's back are not reflected in its
state, and the domain is marked tainted) and QMP event callbacks
``cb(conn, dom, event, seconds, micros, details, opaque)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyvirt._compat.errors import call, fail, libvirtError
from pyvirt._compat.handle import run_dom
from pyvirt._compat.objects import virConnect, virDomain
from pyvirt._compat.runtime import runtime
from pyvirt.drivers.base import QemuMonitorEventMsg
from pyvirt.errors import ErrorCode, ErrorDomain, VirtError

__all__ = [
    "VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE",
    "VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX",
    "VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK",
    "VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT",
    "VIR_DOMAIN_QEMU_AGENT_COMMAND_MIN",
    "VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT",
    "VIR_DOMAIN_QEMU_AGENT_COMMAND_SHUTDOWN",
    "VIR_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT",
    "VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP",
    "libvirtError",
    "qemuAgentCommand",
    "qemuAttach",
    "qemuMonitorCommand",
    "qemuMonitorCommandWithFiles",
    "qemuMonitorEventDeregister",
    "qemuMonitorEventRegister",
]

VIR_DOMAIN_QEMU_MONITOR_COMMAND_DEFAULT = 0
VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP = 1
VIR_DOMAIN_QEMU_AGENT_COMMAND_MIN = -2
VIR_DOMAIN_QEMU_AGENT_COMMAND_BLOCK = -2
VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT = -1
VIR_DOMAIN_QEMU_AGENT_COMMAND_NOWAIT = 0
VIR_DOMAIN_QEMU_AGENT_COMMAND_SHUTDOWN = 60
VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_REGEX = 1
VIR_CONNECT_DOMAIN_QEMU_MONITOR_EVENT_REGISTER_NOCASE = 2


def qemuMonitorCommand(domain: virDomain, cmd: str, flags: int = 0) -> str:
    """virDomainQemuMonitorCommand: QEMU's whole reply (JSON), or HMP's text."""
    return run_dom(domain, "virDomainQemuMonitorCommand",
                   lambda d: d.qemu_monitor_command(domain._dom.ref, cmd, flags), ErrorDomain.NONE, write=True)


def qemuMonitorCommandWithFiles(domain: virDomain, cmd: str, files: list[int] | None = None,
                                flags: int = 0) -> tuple[str, list[int]]:
    """Passing file descriptors is not supported; without any it is qemuMonitorCommand."""
    if files:
        raise fail(VirtError("this function is not supported by the connection driver: "
                             "virDomainQemuMonitorCommandWithFiles", ErrorCode.NO_SUPPORT, ErrorDomain.NONE),
                   "virDomainQemuMonitorCommandWithFiles")
    return qemuMonitorCommand(domain, cmd, flags), []


def qemuAgentCommand(domain: virDomain, cmd: str, timeout: int, flags: int = 0) -> str | None:
    """virDomainQemuAgentCommand: the agent's reply (None with NOWAIT)."""
    return run_dom(domain, "virDomainQemuAgentCommand",
                   lambda d: d.qemu_agent_command(domain._dom.ref, cmd, timeout, flags), ErrorDomain.NONE,
                   write=True)


def qemuAttach(conn: virConnect, pid_value: int, flags: int = 0) -> virDomain:
    api = "virDomainQemuAttach"
    aio = conn._aio(api)
    ref = call(api, aio.driver.qemu_attach(pid_value, flags), conn._core.inline)
    return conn._wrap(aio._dom(ref))


def qemuMonitorEventRegister(conn: virConnect, dom: virDomain | None, event: str | None,
                             cb: Callable[..., Any], opaque: Any, flags: int = 0) -> int:
    """``cb(conn, dom, event, seconds, micros, details, opaque)`` for each matching QMP event,
    run by the registered event loop (virEventRegisterDefaultImpl / virEventRegisterImpl)."""
    api = "virConnectDomainQemuMonitorEventRegister"
    aio = conn._aio(api)
    conn._need_event_impl()

    def on_event(msg: QemuMonitorEventMsg) -> None:  # in the loop thread
        impl = runtime().event_impl
        if impl is not None:
            d = conn._wrap(aio._dom(msg.dom))
            impl.post(lambda: cb(conn, d, msg.event, msg.seconds, msg.micros, msg.details, opaque))

    ref = dom._dom.ref if dom is not None else None
    return call(api, aio.driver.qemu_monitor_event_register(ref, event, flags, on_event), conn._core.inline)


def qemuMonitorEventDeregister(conn: virConnect, callbackID: int) -> int:
    api = "virConnectDomainQemuMonitorEventDeregister"
    aio = conn._aio(api)
    call(api, aio.driver.qemu_monitor_event_deregister(callbackID), conn._core.inline)
    return 0
