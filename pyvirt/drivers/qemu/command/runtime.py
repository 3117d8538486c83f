"""What the argv builder needs from the outside world, decided before it runs.

The builder is pure: every path, fd number and mode the command line mentions is chosen by
the process layer (or a test) and handed in here, so the same definition always yields the
same argv and golden files stay stable.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


def _empty() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class CommandRuntime:
    """Paths and file descriptors for one start of one domain.

    ``domain_dir``: the per-domain private directory (libvirt: ``<libDir>/domain-<id>-<name>``),
    home of the master key. ``monitor_fd``: the already-listening QMP socket QEMU inherits.

    Bind-mode unix chardevs: ``socket_fds`` maps a chardev id (``charchannel0``...) to a
    listening socket we created; ``all_sockets_fd`` gives every such chardev the same fd (the
    libvirt test mock does that). Ids with no fd get ``path=...,server=on`` and QEMU binds.

    File chardevs (serial output, logs): when ``file_fd_base`` is set they are passed as
    ``-add-fd set=N,fd=base+N`` in the order :func:`pyvirt.drivers.qemu.command.chardev.file_fd_plan`
    lists them (the caller opens them in that order); otherwise QEMU opens the paths.
    """

    domain_id: int = -1
    domain_dir: str = "/var/lib/pyvirt/qemu/domain--1-guest"
    channel_dir: str = "/var/lib/pyvirt/qemu/channel/target/domain--1-guest"  # per domain
    monitor_fd: int = 3
    master_key: bool = True
    start_paused: bool = True
    no_shutdown: bool = True
    sandbox: bool = True
    socket_fds: Mapping[str, int] = field(default_factory=_empty)
    all_sockets_fd: int | None = None
    file_fd_base: int | None = None
    # Tap networking (<interface type='ethernet'|'bridge'|'network'>): the tap device fds the
    # network layer opened, and vhost-net fds for virtio NICs, by NIC alias (net0, ua-...).
    tap_fds: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: MappingProxyType({}))
    vhost_fds: Mapping[str, tuple[int, ...]] = field(default_factory=lambda: MappingProxyType({}))
    default_tap_fd: int | None = None  # libvirt's test mock: every tap is fd 3
    default_vhost_fd: int | None = None  # ... and every vhost-net is fd 44

    def taps(self, alias: str) -> tuple[int, ...]:
        fds = self.tap_fds.get(alias)
        if fds is None and self.default_tap_fd is not None:
            fds = (self.default_tap_fd,)
        return fds or ()

    def vhosts(self, alias: str) -> tuple[int, ...]:
        fds = self.vhost_fds.get(alias)
        if fds is None and self.default_vhost_fd is not None:
            fds = (self.default_vhost_fd,)
        return fds or ()

    def socket_fd(self, chardev_id: str) -> int | None:
        if self.all_sockets_fd is not None:
            return self.all_sockets_fd
        return self.socket_fds.get(chardev_id)

    @classmethod
    def for_libvirt_tests(cls, name: str) -> CommandRuntime:
        """The faked environment of libvirt's qemuxml2argvtest (see the corpus README)."""
        return cls(
            domain_id=-1,
            domain_dir=f"/tmp/lib/domain--1-{name}",
            channel_dir="/tmp/channel",
            monitor_fd=1729,
            all_sockets_fd=1729,
            file_fd_base=1750,
            default_tap_fd=3,
            default_vhost_fd=44,
        )
