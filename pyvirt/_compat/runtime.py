"""The libvirt-python facade's process state: one runtime, created on first use.

The C library libvirt-python wraps is process-global in three ways, and code written for
it depends on all three: an event loop shared by every connection, one error handler
(plus a per-thread "last error"), and the default event implementation the application
drives. :class:`Runtime` holds exactly those, and :func:`runtime` creates it lazily, so
``import pyvirt.libvirt`` starts no thread and imports no asyncio. It is the single piece
of module-level state in pyvirt, on purpose: it *is* the model of the library we imitate.

Why a loop in a daemon thread: the facade is synchronous but drivers are asyncio
(QEMU monitors, RPC, event workers need a loop that keeps running between calls, e.g.
to receive QMP events while the application is idle). Calls hop to the loop with
``asyncio.run_coroutine_threadsafe`` and block on the result.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from pyvirt.errors import ErrorCode, ErrorDomain, ErrorLevel, VirtError

if TYPE_CHECKING:
    import asyncio

    from pyvirt._compat.eventloop import AppEventImpl, DefaultEventImpl

T = TypeVar("T")

# virError as libvirt-python hands it out:
# (code, domain, message, level, str1, str2, str3, int1, int2)
ErrTuple = tuple[int, int, str, int, str | None, str | None, str | None, int, int]
ErrorHandler = Callable[[Any, ErrTuple], Any]

# virErrorDomain's names, as libvirt's default error printer shows them ("libvirt: <name>
# error : <message>"). Index = VIR_FROM_* number.
_DOMAIN_NAMES = (
    "", "Xen Driver", "Xen Daemon", "Xen Store", "S-Expression", "XML Util", "Domain",
    "XML-RPC", "Proxy Daemon", "Config File", "QEMU Driver", "Network", "Test Driver",
    "Remote Driver", "OpenVZ Driver", "Xen XM Driver", "Linux Statistics", "LXC Driver",
    "Storage Driver", "Network Driver", "Domain Config", "User Mode Linux Driver",
    "Node Device Driver", "Xen Inotify Driver", "Security Driver", "VirtualBox Driver",
    "Network Interface Driver", "Open Nebula Driver", "ESX Driver", "Power Hypervisor Driver",
    "Secrets Driver", "CPU Driver", "XenAPI Driver", "Network Filter Driver", "Lifecycle Hook",
    "Domain Snapshot", "Audit Utils", "Sysinfo Utils", "I/O Stream Utils", "VMware Driver",
    "Event Loop", "Xen Light Driver", "Lock Driver", "Hyper-V Driver", "Capabilities Utils",
    "URI Utils", "Authentication Utils", "DBus Utils", "Parallels Cloud Server",
    "Device Config", "SSH transport layer", "Lock Space", "Init control", "Identity", "Cgroup",
    "Access Manager", "Systemd", "Bhyve", "Crypto", "Firewall", "Polkit", "Thread jobs",
    "Admin Interface", "Log Manager", "Xen XL Config", "Perf", "Libssh transport layer",
    "Resource control", "FirewallD", "Domain Checkpoint", "TPM", "BPF",
)


def err_tuple(e: VirtError) -> ErrTuple:
    """A VirtError as libvirt-python's error tuple.

    libvirt leaves int1/int2 at -1 and puts the message in str1 when a raise site gives no
    extra fields; a VirtError that sets none of them is shown the same way.
    """
    unset = e.str1 is None and e.str2 is None and e.str3 is None and not e.int1 and not e.int2
    return (
        int(e.code), int(e.domain), e.message, int(e.level),
        e.message if unset else e.str1, e.str2, e.str3,
        -1 if unset else e.int1, -1 if unset else e.int2,
    )


def default_error_print(err: ErrTuple) -> None:
    """libvirt's default handler: one line on stderr per error."""
    code, domain, message, level = err[0], err[1], err[2], err[3]
    if code == ErrorCode.OK:
        return
    lvl = {ErrorLevel.WARNING: "warning", ErrorLevel.ERROR: "error"}.get(ErrorLevel(level), "")
    dom = _DOMAIN_NAMES[domain] if 0 <= domain < len(_DOMAIN_NAMES) else "Unknown"
    end = "" if message.endswith("\n") else "\n"
    sys.stderr.write(f"libvirt: {dom} {lvl} : {message}{end}")


class Runtime:
    """Private asyncio loop thread + error handler + event implementation."""

    def __init__(self) -> None:
        # The loop thread starts on the first call that needs it, not here: registering an
        # error handler or reading the last error must stay as cheap as in libvirt.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._loop_lock = threading.Lock()
        # Strong references, deliberately: the application may drop its own reference to
        # the handler and its context right after registering them (the JNA crash in the
        # seed). They are released only when replaced or reset.
        self._handler: tuple[ErrorHandler, Any] | None = None
        self._tls = threading.local()
        self.event_impl: DefaultEventImpl | AppEventImpl | None = None
        self._impl_lock = threading.Lock()
        # Inline calls (drivers that never suspend) run in the caller's thread; this lock
        # gives them the one-at-a-time order the loop thread gives the others.
        self._inline_lock = threading.RLock()

    def run_inline(self, coro: Coroutine[Any, Any, T]) -> T:
        """Drive a coroutine that never suspends to completion in this thread."""
        with self._inline_lock:
            try:
                coro.send(None)
            except StopIteration as stop:
                result: T = stop.value
                return result
            coro.close()
        raise VirtError("internal error: an inline driver call suspended",
                        ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE)

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:
            with self._loop_lock:
                if self._loop is None:
                    import asyncio

                    new = asyncio.new_event_loop()
                    ready = threading.Event()
                    self._thread = threading.Thread(target=self._run, args=(new, ready),
                                                    name="pyvirt-libvirt-loop", daemon=True)
                    self._thread.start()
                    ready.wait()
                    self._loop = new
                loop = self._loop
        return loop

    @staticmethod
    def _run(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        import asyncio

        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    @property
    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the loop and wait for it (from any thread but the loop's)."""
        import asyncio

        if self.in_loop_thread:
            coro.close()
            raise VirtError("internal error: a libvirt call from inside pyvirt's event loop "
                            "thread would deadlock", ErrorCode.INTERNAL_ERROR, ErrorDomain.NONE)
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Start a coroutine on the loop without waiting (finalizers, fire-and-forget)."""
        import asyncio

        if self.in_loop_thread:
            self.loop.create_task(coro)
        else:
            asyncio.run_coroutine_threadsafe(coro, self.loop)

    # ------------------------------------------------------------------ errors
    def set_handler(self, f: ErrorHandler | None, ctx: Any) -> None:
        self._handler = None if f is None else (f, ctx)

    @property
    def handler(self) -> tuple[ErrorHandler, Any] | None:
        return self._handler

    def last_error(self) -> ErrTuple | None:
        err: ErrTuple | None = getattr(self._tls, "err", None)
        return err

    def set_last_error(self, err: ErrTuple | None) -> None:
        self._tls.err = err

    def raise_error(self, e: VirtError) -> ErrTuple:
        """Record ``e`` as this thread's last error and report it like virDispatchError."""
        err = err_tuple(e)
        self.set_last_error(err)
        handler = self._handler
        if handler is None:
            default_error_print(err)
        else:
            f, ctx = handler
            f(ctx, err)
        return err

    # ------------------------------------------------------------------ events
    def set_event_impl(self, impl: AppEventImpl) -> None:
        with self._impl_lock:
            self.event_impl = impl

    def ensure_event_impl(self) -> DefaultEventImpl | AppEventImpl:
        with self._impl_lock:
            if self.event_impl is None:
                from pyvirt._compat.eventloop import DefaultEventImpl

                self.event_impl = DefaultEventImpl()
            return self.event_impl


_RUNTIME: Runtime | None = None
_RUNTIME_LOCK = threading.Lock()


def runtime() -> Runtime:
    """The process's runtime, created (thread and all) on first use."""
    global _RUNTIME
    rt = _RUNTIME
    if rt is None:
        with _RUNTIME_LOCK:
            if _RUNTIME is None:
                _RUNTIME = Runtime()
            rt = _RUNTIME
    return rt


def _forget_after_fork() -> None:
    # The loop thread does not survive fork(); a child starts its own on first use
    # instead of blocking forever on a loop nobody runs.
    global _RUNTIME
    _RUNTIME = None


os.register_at_fork(after_in_child=_forget_after_fork)


def existing_runtime() -> Runtime | None:
    """The runtime if something already created it (error-state queries need no thread)."""
    return _RUNTIME
