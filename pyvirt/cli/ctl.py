"""The shell's context: connection, output streams, domain lookup, error reporting."""

from __future__ import annotations

import sys

# typing (which imports re) and contextlib are kept off pyvirsh's start-up path; mypy
# treats a constant named TYPE_CHECKING like typing's.
TYPE_CHECKING = False
if TYPE_CHECKING:  # the driver layer loads with the connection, not at start-up
    from collections.abc import Coroutine
    from types import TracebackType
    from typing import Any, TextIO, TypeVar

    from pyvirt.drivers.base import DomainRef, Driver
    from pyvirt.errors import VirtError
    from pyvirt.remote.syncclient import SyncRemoteReads

    T = TypeVar("T")
_HEX = frozenset("0123456789abcdefABCDEF")


def virt_error() -> type[VirtError]:
    """pyvirt.errors builds ~300 IntEnum members at import (~3.5 ms, a fifth of pyvirsh's
    own start-up): load it only when an error is being handled. ``except`` clauses evaluate
    their expression only when an exception reaches them."""
    from pyvirt.errors import VirtError

    return VirtError


def looks_like_uuid(text: str) -> bool:
    """32 hex digits, dashes allowed between the 8-4-4-4-12 groups (virUUIDParse's shape)."""
    digits = text.replace("-", "")
    return len(digits) == 32 and set(digits) <= _HEX and len(text) in (32, 33, 34, 35, 36)


class CmdFailed(Exception):
    """A command failed; each line is printed as ``error: <line>`` on stderr."""

    def __init__(self, *lines: str) -> None:
        super().__init__(lines[0] if lines else "")
        self.lines = lines


class QuitShell(Exception):
    pass


def in_process(uri: str) -> bool:
    """test:// URIs without a transport run inside pyvirsh, as libvirt's test driver does."""
    scheme = uri.split(":", 1)[0]
    return scheme == "test" and "socket=" not in uri


async def open_remote_or_local(uri: str, readonly: bool) -> Driver:
    """Every other URI goes through the project's driver registry (pyvirt.aio): a daemon over
    the remote protocol (pyvirtd or libvirtd), or the QEMU driver in process."""
    from pyvirt.aio import open_driver

    return await open_driver(uri, readonly=readonly)


class _Failing:
    """``with ctl.failing(what):`` (a class rather than contextlib: start-up cost)."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, typ: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc is not None and isinstance(exc, virt_error()):
            raise CmdFailed(self.what, exc.message) from None


def open_light(uri: str, readonly: bool = False) -> Driver | None:
    """A light, never-suspending reader for a qemu URI, or None (another URI form, or
    state only the full driver may fix): a daemon's socket through a blocking client, else
    the QEMU driver's read-only view of its files."""
    from pyvirt.remote.sockpaths import daemon_target

    # Both implement the reads of the commands flagged CmdDef.light, with the Driver's
    # names and signatures; only such commands run on them.
    target = daemon_target(uri)
    if target is not None:
        from pyvirt.remote.syncclient import SyncRemoteReads

        try:
            return SyncRemoteReads.open(target[1], target[0], readonly)  # type: ignore[return-value]
        except (OSError, virt_error()):
            return None  # the full client reports the failure (or spawns, or retries)
    from pyvirt.drivers.qemu.readonly import QemuReadView, light_dirs  # not needed above

    dirs = light_dirs(uri)
    if dirs is None:
        return None
    try:
        return QemuReadView.open(uri, *dirs)  # type: ignore[return-value]
    except OSError:
        return None  # unreadable dirs (not root for qemu:///system): the full driver says so


def run_inline(coro: Coroutine[Any, Any, T]) -> T:
    """Drive a coroutine that never suspends (an ``inline`` driver's) without a loop."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    coro.close()
    raise RuntimeError("coroutine suspended; it needs an event loop")


class Ctl:
    # A plain class, not a dataclass: see the note in pyvirt.cli.spec (start-up cost).
    def __init__(self, uri: str | None, readonly: bool = False, quiet: bool = False,
                 out: TextIO | None = None, err: TextIO | None = None) -> None:
        self.uri = uri
        self.readonly = readonly
        self.quiet = quiet
        self.out: TextIO = sys.stdout if out is None else out
        self.err: TextIO = sys.stderr if err is None else err
        # set by a command whose output must not be followed by "\n"
        self.skip_separator = False
        # Every command of the line is a light read (CmdDef.light): a qemu:/// URI served in
        # process may then use the driver's read-only view instead of the driver proper.
        self.light = False
        self._driver: Driver | None = None
        self._inline = False  # the driver never suspends (test driver, light view): no loop
        self._runner: Any = None

    # ------------------------------------------------------------------ connection
    @property
    def conn(self) -> Driver:
        if self._driver is None:
            self.connect()
        assert self._driver is not None
        return self._driver

    def connect(self) -> None:
        uri = self.uri or "qemu:///system"
        try:
            if in_process(uri):
                from pyvirt.drivers.test.driver import TestDriver

                self._driver, self._inline = TestDriver(uri, readonly=self.readonly), True
            elif self.light and (view := open_light(uri, self.readonly)) is not None:
                self._driver, self._inline = view, True
            else:
                self._driver = self.call_async(open_remote_or_local(uri, self.readonly))
                self._inline = False
        except virt_error() as e:
            raise CmdFailed("failed to connect to the hypervisor", e.message) from None
        except OSError as e:
            path = e.filename or uri
            raise CmdFailed("failed to connect to the hypervisor",
                            f"Failed to connect socket to '{path}': {e.strerror}") from None
        self.uri = uri

    def one_shot_client(self) -> SyncRemoteReads | None:
        """For a command flagged light that only the one-shot daemon client serves besides
        the driver proper (pyvirsh blockcommit/blockpull): that client when it is the
        connection, else None - after putting the driver proper in place of a read view of
        the QEMU files, which cannot run a job."""
        drv = self.conn
        mod = sys.modules.get("pyvirt.remote.syncclient")  # loaded if it is the connection
        if mod is not None:
            cls: type[SyncRemoteReads] = mod.SyncRemoteReads
            if isinstance(drv, cls):
                return drv
        if self._inline and not in_process(self.uri or "qemu:///system"):
            self.reopen_full()
        return None

    def reopen_full(self) -> None:
        """Close a light connection and open the driver proper on the same URI."""
        if self._driver is not None:
            self.call(self._driver.close())
            self._driver = None
        light, self.light = self.light, False
        try:
            self.connect()
        finally:
            self.light = light

    def disconnect(self) -> None:
        if self._driver is not None:
            self.call(self._driver.close())
            self._driver = None
        if self._runner is not None:
            self._runner.close()
            self._runner = None

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run one driver call. The test driver and the light view never suspend: no
        event loop is needed (nor imported) for them."""
        if self._inline:
            return run_inline(coro)
        return self.call_async(coro)

    def call_async(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine that really waits (event loop, console) on the session's loop."""
        if self._runner is None:
            import asyncio

            self._runner = asyncio.Runner()
        result: T = self._runner.run(coro)
        return result

    # ------------------------------------------------------------------ output
    def print(self, text: str) -> None:
        self.out.write(text)

    def print_extra(self, text: str) -> None:
        """Text that ``-q`` suppresses (virsh's vshPrintExtra)."""
        if not self.quiet:
            self.out.write(text)

    def error(self, msg: str) -> None:
        self.out.flush()
        self.err.write(f"error: {msg}\n")
        self.err.flush()

    def failing(self, what: str) -> _Failing:
        """Turn a driver error into virsh's two lines: what failed, then libvirt's message."""
        return _Failing(what)

    # ------------------------------------------------------------------ lookup
    def domain(self, text: str, by_id: bool = True, by_uuid: bool = True,
               by_name: bool = True) -> DomainRef:
        """virsh's domain argument: an id if numeric, else a UUID if it parses, else a name."""
        drv = self.conn
        if by_id and text.isdigit():
            try:
                return self.call(drv.lookup_by_id(int(text)))
            except virt_error():
                pass
        if by_uuid and looks_like_uuid(text):
            try:
                return self.call(drv.lookup_by_uuid(bytes.fromhex(text.replace("-", ""))))
            except virt_error():
                pass
        if by_name:
            try:
                return self.call(drv.lookup_by_name(text))
            except virt_error():
                pass
        # virsh 9.0 resets libvirt's own error here and prints only this line.
        raise CmdFailed(f"failed to get domain '{text}'")
