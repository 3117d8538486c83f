#!/usr/bin/env python3
"""pyvirt demo (what ``make demo`` runs): the test guest's whole life through the public API.

1. define a domain from examples/testguest.xml (type='qemu', the test guest's kernel and
   initrd, a qcow2 overlay on .guest/disk.qcow2, serial console to a pty and a log file)
2. start it and wait for ``TESTGUEST READY`` in the console log (inotify, no sleeps)
3. show ``pyvirsh list`` and ``pyvirsh dominfo``
4. shut it down through ACPI, wait for the lifecycle event, show it shut off

Everything goes through ``pyvirt.libvirt`` (libvirt-python's API) and ``pyvirsh``. The
connection is ``qemu:///embed?root=<repo>/.demo``: all state stays inside the checkout, and
the one-shot pyvirsh processes reach the same domains with the same URI.

Then (``--story snapshots``, or by default after the steps above) the seed's snapshot story
(examples/snapshot_story.py): a pyvirtd in this process and pyvirsh against it take external
snapshots while the guest writes, blockcommit --active --pivot, blockpull, revert, delete.

``--real-libvirt`` runs the same script against the real libvirt (``import libvirt``, virsh,
qemu:///system) for a side-by-side look; it needs /usr/bin/python3 with python3-libvirt.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import os
import select
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from string import Template
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
READY = b"TESTGUEST READY"
IN_MODIFY = 0x002
IN_CREATE = 0x100
IN_MOVED_TO = 0x080
IN_CLOEXEC = 0o2000000


class ConsoleWatch:
    """Wait for a line in a growing file (the serial log) with inotify: each write by QEMU
    wakes us, so the wait costs nothing and reacts at once. The directory is watched, not
    the file, so a log that is created or replaced after we start watching is still seen."""

    def __init__(self, path: Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = libc.inotify_init1(IN_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        mask = IN_MODIFY | IN_CREATE | IN_MOVED_TO
        if libc.inotify_add_watch(self._fd, os.fsencode(path.parent), mask) < 0:
            err = ctypes.get_errno()
            os.close(self._fd)
            raise OSError(err, f"inotify_add_watch {path.parent}: {os.strerror(err)}")
        self._path = path

    def wait_for(self, needle: bytes, timeout: float) -> bytes:
        """The first log line containing needle; TimeoutError after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                # only complete lines: QEMU may be in the middle of writing this one
                for line in self._path.read_bytes().split(b"\n")[:-1]:
                    if needle in line:
                        return line.strip()
            except FileNotFoundError:
                pass
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {needle.decode()!r} in {self._path} after {timeout}s")
            if select.select([self._fd], [], [], left)[0]:
                os.read(self._fd, 65536)  # drain: we only care that something changed

    def close(self) -> None:
        os.close(self._fd)


class Demo:
    def __init__(self, lv: ModuleType, uri: str, virsh: list[str], root: Path,
                 name: str) -> None:
        self.lv = lv
        self.uri = uri
        self.virsh = virsh
        self.root = root
        self.name = name
        self.t0 = time.monotonic()

    def say(self, msg: str) -> None:
        print(f"\n[{time.monotonic() - self.t0:5.1f}s] {msg}", flush=True)

    @property
    def tool(self) -> str:
        return "virsh" if Path(self.virsh[0]).name == "virsh" else "pyvirsh"

    def shell(self, *args: str) -> None:
        cmd = [*self.virsh, "-c", self.uri, *args]
        print(f"$ {' '.join([self.tool, *args])}", flush=True)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        sys.stdout.write(proc.stdout)
        sys.stdout.write(proc.stderr)
        sys.stdout.flush()
        if proc.returncode != 0:
            raise SystemExit(f"demo: {' '.join(cmd)} failed with exit status {proc.returncode}")

    def forget_previous(self, conn: Any) -> None:
        """Make a second run start from scratch: drop the domain a previous run left."""
        try:
            dom = conn.lookupByName(self.name)
        except self.lv.libvirtError:
            return
        if dom.isActive():
            dom.destroy()
        dom.undefine()
        self.say(f"removed the domain '{self.name}' left by a previous run")

    def run(self) -> None:
        guest = REPO / ".guest"
        state = self.root / "images"
        state.mkdir(parents=True, exist_ok=True)
        for f in ("vmlinuz", "initramfs.cpio.gz", "disk.qcow2"):
            if not (guest / f).is_file():
                raise SystemExit(f"demo: {guest / f} is missing: run `make guest` first")
        xml = Template((REPO / "examples" / "testguest.xml").read_text()).substitute(
            name=self.name, guest=guest, state=state)
        disk = state / f"{self.name}-vda.qcow2"
        console_log = state / f"{self.name}-console.log"

        conn = self.lv.open(self.uri)
        self.forget_previous(conn)
        disk.unlink(missing_ok=True)
        subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b",
                        str(guest / "disk.qcow2"), "-F", "qcow2", str(disk)], check=True)
        # An empty log that exists now lets inotify watch it before QEMU writes a byte.
        console_log.write_bytes(b"")

        dom = conn.defineXML(xml)
        self.say(f"defined '{dom.name()}' (uuid {dom.UUIDString()}) from examples/testguest.xml")
        watch = ConsoleWatch(console_log)
        t_start = time.monotonic()
        dom.create()
        self.say(f"started: create() returned in {(time.monotonic() - t_start) * 1000:.0f} ms, "
                 f"id {dom.ID()}")
        try:
            line = watch.wait_for(READY, timeout=60)
        finally:
            watch.close()
        self.say(f"guest ready after {time.monotonic() - t_start:.1f} s: {line.decode()}")

        # pyvirsh runs as separate one-shot processes on the same URI while we keep our
        # connection (and with it the monitor): list and dominfo are reads that need no QMP.
        self.shell("list")
        self.shell("dominfo", self.name)

        self.shutdown_by_acpi(conn, dom)
        # As in libvirt-python, a virDomain holds a reference on its connection: drop it so
        # close() really releases the driver.
        del dom
        conn.close()
        self.shell("list", "--all")
        self.shell("domstate", "--reason", self.name)
        self.say(f"done in {time.monotonic() - self.t0:.1f} s; the domain stays defined "
                 f"({self.tool} -c '{self.uri}' list --all)")

    def shutdown_by_acpi(self, conn: Any, dom: Any) -> None:
        lv = self.lv
        stopped = threading.Event()
        detail: list[int] = []

        def on_lifecycle(_conn: Any, edom: Any, event: int, det: int, _opaque: Any) -> None:
            if edom.name() == self.name and event == lv.VIR_DOMAIN_EVENT_STOPPED:
                detail.append(det)
                stopped.set()

        # libvirt-python's pattern: callbacks run inside virEventRunDefaultImpl, so a daemon
        # thread turns the loop while the main thread waits on the Event with a deadline.
        def loop() -> None:
            while not stopped.is_set():
                lv.virEventRunDefaultImpl()

        threading.Thread(target=loop, daemon=True).start()
        cb = conn.domainEventRegisterAny(None, lv.VIR_DOMAIN_EVENT_ID_LIFECYCLE, on_lifecycle,
                                         None)
        t = time.monotonic()
        dom.shutdownFlags(lv.VIR_DOMAIN_SHUTDOWN_ACPI_POWER_BTN)
        self.say("shutdown requested through the ACPI power button")
        if not stopped.wait(30):
            raise SystemExit("demo: no STOPPED lifecycle event within 30 s of the ACPI shutdown")
        reason = {lv.VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN: "shutdown"}.get(detail[0], str(detail[0]))
        self.say(f"lifecycle event: stopped ({reason}) {(time.monotonic() - t) * 1000:.0f} ms "
                 f"after the request")
        conn.domainEventDeregisterAny(cb)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--name", default="pyvirt-demo", help="domain name (default pyvirt-demo)")
    ap.add_argument("--real-libvirt", action="store_true",
                    help="run the same steps on the real libvirt (qemu:///system, virsh)")
    ap.add_argument("--root", type=Path, default=REPO / ".demo",
                    help="embed root for pyvirt's state (default <repo>/.demo)")
    ap.add_argument("--story", choices=("all", "foundation", "snapshots"), default="all",
                    help="which part to run (default all: the foundation steps, then the "
                         "seed's snapshot story)")
    ap.add_argument("--client", choices=("pyvirsh", "virsh"), default="pyvirsh",
                    help="the shell the snapshot story uses against pyvirtd (virsh: Debian's)")
    args = ap.parse_args()
    if args.real_libvirt:
        # the C library's binding, e.g. /usr/bin/python3 with python3-libvirt
        import libvirt  # type: ignore[import-not-found]

        lv: ModuleType = libvirt
        uri, virsh = "qemu:///system", [shutil.which("virsh") or "virsh"]
    else:
        import pyvirt.libvirt as pyvirt_libvirt

        lv = pyvirt_libvirt
        uri = f"qemu:///embed?root={args.root}"
        venv_virsh = Path(sys.executable).parent / "pyvirsh"
        virsh = [str(venv_virsh)] if venv_virsh.exists() else [sys.executable, "-m",
                                                                "pyvirt.cli"]
    # Events are dispatched by the default loop implementation, which must exist before
    # the first connection is opened (as in libvirt-python).
    lv.virEventRegisterDefaultImpl()
    # Errors still raise libvirtError; this only stops the default handler from printing
    # the expected ones (e.g. the lookup of a domain that is not there yet) on stderr.
    lv.registerErrorHandler(lambda _ctx, _err: None, None)
    demo = Demo(lv, uri, virsh, args.root, args.name)
    if args.story in ("all", "foundation"):
        demo.run()
    if args.story in ("all", "snapshots"):
        if args.real_libvirt:
            print("\n(the snapshot story runs on pyvirt only: libvirt 9.0 cannot revert to an "
                  "external snapshot)")
            return
        run_story(demo, args.client)


def run_story(demo: Demo, client: str) -> None:
    """The seed's snapshot story through a pyvirtd in this process."""
    from snapshot_story import Story

    from pyvirt.daemon.config import DaemonConfig
    from pyvirt.daemon.thread import DaemonThread

    def wait_ready(log: Path) -> str:
        watch = ConsoleWatch(log)
        try:
            return watch.wait_for(READY, timeout=60).decode()
        finally:
            watch.close()

    cfg = DaemonConfig(root=demo.root)
    argv = [shutil.which("virsh") or "virsh"] if client == "virsh" else demo.virsh
    with DaemonThread(cfg):
        Story(repo=REPO, root=demo.root, name=f"{demo.name}-story", client=argv, tool=client,
              uri=f"qemu+unix:///system?socket={cfg.rw_socket}", say=demo.say,
              wait_ready=wait_ready).run()
    demo.say(f"story done in {time.monotonic() - demo.t0:.1f} s")


if __name__ == "__main__":
    main()
