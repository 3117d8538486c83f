"""libvirt's default event loop implementation, for the libvirt-python facade.

libvirt-python applications call ``virEventRegisterDefaultImpl()`` once and then run
``virEventRunDefaultImpl()`` in a loop; every callback they registered (domain events,
close callbacks, their own timeouts and fd watches) runs *inside* that call, in the
application's thread. pyvirt's real work happens in a private asyncio loop in another
thread; that thread :meth:`post`\\ s callbacks here and writes a byte to a pipe, so a
blocked :meth:`run_once` wakes immediately (no polling).
"""

from __future__ import annotations

import itertools
import os
import select
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# VIR_EVENT_HANDLE_* <-> poll(2) bits
HANDLE_READABLE = 1
HANDLE_WRITABLE = 2
HANDLE_ERROR = 4
HANDLE_HANGUP = 8


def _to_poll(events: int) -> int:
    mask = 0
    if events & HANDLE_READABLE:
        mask |= select.POLLIN
    if events & HANDLE_WRITABLE:
        mask |= select.POLLOUT
    return mask


def _from_poll(revents: int) -> int:
    out = 0
    if revents & select.POLLIN:
        out |= HANDLE_READABLE
    if revents & select.POLLOUT:
        out |= HANDLE_WRITABLE
    if revents & (select.POLLERR | select.POLLNVAL):
        out |= HANDLE_ERROR
    if revents & select.POLLHUP:
        out |= HANDLE_HANGUP
    return out


@dataclass
class _Timer:
    interval_ms: int  # -1 disabled, 0 every iteration
    cb: Callable[[int, Any], None]
    opaque: Any
    last: float


@dataclass
class _Handle:
    fd: int
    events: int
    cb: Callable[[int, int, int, Any], None]
    opaque: Any


def _guarded(fn: Callable[[], None]) -> None:
    """Run an application callback; like libvirt-python, print its exception and go on."""
    try:
        fn()
    except Exception:  # noqa: BLE001 - an application bug must not stop the loop
        traceback.print_exc()


class DefaultEventImpl:
    """Timers, fd watches and callbacks posted from pyvirt's loop thread."""

    def __init__(self) -> None:
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._pending: deque[Callable[[], None]] = deque()
        self._timers: dict[int, _Timer] = {}
        self._handles: dict[int, _Handle] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._polling: threading.Thread | None = None

    # ------------------------------------------------------------------ from any thread
    def post(self, fn: Callable[[], None]) -> None:
        """Queue a callback for the next :meth:`run_once` and wake it."""
        self._pending.append(fn)
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass  # the pipe is full: run_once is already due to wake

    # ------------------------------------------------------------------ timers
    def add_timeout(self, timeout_ms: int, cb: Callable[[int, Any], None], opaque: Any) -> int:
        with self._lock:
            tid = next(self._ids)
            self._timers[tid] = _Timer(timeout_ms, cb, opaque, time.monotonic())
        self._wake()
        return tid

    def update_timeout(self, tid: int, timeout_ms: int) -> None:
        with self._lock:
            t = self._timers.get(tid)
            if t is not None:
                t.interval_ms = timeout_ms
                t.last = time.monotonic()
        self._wake()

    def remove_timeout(self, tid: int) -> int:
        with self._lock:
            return 0 if self._timers.pop(tid, None) is not None else -1

    # ------------------------------------------------------------------ handles
    def add_handle(self, fd: int, events: int, cb: Callable[[int, int, int, Any], None],
                   opaque: Any) -> int:
        with self._lock:
            wid = next(self._ids)
            self._handles[wid] = _Handle(fd, events, cb, opaque)
        self._wake()
        return wid

    def update_handle(self, wid: int, events: int) -> None:
        with self._lock:
            h = self._handles.get(wid)
            if h is not None:
                h.events = events
        self._wake()

    def remove_handle(self, wid: int) -> int:
        with self._lock:
            return 0 if self._handles.pop(wid, None) is not None else -1

    def _wake(self) -> None:
        """Interrupt a run_once blocked in another thread (as libvirt's poll loop does); a
        change made from the loop's own thread is seen on its next iteration anyway."""
        if self._polling is None or self._polling is threading.current_thread():
            return
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass

    # ------------------------------------------------------------------ one iteration
    def _timeout_ms(self, now: float) -> int:
        """poll(2)'s timeout: until the nearest enabled timer, 0 if work waits, -1 forever."""
        if self._pending:
            return 0
        best: float | None = None
        for t in self._timers.values():
            if t.interval_ms < 0:
                continue
            left = max(0.0, t.last + t.interval_ms / 1000 - now)
            best = left if best is None else min(best, left)
        return -1 if best is None else int(best * 1000 + 0.999)

    def run_once(self) -> int:
        """virEventRunDefaultImpl: wait for something to happen, then dispatch it."""
        # Mark the poll as under way before reading the timers, so a timer added from
        # another thread from now on writes the wake-up byte instead of being missed.
        self._polling = threading.current_thread()
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        with self._lock:
            handles = dict(self._handles)
            timeout = self._timeout_ms(time.monotonic())
        for wid, h in handles.items():
            if h.events:
                poller.register(h.fd, _to_poll(h.events))
        by_fd: dict[int, list[int]] = {}
        for wid, h in handles.items():
            by_fd.setdefault(h.fd, []).append(wid)
        try:
            ready = poller.poll(timeout)
        finally:
            self._polling = None
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        now = time.monotonic()
        with self._lock:
            due = [(tid, t) for tid, t in self._timers.items()
                   if t.interval_ms >= 0 and t.last + t.interval_ms / 1000 <= now]
            for _, t in due:
                t.last = now
        for tid, t in due:
            _guarded(lambda tid=tid, t=t: t.cb(tid, t.opaque))  # type: ignore[misc]
        for fd, revents in ready:
            if fd == self._wake_r:
                continue
            for wid in by_fd.get(fd, []):
                h2 = self._handles.get(wid)
                if h2 is not None:
                    ev = _from_poll(revents)
                    _guarded(lambda h2=h2, wid=wid, ev=ev: h2.cb(wid, h2.fd, ev, h2.opaque))  # type: ignore[misc]
        while self._pending:
            _guarded(self._pending.popleft())
        return 0


class AppEventImpl:
    """An event loop the application supplies with ``virEventRegisterImpl`` (libvirt-python's
    six callbacks: add/update/remove handle and timeout).

    Timeouts and handles go straight to the application's functions. Callbacks that pyvirt
    posts from its loop thread wait in a queue behind a pipe that is registered, once, as a
    readable handle in the application's loop, so they run there, in its thread.
    """

    def __init__(self, add_handle: Callable[..., int], update_handle: Callable[..., Any],
                 remove_handle: Callable[..., Any], add_timeout: Callable[..., int],
                 update_timeout: Callable[..., Any], remove_timeout: Callable[..., Any]) -> None:
        self._fns = (add_handle, update_handle, remove_handle, add_timeout, update_timeout,
                     remove_timeout)
        self._wake_r, self._wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        self._pending: deque[Callable[[], None]] = deque()
        self._watch: int | None = None
        self._lock = threading.Lock()

    def _drain(self, _watch: int, _fd: int, _events: int, _opaque: Any) -> None:
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while self._pending:
            _guarded(self._pending.popleft())

    def post(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if self._watch is None:
                self._watch = self._fns[0](self._wake_r, HANDLE_READABLE, self._drain, None)
        self._pending.append(fn)
        try:
            os.write(self._wake_w, b"\0")
        except BlockingIOError:
            pass

    def add_handle(self, fd: int, events: int, cb: Callable[[int, int, int, Any], None],
                   opaque: Any) -> int:
        return int(self._fns[0](fd, events, cb, opaque))

    def update_handle(self, wid: int, events: int) -> None:
        self._fns[1](wid, events)

    def remove_handle(self, wid: int) -> int:
        self._fns[2](wid)
        return 0

    def add_timeout(self, timeout_ms: int, cb: Callable[[int, Any], None], opaque: Any) -> int:
        return int(self._fns[3](timeout_ms, cb, opaque))

    def update_timeout(self, tid: int, timeout_ms: int) -> None:
        self._fns[4](tid, timeout_ms)

    def remove_timeout(self, tid: int) -> int:
        self._fns[5](tid)
        return 0

    def run_once(self) -> int:
        """The application runs its own loop; the default one has nothing to do here."""
        return -1
