"""Domain lifecycle: define, undefine, create, start, shutdown, destroy, reboot, reset,
suspend, resume, autostart."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from pyvirt.cli.common import flag_bits
from pyvirt.cli.common import read_file as _read_file
from pyvirt.cli.ctl import CmdFailed, Ctl
from pyvirt.cli.spec import BoundArgs
from pyvirt.enums import (
    DestroyFlags,
    DomainCreateFlags,
    ShutdownFlags,
    UndefineFlags,
)

if TYPE_CHECKING:
    from pyvirt.drivers.base import DomainRef


def cmd_define(ctl: Ctl, a: BoundArgs) -> None:
    path = a.req("file")
    xml = _read_file(path)
    with ctl.failing(f"Failed to define domain from {path}"):
        d = ctl.call(ctl.conn.define_xml(xml, 1 if a.flag("validate") else 0))
    ctl.print_extra(f"Domain '{d.name}' defined from {path}\n")


def cmd_create(ctl: Ctl, a: BoundArgs) -> None:
    path = a.req("file")
    xml = _read_file(path)
    flags = flag_bits(a, (("paused", DomainCreateFlags.START_PAUSED),
                          ("autodestroy", DomainCreateFlags.START_AUTODESTROY),
                          ("validate", DomainCreateFlags.START_VALIDATE)))
    with ctl.failing(f"Failed to create domain from {path}"):
        d = ctl.call(ctl.conn.create_xml(xml, flags))
    ctl.print_extra(f"Domain '{d.name}' created from {path}\n")
    if a.flag("console"):
        from pyvirt.cli.console import run_console

        run_console(ctl, d, None, False, False)


# virsh names the domain in its messages as the user wrote it (id, uuid or name), except
# for start, create and define, which print the domain's real name.
def cmd_undefine(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    flags = flag_bits(a, (("managed-save", UndefineFlags.MANAGED_SAVE),
                          ("snapshots-metadata", UndefineFlags.SNAPSHOTS_METADATA),
                          ("checkpoints-metadata", UndefineFlags.CHECKPOINTS_METADATA),
                          ("nvram", UndefineFlags.NVRAM), ("keep-nvram", UndefineFlags.KEEP_NVRAM),
                          ("tpm", UndefineFlags.TPM), ("keep-tpm", UndefineFlags.KEEP_TPM)))
    with ctl.failing(f"Failed to undefine domain '{name}'"):
        ctl.call(ctl.conn.undefine(d, flags))
    ctl.print_extra(f"Domain '{name}' has been undefined\n")


def cmd_start(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"), by_id=False)
    if d.id >= 0:
        raise CmdFailed("Domain is already active")
    flags = flag_bits(a, (("paused", DomainCreateFlags.START_PAUSED),
                          ("autodestroy", DomainCreateFlags.START_AUTODESTROY),
                          ("bypass-cache", DomainCreateFlags.START_BYPASS_CACHE),
                          ("force-boot", DomainCreateFlags.START_FORCE_BOOT),
                          ("reset-nvram", DomainCreateFlags.START_RESET_NVRAM)))
    with ctl.failing(f"Failed to start domain '{d.name}'"):
        # --force-boot only matters when there is a managed save image to skip.
        if flags & DomainCreateFlags.START_FORCE_BOOT and \
                not ctl.call(ctl.conn.has_managed_save_image(d)):
            flags &= ~DomainCreateFlags.START_FORCE_BOOT
        d = ctl.call(ctl.conn.create(d, flags))
    ctl.print_extra(f"Domain '{d.name}' started\n")
    if a.flag("console"):
        from pyvirt.cli.console import run_console

        run_console(ctl, d, None, False, False)


_MODES = {"acpi": ShutdownFlags.ACPI_POWER_BTN, "agent": ShutdownFlags.GUEST_AGENT,
          "initctl": ShutdownFlags.INITCTL, "signal": ShutdownFlags.SIGNAL,
          "paravirt": ShutdownFlags.PARAVIRT}


def _mode_flags(mode: str | None) -> int:
    flags = 0
    for m in (mode or "").split(",") if mode else []:
        if m not in _MODES:
            raise CmdFailed(f"Unknown mode {m} value, expecting 'acpi', 'agent', 'initctl', "
                            "'signal', or 'paravirt'")
        flags |= _MODES[m]
    return flags


def _act(ctl: Ctl, a: BoundArgs, verb: str, run: Callable[[DomainRef], Coroutine[Any, Any, object]],
         done: str) -> None:
    """Look the domain up, run one call on it, say what happened (virsh's words name the
    domain as the user wrote it)."""
    name = a.req("domain")
    d = ctl.domain(name)
    with ctl.failing(f"Failed to {verb} domain '{name}'"):
        ctl.call(run(d))
    ctl.print_extra(f"Domain '{name}' {done}\n")


def cmd_shutdown(ctl: Ctl, a: BoundArgs) -> None:
    flags = _mode_flags(a.get("mode"))  # a bad mode fails before the domain is looked up
    _act(ctl, a, "shutdown", lambda d: ctl.conn.shutdown(d, flags), "is being shutdown")


def cmd_reboot(ctl: Ctl, a: BoundArgs) -> None:
    flags = _mode_flags(a.get("mode"))
    _act(ctl, a, "reboot", lambda d: ctl.conn.reboot(d, flags), "is being rebooted")


def cmd_destroy(ctl: Ctl, a: BoundArgs) -> None:
    flags = flag_bits(a, (("graceful", DestroyFlags.GRACEFUL), ("remove-logs", DestroyFlags.REMOVE_LOGS)))
    _act(ctl, a, "destroy", lambda d: ctl.conn.destroy(d, flags), "destroyed")


def cmd_reset(ctl: Ctl, a: BoundArgs) -> None:
    _act(ctl, a, "reset", lambda d: ctl.conn.reset(d, 0), "was reset")


def cmd_suspend(ctl: Ctl, a: BoundArgs) -> None:
    _act(ctl, a, "suspend", lambda d: ctl.conn.suspend(d), "suspended")


def cmd_resume(ctl: Ctl, a: BoundArgs) -> None:
    _act(ctl, a, "resume", lambda d: ctl.conn.resume(d), "resumed")


def cmd_autostart(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    enable = not a.flag("disable")
    what = "mark" if enable else "unmark"
    with ctl.failing(f"Failed to {what} domain '{name}' as autostarted"):
        ctl.call(ctl.conn.set_autostart(d, enable))
    ctl.print_extra(f"Domain '{name}' {what}ed as autostarted\n")
