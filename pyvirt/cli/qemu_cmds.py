"""pyvirsh's libvirt-qemu commands: qemu-monitor-command, qemu-monitor-event,
qemu-agent-command, with virsh 9.0's output.

qemu-monitor-command is a light command: through a daemon it is one call of libvirt's QEMU
program on the blocking one-shot client (no asyncio, async client or pyvirt.errors)."""

from __future__ import annotations

import time

from pyvirt.cli.ctl import CmdFailed, virt_error

TYPE_CHECKING = False  # typing and pyvirt.errors stay off the one-shot path
if TYPE_CHECKING:
    from typing import Any

    from pyvirt.cli.ctl import Ctl
    from pyvirt.cli.spec import BoundArgs

_HMP = 1
_INT_MAX_S = (2**31 - 1) // 1000


def pretty(value: Any, indent: str = "") -> str:
    """JSON as libvirt's pretty printer writes it: two-space indent, and an empty object or
    array opened, a blank line, then closed at the indent."""
    import json  # here, not at the top: json loads re (~5 ms), which --hmp never needs
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{\n\n" + indent + "}"
        items = [f"{inner}{json.dumps(k, ensure_ascii=False)}: {pretty(v, inner)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list):
        if not value:
            return "[\n\n" + indent + "]"
        return "[\n" + ",\n".join(inner + pretty(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def _run(ctl: Ctl, coro: Any) -> Any:
    """A driver call whose error virsh prints as libvirt's message alone."""
    try:
        return ctl.call_async(coro)
    except virt_error() as e:
        raise CmdFailed(e.message) from None


def _qmp_text(words: list[str]) -> str:
    """virsh's QMP command: the words as JSON, or else ``NAME [ARGS...]`` wrapped as
    {"execute": NAME, "arguments": {ARGS}}."""
    import json
    text = " ".join(words)
    try:
        if isinstance(json.loads(text), dict):
            return text
    except ValueError:
        pass
    msg: dict[str, Any] = {"execute": words[0]}
    if len(words) > 1:
        rest = " ".join(words[1:])
        try:
            msg["arguments"] = json.loads("{" + rest + "}")
        except ValueError as e:
            raise CmdFailed(f"failed to wrap arguments '{rest}' into a QMP command wrapper",
                            f"internal error: cannot parse json {{{rest}}}: {e}") from None
    return json.dumps(msg, separators=(",", ":"))


def cmd_qemu_monitor_command(ctl: Ctl, a: BoundArgs) -> None:
    hmp, pretty_out, ret = a.flag("hmp"), a.flag("pretty"), a.flag("return-value")
    for other, on in (("pretty", pretty_out), ("return-value", ret)):
        if hmp and on:
            raise CmdFailed(f"Options --hmp and --{other} are mutually exclusive")
    if a.get("pass-fds") is not None:
        raise CmdFailed("this function is not supported by the connection driver: "
                        "virDomainQemuMonitorCommandWithFiles")
    one_shot = ctl.one_shot_client()
    dom = ctl.domain(a.req("domain"))
    words = a.argv
    cmd = " ".join(words) if hmp else _qmp_text(words)
    if one_shot is not None:  # through a daemon: libvirt's QEMU program on the blocking client
        from pyvirt.remote import qemu_protocol as Q

        try:
            result = one_shot.call(Q.DOMAIN_QEMU_MONITOR_COMMAND,
                                   Q.MonitorCommandArgs(dom, cmd, _HMP if hmp else 0), Q.QEMU_PROGRAM).result
        except virt_error() as e:
            raise CmdFailed(e.message) from None
    else:
        result = _run(ctl, ctl.conn.qemu_monitor_command(dom, cmd, _HMP if hmp else 0))
    # virsh ends every command's output with an empty line (pyvirsh's main prints it)
    if not (pretty_out or ret):
        ctl.print(result + "\n")
        return
    import json

    value = json.loads(result)
    if ret:
        if not isinstance(value, dict) or "return" not in value:
            raise CmdFailed("'return' member missing")
        value = value["return"]
    ctl.print(pretty(value) if pretty_out else json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def cmd_qemu_agent_command(ctl: Ctl, a: BoundArgs) -> None:
    import json

    raw = a.get("timeout")
    timeout = -1  # VIR_DOMAIN_QEMU_AGENT_COMMAND_DEFAULT
    if raw is not None:
        n = a.int("timeout")
        assert n is not None
        if n < 1:
            raise CmdFailed("timeout must be positive")
        timeout = n
    if sum((raw is not None, a.flag("async"), a.flag("block"))) > 1:
        raise CmdFailed("timeout, async and block options are exclusive")
    if a.flag("async"):
        timeout = 0
    elif a.flag("block"):
        timeout = -2
    dom = ctl.domain(a.req("domain"))
    result = _run(ctl, ctl.conn.qemu_agent_command(dom, " ".join(a.argv), timeout, 0))
    if result is None:  # --async: nothing to print
        return
    ctl.print((pretty(json.loads(result)) if a.flag("pretty") else result) + "\n")


def _stamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}+0000"


def cmd_qemu_monitor_event(ctl: Ctl, a: BoundArgs) -> None:
    timeout: float | None = None
    if a.get("timeout") is not None:
        n = a.int("timeout")
        if n is None or n <= 0 or n > _INT_MAX_S:
            raise CmdFailed(f"Numeric value '{a.get('timeout')}' for <timeout> option is malformed or "
                            "out of range")
        timeout = float(n)
    flags = (1 if a.flag("regex") else 0) | (2 if a.flag("no-case") else 0)
    dom = ctl.domain(a.req("domain")) if a.get("domain") is not None else None
    count, timed_out = ctl.call_async(_wait(ctl, dom, a.get("event"), flags, a.flag("loop"), timeout,
                                            a.flag("pretty"), a.flag("timestamp")))
    if timed_out:
        ctl.print("event loop timed out\n")
    ctl.print(f"events received: {count}\n")
    if count == 0:
        raise CmdFailed()


async def _wait(ctl: Ctl, dom: Any, event: str | None, flags: int, loop_mode: bool, timeout: float | None,
                pretty_out: bool, stamp: bool) -> tuple[int, bool]:
    import asyncio
    import json

    from pyvirt.drivers.base import QemuMonitorEventMsg

    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    count = 0

    def on_event(msg: QemuMonitorEventMsg) -> None:
        nonlocal count
        if done.done():
            return
        details = msg.details
        if details is not None and pretty_out:
            details = pretty(json.loads(details))
        shown = details if details is not None else "<null>"
        if stamp:
            ctl.print(f"{_stamp()}: event {msg.event} for domain '{msg.dom.name}': {shown}\n")
        else:
            ctl.print(f"event {msg.event} at {msg.seconds}.{msg.micros:06d} for domain "
                      f"'{msg.dom.name}': {shown}\n")
        ctl.out.flush()
        count += 1
        if not loop_mode:
            done.set_result(None)

    try:
        cid = await ctl.conn.qemu_monitor_event_register(dom, event, flags, on_event)
    except virt_error() as e:
        raise CmdFailed(e.message) from None
    try:
        await asyncio.wait_for(asyncio.shield(done), timeout)
    except TimeoutError:
        return count, True
    except (asyncio.CancelledError, KeyboardInterrupt):
        return count, False
    finally:
        await ctl.conn.qemu_monitor_event_deregister(cid)
    return count, False
