"""pyvirsh formatting helpers, tokenizer and option binding."""

from __future__ import annotations

import pytest

from pyvirt.cli.events import format_event
from pyvirt.cli.fmt import kv, lifecycle_text, reason_name, state_name, table
from pyvirt.cli.registry import BY_NAME
from pyvirt.cli.spec import UsageError, bind, split_commands
from pyvirt.drivers.base import BlockJobEventMsg, DomainRef, LifecycleEventMsg
from pyvirt.enums import BlockJobStatus, BlockJobType, DomainState, EventID, LifecycleEvent

REF = DomainRef("vm1", b"\x01" * 16, 3)


def test_table_pads_all_but_last_column() -> None:
    out = table(["Id", "Name", "State"], [["1", "test", "running"], ["-", "longer-name", "shut off"]])
    assert out == (" Id   Name          State\n"
                   "------------------------------\n"
                   " 1    test          running\n"
                   " -    longer-name   shut off\n")


def test_table_empty_and_quiet() -> None:
    assert table(["Id", "Name", "State"], []) == " Id   Name   State\n--------------------\n"
    assert table(["Id", "Name", "State"], [["1", "t", "running"]], quiet=True) == " 1   t   running\n"


@pytest.mark.parametrize(("state", "reason", "text"), [
    (DomainState.RUNNING, 1, "running (booted)"), (DomainState.PAUSED, 1, "paused (user)"),
    (DomainState.SHUTOFF, 2, "shut off (destroyed)"), (DomainState.SHUTDOWN, 1, "in shutdown (user)"),
    (DomainState.CRASHED, 1, "crashed (panicked)"), (DomainState.RUNNING, 99, "running (unknown)"),
])
def test_state_reason_names(state: int, reason: int, text: str) -> None:
    assert f"{state_name(state)} ({reason_name(state, reason)})" == text


def test_kv_widths() -> None:
    assert kv("Id:", 1, 15) == "Id:             1\n"
    assert kv("CPU model:", "i686", 20) == "CPU model:           i686\n"


def test_event_lines() -> None:
    ev = LifecycleEventMsg(REF, LifecycleEvent.STOPPED, 1)
    assert format_event(ev, {EventID.LIFECYCLE}) == [
        "event 'lifecycle' for domain 'vm1': Stopped Destroyed\n"]
    assert format_event(ev, {EventID.REBOOT}) == []
    job = BlockJobEventMsg(REF, "/img/a.qcow2", "vda", BlockJobType.COMMIT, BlockJobStatus.READY)
    assert format_event(job, {EventID.BLOCK_JOB, EventID.BLOCK_JOB_2}) == [
        "event 'block-job' for domain 'vm1': Block Commit for /img/a.qcow2 ready\n",
        "event 'block-job-2' for domain 'vm1': Block Commit for vda ready\n"]
    assert lifecycle_text(6, 1) == "Shutdown Finished after guest request"


@pytest.mark.parametrize(("line", "cmds"), [
    ("list --all; dominfo test", [["list", "--all"], ["dominfo", "test"]]),
    ("echo 'a b' \"c;d\" e\\ f", [["echo", "a b", "c;d", "e f"]]),
    ("echo a # comment\necho b", [["echo", "a"], ["echo", "b"]]),
    ("ec\\\nho x", [["echo", "x"]]),
    ("  ;; uri ;", [["uri"]]),
    ("echo 'unbalanced", [["echo", "unbalanced"]]),
])
def test_split_commands(line: str, cmds: list[list[str]]) -> None:
    assert split_commands(line) == cmds


def test_bind_positional_named_and_errors() -> None:
    a = bind(BY_NAME["domstate"], ["--reason", "test"])
    assert a.req("domain") == "test" and a.flag("reason")
    assert bind(BY_NAME["domstate"], ["--domain=x"]).req("domain") == "x"
    with pytest.raises(UsageError, match="doesn't support option --foo"):
        bind(BY_NAME["list"], ["--foo"])
    with pytest.raises(UsageError, match="requires <domain> option"):
        bind(BY_NAME["dominfo"], [])
    with pytest.raises(UsageError, match="unexpected data 'b'"):
        bind(BY_NAME["dominfo"], ["a", "b"])
    ev = bind(BY_NAME["event"], ["--timeout", "x1"])
    with pytest.raises(UsageError, match="Numeric value 'x1' for <timeout>"):
        ev.int("timeout")
    echo = bind(BY_NAME["echo"], ["a", "--", "--shell", "b"])
    assert echo.argv == ["a", "--shell", "b"] and not echo.flag("shell")
