"""The default event implementation: timers, fd watches, cross-thread wake-ups."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pyvirt._compat.eventloop import HANDLE_HANGUP, HANDLE_READABLE, DefaultEventImpl


@pytest.fixture
def impl() -> Iterator[DefaultEventImpl]:
    yield DefaultEventImpl()


def test_timer_fires_repeatedly_until_removed(impl: DefaultEventImpl) -> None:
    fired: list[tuple[int, Any]] = []
    tid = impl.add_timeout(5, lambda t, op: fired.append((t, op)), "x")
    start = time.monotonic()
    impl.run_once()
    impl.run_once()
    assert fired == [(tid, "x"), (tid, "x")]
    assert time.monotonic() - start >= 0.009, "run_once must wait for the timer, not spin"
    assert impl.remove_timeout(tid) == 0 and impl.remove_timeout(tid) == -1


def test_disabled_timer_does_not_fire(impl: DefaultEventImpl) -> None:
    fired: list[str] = []
    tid = impl.add_timeout(0, lambda t, op: fired.append("a"), None)
    impl.run_once()
    impl.update_timeout(tid, -1)
    other = impl.add_timeout(20, lambda t, op: fired.append("b"), None)
    impl.run_once()
    assert fired == ["a", "b"]
    impl.remove_timeout(other)


def test_handle_reports_readable_then_hangup(impl: DefaultEventImpl) -> None:
    r, w = os.pipe()
    seen: list[tuple[int, int, int, str]] = []
    wid = impl.add_handle(r, HANDLE_READABLE, lambda w_, fd, ev, op: seen.append((w_, fd, ev, op)),
                          "h")
    os.write(w, b"x")
    impl.run_once()
    assert seen == [(wid, r, HANDLE_READABLE, "h")]
    os.read(r, 1)
    os.close(w)
    impl.run_once()
    assert seen[-1][2] & HANDLE_HANGUP
    assert impl.remove_handle(wid) == 0
    os.close(r)


def test_post_from_another_thread_wakes_a_blocked_iteration(impl: DefaultEventImpl) -> None:
    ran: list[int] = []
    started = threading.Event()

    def poster() -> None:
        started.wait()
        time.sleep(0.05)  # let run_once block in poll first
        impl.post(lambda: ran.append(threading.get_ident()))

    t = threading.Thread(target=poster)
    t.start()
    started.set()
    t0 = time.monotonic()
    impl.run_once()  # no timers: would block forever without the wake-up pipe
    t.join()
    assert ran == [threading.get_ident()]
    assert time.monotonic() - t0 < 5


def test_callback_exception_is_printed_and_loop_goes_on(
        impl: DefaultEventImpl, capsys: pytest.CaptureFixture[str]) -> None:
    ran: list[str] = []

    def boom() -> None:
        raise RuntimeError("app bug")

    impl.post(boom)
    impl.post(lambda: ran.append("next"))
    impl.run_once()
    assert ran == ["next"]
    assert "RuntimeError: app bug" in capsys.readouterr().err
