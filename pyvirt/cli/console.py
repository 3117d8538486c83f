"""The console command: a raw terminal bridged to the guest's console stream."""

from __future__ import annotations

import asyncio
import os
import sys

from pyvirt.cli.ctl import CmdFailed, Ctl
from pyvirt.cli.spec import BoundArgs
from pyvirt.drivers.base import ByteStream, DomainRef
from pyvirt.enums import DomainState
from pyvirt.errors import VirtError

ESCAPE = b"\x1d"  # ^]


def cmd_console(ctl: Ctl, a: BoundArgs) -> None:
    d = ctl.domain(a.req("domain"))
    run_console(ctl, d, a.get("devname"), a.flag("safe"), a.flag("force"))


def run_console(ctl: Ctl, d: DomainRef, devname: str | None, safe: bool, force: bool) -> None:
    st, _ = ctl.call(ctl.conn.get_state(d))
    if st in (DomainState.SHUTOFF, DomainState.NOSTATE):
        raise CmdFailed("The domain is not running")
    if not sys.stdin.isatty():
        raise CmdFailed("Cannot run interactive console without a controlling TTY")
    ctl.print_extra(f"Connected to domain '{d.name}'\nEscape character is ^] (Ctrl + ])\n")
    ctl.out.flush()
    flags = (1 if force else 0) | (2 if safe else 0)
    try:
        stream = ctl.call_async(ctl.conn.open_console(d, devname, flags))
    except VirtError as e:
        raise CmdFailed(e.message) from None  # virsh prints libvirt's message alone here
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    try:
        tty.setraw(fd)
        ctl.call_async(_pump(stream, fd))
    finally:
        termios.tcsetattr(fd, termios.TCSAFLUSH, saved)
    # virsh prints nothing after a console session, not even its blank separator line.
    ctl.skip_separator = True


async def _pump(stream: ByteStream, fd: int) -> None:
    """Copy stdin -> guest until ^] or EOF, guest -> stdout until the stream ends."""
    loop = asyncio.get_running_loop()
    stop = loop.create_future()
    out_fd = sys.stdout.fileno()
    # Writes are chained so keystrokes reach the guest in order, and flushed before closing.
    writes: list[asyncio.Task[None]] = []

    def send(data: bytes) -> None:
        prev = writes[-1] if writes else None

        async def write_after() -> None:
            if prev is not None:
                await prev
            await stream.write(data)

        writes.append(loop.create_task(write_after()))

    def on_stdin() -> None:
        data = os.read(fd, 4096)
        if not data or ESCAPE in data:
            data = data.split(ESCAPE, 1)[0]
            if data:
                send(data)
            if not stop.done():
                stop.set_result(None)
            return
        send(data)

    async def guest_to_stdout() -> None:
        try:
            while chunk := await stream.read():
                os.write(out_fd, chunk)
        except VirtError:
            pass
        if not stop.done():
            stop.set_result(None)

    loop.add_reader(fd, on_stdin)
    reader = loop.create_task(guest_to_stdout())
    try:
        await stop
    finally:
        loop.remove_reader(fd)
        reader.cancel()
        # Let the cancelled read unwind before the stream goes away under it.
        await asyncio.gather(reader, *writes, return_exceptions=True)
        await stream.close()
