"""Domain lifecycle: define, undefine, create, start, shutdown, destroy, reboot, reset,
suspend, resume, autostart."""

from __future__ import annotations

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


def cmd_shutdown(ctl: Ctl, a: BoundArgs) -> None:
    flags = _mode_flags(a.get("mode"))
    name = a.req("domain")
    d = ctl.domain(name)
    with ctl.failing(f"Failed to shutdown domain '{name}'"):
        ctl.call(ctl.conn.shutdown(d, flags))
    ctl.print_extra(f"Domain '{name}' is being shutdown\n")


def cmd_reboot(ctl: Ctl, a: BoundArgs) -> None:
    flags = _mode_flags(a.get("mode"))
    name = a.req("domain")
    d = ctl.domain(name)
    with ctl.failing(f"Failed to reboot domain '{name}'"):
        ctl.call(ctl.conn.reboot(d, flags))
    ctl.print_extra(f"Domain '{name}' is being rebooted\n")


def cmd_destroy(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    flags = 0
    if a.flag("graceful"):
        flags |= DestroyFlags.GRACEFUL
    if a.flag("remove-logs"):
        flags |= DestroyFlags.REMOVE_LOGS
    with ctl.failing(f"Failed to destroy domain '{name}'"):
        ctl.call(ctl.conn.destroy(d, flags))
    ctl.print_extra(f"Domain '{name}' destroyed\n")


def cmd_reset(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    with ctl.failing(f"Failed to reset domain '{name}'"):
        ctl.call(ctl.conn.reset(d, 0))
    ctl.print_extra(f"Domain '{name}' was reset\n")


def cmd_suspend(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    with ctl.failing(f"Failed to suspend domain '{name}'"):
        ctl.call(ctl.conn.suspend(d))
    ctl.print_extra(f"Domain '{name}' suspended\n")


def cmd_resume(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    with ctl.failing(f"Failed to resume domain '{name}'"):
        ctl.call(ctl.conn.resume(d))
    ctl.print_extra(f"Domain '{name}' resumed\n")


def cmd_autostart(ctl: Ctl, a: BoundArgs) -> None:
    name = a.req("domain")
    d = ctl.domain(name)
    enable = not a.flag("disable")
    what = "mark" if enable else "unmark"
    with ctl.failing(f"Failed to {what} domain '{name}' as autostarted"):
        ctl.call(ctl.conn.set_autostart(d, enable))
    ctl.print_extra(f"Domain '{name}' {what}ed as autostarted\n")
