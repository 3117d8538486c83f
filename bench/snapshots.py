#!/usr/bin/env python3
"""Live external snapshot creation latency, pyvirt beside libvirt in the same run.

Run from the repo with the venv's python (the libvirt side runs under /usr/bin/python3 with
python3-libvirt, against the running libvirtd's qemu:///system)::

    .venv/bin/python bench/snapshots.py [--runs 15] [--no-libvirt]

Sides, each a running TCG guest (the test guest in .guest/, one qcow2 disk on a copy-on-write
base of the guest image), each driven by the same client code (``worker`` below, standard
library only) in its own process, rounds interleaved (one snapshot per side per round):

- ``pyvirt embed``: ``pyvirt.libvirt`` on ``qemu:///embed?root=...`` (driver in process)
- ``pyvirtd``: ``pyvirt.libvirt`` on ``qemu+unix:///system?socket=...`` of a ``pyvirtd --root``
- ``libvirt``: python3-libvirt on ``qemu:///system`` (libvirtd 9.0)

The measured call is ``dom.snapshotCreateXML(xml, DISK_ONLY | ATOMIC)`` with a ``<disks>``
entry naming a new overlay file for vda (``virsh snapshot-create-as --disk-only --atomic
--diskspec vda,file=...``); metadata is kept (the default), the domains are persistent.

QEMU's own time is the QMP work QEMU must do for the snapshot: the round-trip time of every
QMP command the manager sends for it (for a QEMU job, command to its ``concluded`` event),
measured at the monitor socket on the manager's side. pyvirt sends ``query-block`` and one
``transaction`` of ``blockdev-snapshot-sync`` (QEMU creates the overlay); it is measured in
this run inside pyvirt's process (a wrapper around the monitor's ``execute``; for pyvirtd
the daemon is started with the same wrapper, writing to a log). libvirt 9.0 sends
``query-named-block-nodes``, ``blockdev-add`` (file), ``blockdev-create`` (qcow2, a job),
``query-jobs``, ``job-dismiss``, ``blockdev-add`` (qcow2) and a ``transaction`` of
``blockdev-snapshot`` (seen in libvirtd's monitor log for this very call); libvirtd cannot be
timed from inside, so both sequences are also timed as a *floor*: a bare QEMU of the same
build, same guest and same disk layout, driven by a tiny blocking QMP client here, in the
same rounds. Outside-QEMU time is total minus QEMU time (pyvirt: its own in-run QMP time,
per call; every side: the median floor of its own sequence). CPU is the on-CPU time of the
client process and of the manager (pyvirt embed: the same process; pyvirtd / libvirtd: all
their threads, from /proc/PID/task/*/schedstat) during the call: steadier than wall time on
a loaded machine, though libvirtd's also counts other clients it serves meanwhile.
Figures are for notes, never pass/fail. Raw samples go to bench/results/snapshots-<time>.json
(not committed).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
GUEST = REPO / ".guest"
VENV_PY = str(REPO / ".venv/bin/python")
SYSTEM_PYTHON = "/usr/bin/python3"
DISK_ONLY, ATOMIC = 16, 128  # VIR_DOMAIN_SNAPSHOT_CREATE_*
UNDEFINE_SNAPSHOTS_METADATA = 2

DOMAIN_XML = """<domain type='qemu'><name>{name}</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>{g}/vmlinuz</kernel><initrd>{g}/initramfs.cpio.gz</initrd>
<cmdline>console=ttyS0 quiet testguest.net=none</cmdline></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{disk}'/>
<target dev='vda' bus='virtio'/></disk><memballoon model='none'/></devices></domain>"""

SNAP_XML = ("<domainsnapshot><name>{name}</name><disks><disk name='vda' snapshot='external'>"
            "<source file='{file}'/></disk></disks></domainsnapshot>")


def make_base(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    os.chmod(d, 0o755)
    base = d / "base.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(GUEST / "disk.qcow2"), "-F", "qcow2",
                    str(base)], check=True)
    return base


# ----------------------------------------------------------------------------- QMP tap (pyvirt side)


def install_qmp_tap(log_path: str | None) -> list[tuple[str, float]]:
    """Wrap pyvirt's QMPMonitor.execute: every command's round trip (ms), into the returned
    list (in process) and, with ``log_path``, one line per command (for pyvirtd)."""
    from pyvirt.drivers.qemu.monitor.client import QMPMonitor

    seen: list[tuple[str, float]] = []
    orig = QMPMonitor.execute
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if log_path else -1

    async def execute(self: Any, command: str, arguments: Any = None, timeout: float | None = 60.0) -> Any:
        t0 = time.perf_counter()
        try:
            return await orig(self, command, arguments, timeout)
        finally:
            ms = (time.perf_counter() - t0) * 1000
            seen.append((command, ms))
            if fd >= 0:
                os.write(fd, f"{command} {ms:.4f}\n".encode())

    QMPMonitor.execute = execute  # type: ignore[method-assign]
    return seen


def pyvirtd_main(log_path: str, root: str) -> None:
    install_qmp_tap(log_path)
    from pyvirt.daemon.main import main as daemon_main

    sys.exit(daemon_main(["--root", root]))


# ----------------------------------------------------------------------------- the client (all sides)


def worker(api: str, uri: str, name: str, disk: str, tap: bool) -> None:
    """Line protocol on stdin/stdout: ``snap NAME FILE`` -> {"ms": total, "qmp": [...]}."""
    seen = install_qmp_tap(None) if tap else None
    lv = importlib.import_module(api)
    conn = lv.open(uri)
    for old in conn.listAllDomains(0):  # a leftover of an interrupted run
        if old.name() == name:
            if old.isActive():
                old.destroy()
            old.undefineFlags(UNDEFINE_SNAPSHOTS_METADATA)
    dom = conn.defineXML(DOMAIN_XML.format(name=name, g=GUEST, disk=disk))
    try:
        dom.create()
        print(json.dumps({"ready": True}), flush=True)
        for line in sys.stdin:
            cmd, *args = line.split()
            if cmd != "snap":
                break
            if seen is not None:
                seen.clear()
            xml = SNAP_XML.format(name=args[0], file=args[1])
            c0 = time.process_time()
            t0 = time.perf_counter()
            dom.snapshotCreateXML(xml, DISK_ONLY | ATOMIC)
            ms = (time.perf_counter() - t0) * 1000
            cpu = (time.process_time() - c0) * 1000  # every thread of this process
            print(json.dumps({"ms": ms, "cpu": cpu, "qmp": list(seen) if seen is not None else None}), flush=True)
    finally:
        if dom.isActive():
            dom.destroy()
        dom.undefineFlags(UNDEFINE_SNAPSHOTS_METADATA)
        conn.close()


class Worker:
    def __init__(self, label: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.label = label
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self._read()  # ready: the domain is running

    def _read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.label}: worker exited ({self.proc.wait()})")
        out: dict[str, Any] = json.loads(line)
        return out

    def snap(self, name: str, file: Path) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"snap {name} {file}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def task_cpu_ms(pid: int) -> float:
    """On-CPU time of every thread of ``pid`` so far (schedstat: ns, unlike /proc/PID/stat's
    clock ticks)."""
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            continue  # a thread that ended meanwhile
    return total / 1e6


def libvirt_available(env: dict[str, str]) -> bool:
    if not os.path.exists("/var/run/libvirt/libvirt-sock") or not os.path.exists(SYSTEM_PYTHON):
        return False
    return subprocess.run([SYSTEM_PYTHON, "-c", "import libvirt"], env=env, capture_output=True,
                          check=False).returncode == 0


def libvirtd_pid() -> int | None:
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                with open(f"/proc/{p}/comm") as f:
                    if f.read().strip() == "libvirtd":
                        return int(p)
            except OSError:
                continue
    return None


# ----------------------------------------------------------------------------- the floor


class BareQemu:
    """The same guest on the same QEMU build, no manager: a blocking QMP client times the
    command sequences."""

    def __init__(self, d: Path, disk: Path) -> None:
        self.sock_path = str(d / "qmp.sock")
        blk_file = json.dumps({"driver": "file", "filename": str(disk), "node-name": "base-storage"})
        blk_fmt = json.dumps({"driver": "qcow2", "file": "base-storage", "node-name": "base-format"})
        self.proc = subprocess.Popen([
            "qemu-system-x86_64", "-machine", "q35,accel=tcg", "-m", "128", "-smp", "1", "-nodefaults",
            "-display", "none", "-serial", "none", "-kernel", str(GUEST / "vmlinuz"),
            "-initrd", str(GUEST / "initramfs.cpio.gz"), "-append", "console=ttyS0 quiet testguest.net=none",
            "-blockdev", blk_file, "-blockdev", blk_fmt,
            "-device", "virtio-blk-pci,drive=base-format,id=virtio-disk0",
            "-qmp", f"unix:{self.sock_path},server=on,wait=off"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # blockdev-snapshot-sync prints "Formatting ..."
        for _ in range(500):
            if os.path.exists(self.sock_path):
                break
            time.sleep(0.01)  # QEMU creates the socket before it answers; nothing to wait on
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.sock_path)
        self.f = self.sock.makefile("rwb")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")
        self.top = "base-format"
        self.n = 0
        self.events: list[dict[str, Any]] = []

    def cmd(self, name: str, args: dict[str, Any] | None = None) -> Any:
        msg: dict[str, Any] = {"execute": name}
        if args:
            msg["arguments"] = args
        self.f.write(json.dumps(msg).encode() + b"\n")
        self.f.flush()
        while True:
            reply = json.loads(self.f.readline())
            if "event" in reply:
                self.events.append(reply)
                continue
            if "error" in reply:
                raise RuntimeError(f"{name}: {reply['error']}")
            return reply.get("return")

    def timed(self, name: str, args: dict[str, Any] | None = None) -> tuple[Any, float]:
        t0 = time.perf_counter()
        ret = self.cmd(name, args)
        return ret, (time.perf_counter() - t0) * 1000

    def wait_event(self, name: str, key: str, value: str) -> None:
        while True:
            for ev in self.events:
                if ev["event"] == name and ev["data"].get(key) == value:
                    self.events.remove(ev)
                    return
            self.events.append(json.loads(self.f.readline()))

    def pyvirt_sequence(self, overlay: Path) -> float:
        """pyvirt's commands: query-block, transaction [blockdev-snapshot-sync]."""
        self.n += 1
        _, a = self.timed("query-block")
        node = f"snap-{self.n}"
        _, b = self.timed("transaction", {"actions": [{"type": "blockdev-snapshot-sync", "data": {
            "node-name": self.top, "snapshot-file": str(overlay), "snapshot-node-name": node,
            "format": "qcow2", "mode": "absolute-paths"}}]})
        self.top = node
        return a + b

    def libvirt_sequence(self, overlay: Path) -> float:
        """libvirt 9.0's commands (from libvirtd's monitor log for this call); the empty file
        libvirt creates itself before blockdev-add is created here too, untimed."""
        self.n += 1
        nodes, t = self.timed("query-named-block-nodes", {"flat": True})
        top = next(n for n in nodes if n.get("node-name") == self.top)
        size = int(top["image"]["virtual-size"])
        backing = str(top["image"]["filename"])
        overlay.touch()
        st, fm = f"lv-{self.n}-storage", f"lv-{self.n}-format"
        _, x = self.timed("blockdev-add", {"driver": "file", "filename": str(overlay), "node-name": st,
                                           "auto-read-only": True, "discard": "unmap"})
        t += x
        job = f"create-{fm}"
        t0 = time.perf_counter()
        self.cmd("blockdev-create", {"job-id": job, "options": {
            "driver": "qcow2", "file": st, "size": size, "cluster-size": 65536,
            "backing-file": backing, "backing-fmt": "qcow2"}})
        self.wait_event("JOB_STATUS_CHANGE", "status", "concluded")
        t += (time.perf_counter() - t0) * 1000
        for c, a in (("query-jobs", None), ("job-dismiss", {"id": job}),
                     ("blockdev-add", {"node-name": fm, "read-only": False, "driver": "qcow2", "file": st,
                                       "backing": None}),
                     ("transaction", {"actions": [{"type": "blockdev-snapshot",
                                                   "data": {"node": self.top, "overlay": fm}}]})):
            _, x = self.timed(c, a)
            t += x
        self.events.clear()
        self.top = fm
        return t

    def close(self) -> None:
        try:
            self.cmd("quit")
        except (OSError, ValueError, RuntimeError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.sock.close()


# ----------------------------------------------------------------------------- the run


def stats(xs: list[float]) -> str:
    if not xs:
        return "      -"
    return f"{statistics.median(xs):7.1f} ms (min {min(xs):6.1f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--no-libvirt", action="store_true")
    ap.add_argument("--no-daemon", action="store_true")
    ap.add_argument("--baseline", metavar="DIR", type=Path,
                    help="also run pyvirt embed from another checkout (e.g. `git archive REV | tar -x -C DIR`)")
    ap.add_argument("--settle", type=float, default=15.0,
                    help="seconds for the five TCG guests to finish booting before the first round")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pvsnapbench", dir="/tmp"))
    os.chmod(work, 0o755)
    me = str(Path(__file__).resolve())
    workers: list[Worker] = []
    daemon: subprocess.Popen[bytes] | None = None
    floors: list[BareQemu] = []
    try:
        root = work / "embed-root"
        root.mkdir()
        workers.append(Worker("pyvirt embed", [VENV_PY, me, "worker", "--api", "pyvirt.libvirt",
                                               "--uri", f"qemu:///embed?root={root}", "--name", "bench-snap-embed",
                                               "--disk", str(make_base(work / "embed")), "--tap"]))
        if args.baseline is not None:
            broot = work / "baseline-root"
            broot.mkdir()
            workers.append(Worker(f"embed @{args.baseline.name}", [
                VENV_PY, me, "worker", "--api", "pyvirt.libvirt", "--uri", f"qemu:///embed?root={broot}",
                "--name", "bench-snap-baseline", "--disk", str(make_base(work / "baseline")), "--tap"],
                env={**os.environ, "PYTHONPATH": str(args.baseline.resolve())}))
        qlog = work / "pyvirtd-qmp.log"
        if not args.no_daemon:
            droot = work / "daemon-root"
            droot.mkdir()
            daemon = subprocess.Popen([VENV_PY, me, "pyvirtd", "--log", str(qlog), "--root", str(droot)])
            sock = droot / "run" / "libvirt-sock"
            for _ in range(1000):
                if sock.exists():
                    break
                time.sleep(0.01)  # the daemon's socket appears when it listens
            workers.append(Worker("pyvirtd", [VENV_PY, me, "worker", "--api", "pyvirt.libvirt",
                                              "--uri", f"qemu+unix:///system?socket={sock}",
                                              "--name", "bench-snap-daemon", "--disk", str(make_base(work / "daemon"))]))
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        if not args.no_libvirt and not libvirt_available(env):
            print("libvirt side skipped: no libvirtd socket or no python3-libvirt for /usr/bin/python3")
        elif not args.no_libvirt:
            workers.append(Worker("libvirt", [SYSTEM_PYTHON, me, "worker", "--api", "libvirt", "--uri", "qemu:///system",
                                              "--name", "bench-snap-libvirt", "--disk", str(make_base(work / "libvirt"))],
                                  env=env))
        for label in ("floor-pyvirt-seq", "floor-libvirt-seq"):
            d = work / label
            floors.append(BareQemu(d, make_base(d)))
        time.sleep(args.settle)  # no event says "the guest is idle"; boots under TCG share 2 cores
        res: dict[str, dict[str, list[float]]] = {w.label: {"total": [], "qemu": [], "cpu": []} for w in workers}
        # the manager process whose CPU time counts besides the client's (embed: the client)
        managers = {"pyvirtd": daemon.pid if daemon is not None else None, "libvirt": libvirtd_pid()}
        res["floor"] = {"pyvirt-seq": [], "libvirt-seq": []}
        for i in range(args.runs + 1):  # round 0 warms caches and is dropped
            qlog_pos = qlog.stat().st_size if qlog.exists() else 0
            for w in workers:
                d = work / w.label.replace(" ", "-")
                d.mkdir(exist_ok=True)
                mpid = managers.get(w.label)
                m0 = task_cpu_ms(mpid) if mpid else 0.0
                out = w.snap(f"s{i}", d / f"o{i}.qcow2")
                mcpu = task_cpu_ms(mpid) - m0 if mpid else 0.0
                if i == 0:
                    continue
                res[w.label]["total"].append(out["ms"])
                res[w.label]["cpu"].append(out["cpu"] + mcpu)
                if out["qmp"] is not None:
                    res[w.label]["qemu"].append(sum(ms for _, ms in out["qmp"]))
                elif w.label == "pyvirtd":
                    with open(qlog) as f:
                        f.seek(qlog_pos)
                        res[w.label]["qemu"].append(sum(float(x.split()[1]) for x in f.read().splitlines()))
            fp = floors[0].pyvirt_sequence(work / "floor-pyvirt-seq" / f"o{i}.qcow2")
            fl = floors[1].libvirt_sequence(work / "floor-libvirt-seq" / f"o{i}.qcow2")
            if i:
                res["floor"]["pyvirt-seq"].append(fp)
                res["floor"]["libvirt-seq"].append(fl)
        fl_pv, fl_lv = res["floor"]["pyvirt-seq"], res["floor"]["libvirt-seq"]
        print(f"runs: {args.runs} per side, interleaved; load {os.getloadavg()[0]:.2f}")
        print(f"floor, pyvirt's QMP sequence on a bare QEMU   {stats(fl_pv)}")
        print(f"floor, libvirt's QMP sequence on a bare QEMU  {stats(fl_lv)}")
        for w in workers:
            r = res[w.label]
            print(f"{w.label:14s} total   {stats(r['total'])}")
            if r["qemu"]:
                print(f"{w.label:14s} QEMU    {stats(r['qemu'])}   (its QMP commands, in this run)")
                print(f"{w.label:14s} outside {stats([t - q for t, q in zip(r['total'], r['qemu'], strict=True)])}")
            floor = statistics.median(fl_lv if w.label == "libvirt" else fl_pv)
            print(f"{w.label:14s} outside {stats([t - floor for t in r['total']])}"
                  f"   (total - median floor of its own QMP sequence)")
            print(f"{w.label:14s} CPU     {stats(r['cpu'])}   (client process + "
                  f"{'daemon' if w.label in managers else 'in-process driver'}, all threads)")
        (HERE / "results").mkdir(exist_ok=True)
        out_path = HERE / "results" / f"snapshots-{time.strftime('%Y%m%d-%H%M%S')}.json"
        out_path.write_text(json.dumps(res, indent=1))
        print(f"raw samples: {out_path}")
    finally:
        for w in workers:
            w.close()
        for fq in floors:
            fq.close()
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(30)
            except subprocess.TimeoutExpired:
                daemon.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        wp = argparse.ArgumentParser()
        wp.add_argument("--api", required=True)
        wp.add_argument("--uri", required=True)
        wp.add_argument("--name", required=True)
        wp.add_argument("--disk", required=True)
        wp.add_argument("--tap", action="store_true")
        a = wp.parse_args(sys.argv[2:])
        if a.tap and not os.environ.get("PYTHONPATH"):  # PYTHONPATH: a --baseline checkout
            sys.path.insert(0, str(REPO))
        worker(a.api, a.uri, a.name, a.disk, a.tap)
    elif len(sys.argv) > 1 and sys.argv[1] == "pyvirtd":
        dp = argparse.ArgumentParser()
        dp.add_argument("--log", required=True)
        dp.add_argument("--root", required=True)
        a = dp.parse_args(sys.argv[2:])
        sys.path.insert(0, str(REPO))
        pyvirtd_main(a.log, a.root)
    else:
        main()
