#!/usr/bin/env python3
"""Time spent outside QEMU for ``blockcommit --active --pivot --wait`` and ``blockpull --wait``,
pyvirt beside libvirt in the same run, through the API and through the command line.

Run from the repo with the venv's python (the libvirt side runs under /usr/bin/python3 with
python3-libvirt, against the running libvirtd's qemu:///system)::

    .venv/bin/python bench/blockjobs.py [--runs 7] [--no-libvirt] [--no-cli]

Every run starts a fresh domain (TCG, the test guest's kernel) on a fresh chain
``top <- mid <- guest base``; the measured operation is the commit of ``top`` into ``mid``
with pivot, or the pull of ``mid`` into ``top``.

QEMU's own time comes from QEMU's JOB_STATUS_CHANGE event timestamps, per run and per
side (pyvirt taps its monitor; the libvirt side registers libvirt_qemu monitor events, so
libvirt's QEMU is timed by the same clock): a pull is created -> concluded; an active
commit is created -> ready plus waiting -> concluded. The ready -> waiting gap is the
management's reaction (READY event to block-job-complete) and counts as outside QEMU, on
both sides alike. "Outside QEMU" = total - QEMU's own time of the same run. Command lines
on a daemon are timed per run by a tap: a python3-libvirt process on the same daemon
(pyvirtd or libvirtd) that listens to JOB_STATUS_CHANGE through libvirt_qemu. pyvirsh
embed and the API through pyvirtd use the median of the in-process API runs (libvirt's API
always goes through libvirtd, so "pyvirt API -> pyvirtd" is its like-for-like row).

A command line also pays its process floor: interpreter start, connect, one call, exit.
"Outside QEMU beyond the no-op" subtracts the same tool's ``domstate`` on the same
connection, run just before, from each run's outside-QEMU time: what the job itself costs.

The pyvirsh breakdown runs pyvirsh's own main() in a wrapper that stamps the phases
(interpreter + CLI imports, connect = driver imports + open, domain lookup, the job,
disconnect); the bare interpreter (``python -c pass``) is timed beside it.

Figures are for notes, never pass/fail; on a shared machine read them side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
GUEST = REPO / ".guest"
PY = str(REPO / ".venv/bin/python")
PYVIRSH = str(REPO / ".venv/bin/pyvirsh")  # the console script users run (python -m adds runpy, ~4 ms)
PAUSED = False  # --paused: each domain is suspended before its job (main() sets it)
sys.path.insert(0, str(REPO))

XML = """<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<os><type arch='x86_64' machine='q35'>hvm</type><kernel>{g}/vmlinuz</kernel><initrd>{g}/initramfs.cpio.gz</initrd>
<cmdline>console=ttyS0 quiet testguest.net=none</cmdline></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{top}'/>
<target dev='vda' bus='virtio'/></disk><memballoon model='none'/></devices></domain>"""


def make_chain(d: Path) -> tuple[str, str]:
    mid, top = str(d / "mid.qcow2"), str(d / "top.qcow2")
    for p in (mid, top):
        if os.path.exists(p):
            os.unlink(p)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(GUEST / "disk.qcow2"), "-F", "qcow2", mid],
                   check=True)
    # some data in mid for the pull to copy, and in top for the commit
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1M 4M", mid], check=True, capture_output=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", mid, "-F", "qcow2", top], check=True)
    subprocess.run(["qemu-io", "-f", "qcow2", "-c", "write -P 0xa5 8M 4M", top], check=True, capture_output=True)
    return top, mid


def qemu_own(stamps: dict[str, float], op: str) -> float:
    """QEMU's own seconds for one job from its JOB_STATUS_CHANGE stamps (first of each)."""
    if op == "commit":
        return (stamps["ready"] - stamps["created"]) + (stamps["concluded"] - stamps["waiting"])
    return stamps["concluded"] - stamps["created"]


# ----------------------------------------------------------------------------- pyvirt, API


async def run_job(drv: Any, dom: Any, op: str, mid: str, q: asyncio.Queue[Any]) -> float:
    """Seconds for one measured operation on ``drv`` (any pyvirt driver): the active commit
    of top into ``mid`` pivoted on READY, or the pull of everything above the guest disk;
    ``q`` gets the driver's block-job events."""
    from pyvirt.enums import BlockJobStatus

    t0 = time.monotonic()
    if op == "commit":
        await drv.block_commit(dom, "vda", mid, None, 0, 4)
        while (await q.get()).status is not BlockJobStatus.READY:
            pass
        await drv.block_job_abort(dom, "vda", 2)
    else:
        await drv.block_rebase(dom, "vda", str(GUEST / "disk.qcow2"), 0, 0)
        while (await q.get()).status is not BlockJobStatus.COMPLETED:
            pass
    return time.monotonic() - t0


async def pyvirt_api(work: Path, op: str, runs: int) -> list[tuple[float, float]]:
    """(total, QEMU's own) seconds per run, QEMU driver in process (qemu:///embed)."""
    from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent
    from pyvirt.drivers.qemu.driver import QemuDriver

    root = Path(tempfile.mkdtemp(prefix="pvbench", dir="/tmp"))
    drv = await QemuDriver.open(f"qemu:///embed?root={root}")
    out = []
    try:
        for _ in range(runs):
            top, mid = make_chain(work)
            dom = await drv.create_xml(XML.format(name="bench", uuid=uuid.uuid4(), g=GUEST, top=top))
            if PAUSED:
                await drv.suspend(dom)
            rt = await drv.lc.runtime(drv._obj(dom))
            assert rt.monitor is not None
            stamps: dict[str, float] = {}
            orig = rt.monitor.on_event

            def tap(ev: Any, orig: Any = orig, stamps: dict[str, float] = stamps) -> None:
                if ev.name == "JOB_STATUS_CHANGE":
                    stamps.setdefault(str(ev.data.get("status")), ev.timestamp)
                if orig is not None:
                    orig(ev)

            rt.monitor.on_event = tap
            q: asyncio.Queue[BlockJobEventMsg] = asyncio.Queue()

            def on(ev: DomainEvent, q: asyncio.Queue[BlockJobEventMsg] = q) -> None:
                if isinstance(ev, BlockJobEventMsg):
                    q.put_nowait(ev)

            tok = drv.events.subscribe(on)
            total = await run_job(drv, dom, op, mid, q)
            drv.events.unsubscribe(tok)
            await asyncio.sleep(0.05)  # the trailing JOB_STATUS_CHANGE (concluded) may follow the reply
            out.append((total, qemu_own(stamps, op)))
            await drv.destroy(dom)
    finally:
        await drv.close()
        shutil.rmtree(root, ignore_errors=True)
    return out


async def pyvirt_remote_api(uri: str, work: Path, op: str, runs: int) -> list[float]:
    """Total seconds per run through pyvirtd (the remote driver, as python3-libvirt goes
    through libvirtd); QEMU runs in the daemon, so its time is the in-process runs' median."""
    from pyvirt.aio import open_driver
    from pyvirt.drivers.base import BlockJobEventMsg, DomainEvent

    drv = await open_driver(uri)
    q: asyncio.Queue[BlockJobEventMsg] = asyncio.Queue()

    def on(ev: DomainEvent) -> None:
        if isinstance(ev, BlockJobEventMsg):
            q.put_nowait(ev)

    drv.events.subscribe(on)
    await drv.register_events()  # type: ignore[attr-defined]  # RemoteDriver's
    out = []
    try:
        for _ in range(runs):
            top, mid = make_chain(work)
            dom = await drv.create_xml(XML.format(name="benchrapi", uuid=uuid.uuid4(), g=GUEST, top=top))
            if PAUSED:
                await drv.suspend(dom)
            while not q.empty():
                q.get_nowait()
            out.append(await run_job(drv, dom, op, mid, q))
            await drv.destroy(dom)
    finally:
        await drv.close()
    return out


# ----------------------------------------------------------------------------- libvirt, API

LIBVIRT_API = r"""
import json, subprocess, sys, threading, time, uuid
import libvirt, libvirt_qemu
xml_t, op, runs, base = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
libvirt.virEventRegisterDefaultImpl()
threading.Thread(target=lambda: [libvirt.virEventRunDefaultImpl() for _ in iter(int, 1)], daemon=True).start()
c = libvirt.open("qemu:///system")
res = []
for i in range(runs):
    subprocess.run([sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); import bench.blockjobs as b; "
                    "from pathlib import Path; b.make_chain(Path(sys.argv[2]))", sys.argv[5], sys.argv[6]], check=True)
    d = c.createXML(open(xml_t).read().replace("UUID", str(uuid.uuid4())), 0)
    if sys.argv[7] == "1":
        d.suspend()
    ev = threading.Event(); stamps = {}; done = threading.Event()
    def cb(conn, dom, disk, typ, status, opaque):
        ev.set()
    def mon(conn, dom, event, secs, usecs, details, opaque):
        st = json.loads(details).get("status") if isinstance(details, str) else details.get("status")
        stamps.setdefault(st, secs + usecs / 1e6)
        if st == "concluded":
            done.set()
    cid = c.domainEventRegisterAny(d, libvirt.VIR_DOMAIN_EVENT_ID_BLOCK_JOB_2, cb, None)
    mid = libvirt_qemu.qemuMonitorEventRegister(c, d, "JOB_STATUS_CHANGE", mon, None, 0)
    t0 = time.monotonic()
    if op == "commit":
        d.blockCommit("vda", base, None, 0, libvirt.VIR_DOMAIN_BLOCK_COMMIT_ACTIVE)
        ev.wait(60)
        d.blockJobAbort("vda", libvirt.VIR_DOMAIN_BLOCK_JOB_ABORT_PIVOT)
    else:
        d.blockRebase("vda", base, 0, 0)
        ev.wait(60)
    total = time.monotonic() - t0
    done.wait(5)
    res.append([total, stamps])
    c.domainEventDeregisterAny(cid)
    libvirt_qemu.qemuMonitorEventDeregister(c, mid)
    d.destroy()
print(json.dumps(res))
"""


def libvirt_api(work: Path, op: str, runs: int) -> list[tuple[float, float]]:
    xml = work / "lv.xml"
    base = str(work / "mid.qcow2") if op == "commit" else str(GUEST / "disk.qcow2")
    xml.write_text(XML.format(name="benchlv", uuid="UUID", g=GUEST, top=work / "top.qcow2"))
    p = subprocess.run(["/usr/bin/python3", "-c", LIBVIRT_API, str(xml), op, str(runs), base, str(REPO), str(work),
                        "1" if PAUSED else "0"],
                       check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": ""})
    return [(float(t), qemu_own(st, op)) for t, st in json.loads(p.stdout)]


# ----------------------------------------------------------------------------- command lines


def cli_cmd(op: str, mid: str) -> list[str]:
    return (["blockcommit", "benchcli", "vda", "--active", "--pivot", "--wait", "--base", mid] if op == "commit"
            else ["blockpull", "benchcli", "vda", "--wait", "--base", str(GUEST / "disk.qcow2")])


# QEMU's own job time for a command line, per run: a python3-libvirt process on the same
# daemon (pyvirtd or libvirtd alike) listens to every domain's JOB_STATUS_CHANGE through
# libvirt_qemu and prints QEMU's timestamps, one JSON line per event.
TAP = r"""
import json, sys, threading, libvirt, libvirt_qemu
libvirt.virEventRegisterDefaultImpl()
c = libvirt.open(sys.argv[1])
def mon(conn, dom, event, secs, usecs, details, opaque):
    st = json.loads(details).get("status") if isinstance(details, str) else details.get("status")
    print(json.dumps([st, secs + usecs / 1e6]), flush=True)
libvirt_qemu.qemuMonitorEventRegister(c, None, "JOB_STATUS_CHANGE", mon, None, 0)
print(json.dumps(["tap", 0]), flush=True)
while True:
    libvirt.virEventRunDefaultImpl()
"""


class QemuTap:
    """QEMU's own seconds per job run on ``uri``'s daemon (see TAP)."""

    def __init__(self, uri: str) -> None:
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", TAP, uri], stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": ""})
        assert self.proc.stdout is not None
        if json.loads(self.proc.stdout.readline())[0] != "tap":
            raise RuntimeError("QEMU tap did not register")

    def job(self, op: str) -> float:
        """Reads up to the job's "concluded" (sent before the job's end reaches any client)."""
        assert self.proc.stdout is not None
        stamps: dict[str, float] = {}
        while "concluded" not in stamps:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("QEMU tap ended")
            st, t = json.loads(line)
            stamps.setdefault(st, t)
        return qemu_own(stamps, op)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def cli_run(argv: list[str], work: Path, op: str, runs: int, xml_path: Path, cwd: str | None = None,
            tap_uri: str | None = None) -> tuple[list[float], list[float], list[float]]:
    """Whole-process seconds of the command, one fresh domain per run, of a no-op on the
    same connection (``domstate benchcli``: process start + connect + one read + exit), and
    QEMU's own time of each run when ``tap_uri`` names the daemon (else empty).
    ``cwd`` runs another checkout's ``python -m pyvirt.cli`` (--baseline)."""
    out, noop, own = [], [], []
    tap = QemuTap(tap_uri) if tap_uri else None
    try:
        for _ in range(runs):
            top, mid = make_chain(work)
            xml_path.write_text(XML.format(name="benchcli", uuid=uuid.uuid4(), g=GUEST, top=top))
            subprocess.run([*argv, "create", str(xml_path)], check=True, capture_output=True, cwd=cwd)
            if PAUSED:
                subprocess.run([*argv, "suspend", "benchcli"], check=True, capture_output=True, cwd=cwd)
            t0 = time.monotonic()
            subprocess.run([*argv, "domstate", "benchcli"], check=True, capture_output=True, cwd=cwd)
            noop.append(time.monotonic() - t0)
            t0 = time.monotonic()
            subprocess.run([*argv, *cli_cmd(op, mid)], check=True, capture_output=True, cwd=cwd)
            out.append(time.monotonic() - t0)
            if tap:
                own.append(tap.job(op))
            subprocess.run([*argv, "destroy", "benchcli"], check=False, capture_output=True, cwd=cwd)
    finally:
        if tap:
            tap.close()
    return out, noop, own


# pyvirsh's main() under a wrapper that stamps its phases (perf_counter from interpreter
# start is not available: the stamps start at the wrapper's first line, after the
# interpreter's own start-up, which `python -c pass` times beside it).
BREAKDOWN = r"""
import time
t0 = time.perf_counter()
import json, sys
stamps = {}
import pyvirt.cli.main as climain
import pyvirt.cli.ctl as ctl
stamps["cli imports"] = time.perf_counter()
oc, odom, odis, orun = ctl.Ctl.connect, ctl.Ctl.domain, ctl.Ctl.disconnect, climain.run_command
def connect(self):
    oc(self); stamps.setdefault("connect (imports + open)", time.perf_counter())
def domain(self, *a, **k):
    try:
        return odom(self, *a, **k)
    finally:
        stamps["domain lookup"] = time.perf_counter()
def run_command(c, args):
    try:
        return orun(c, args)
    finally:  # the command's own imports, calls, QEMU's job and the events
        stamps["job (imports, calls, QEMU, events)"] = time.perf_counter()
def dis(self):
    odis(self); stamps["disconnect"] = time.perf_counter()
ctl.Ctl.connect, ctl.Ctl.domain, ctl.Ctl.disconnect = connect, domain, dis
climain.run_command = run_command
try:
    rc = climain.main(sys.argv[1:])
except SystemExit as e:
    rc = e.code
prev, out = t0, {}
for k, v in sorted(stamps.items(), key=lambda kv: kv[1]):
    out[k], prev = v - prev, v
sys.stderr.write("BREAKDOWN " + json.dumps(out) + "\n")
sys.exit(rc)
"""


def pyvirsh_breakdown(argv_base: list[str], work: Path, op: str, runs: int, xml_path: Path,
                      cwd: str | None = None) -> dict[str, list[float]]:
    """Phase durations of pyvirsh runs (seconds), plus the whole process and a bare interpreter."""
    phases: dict[str, list[float]] = {}
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run([PY, "-c", "pass"], check=True)
        phases.setdefault("bare interpreter (python -c pass)", []).append(time.monotonic() - t0)
        top, mid = make_chain(work)
        xml_path.write_text(XML.format(name="benchcli", uuid=uuid.uuid4(), g=GUEST, top=top))
        subprocess.run([*argv_base, "create", str(xml_path)], check=True, capture_output=True, cwd=cwd)
        if PAUSED:
            subprocess.run([*argv_base, "suspend", "benchcli"], check=True, capture_output=True, cwd=cwd)
        cmd = [PY, "-c", BREAKDOWN, *argv_base[-2:], *cli_cmd(op, mid)]  # -c URI
        t0 = time.monotonic()
        p = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=cwd)
        whole = time.monotonic() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{cmd[3:]} failed ({p.returncode}): {p.stdout}{p.stderr}")
        subprocess.run([*argv_base, "destroy", "benchcli"], check=False, capture_output=True, cwd=cwd)
        line = next(ln for ln in p.stderr.splitlines() if ln.startswith("BREAKDOWN "))
        parts = json.loads(line[len("BREAKDOWN "):])
        for k, v in parts.items():
            phases.setdefault(k, []).append(v)
        phases.setdefault("whole process", []).append(whole)
        phases.setdefault("interpreter start + exit (whole - phases)", []).append(whole - sum(parts.values()))
    return phases


@contextlib.contextmanager
def pyvirtd(root: Path) -> Any:
    """A throw-away pyvirtd --root ROOT; yields its qemu+unix URI."""
    sock = root / "run" / "libvirt-sock"
    log = (root.parent / f"{root.name}.log").open("wb")
    proc = subprocess.Popen([PY, "-m", "pyvirt.daemon", "--root", str(root)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("pyvirtd did not start")
            time.sleep(0.05)  # pyvirtd has no readiness notification to wait on
        yield f"qemu+unix:///system?socket={sock}"
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(20)
        if proc.poll() is None:
            proc.kill()
        log.close()


# ----------------------------------------------------------------------------- report


def fmt(xs: list[float]) -> str:
    return f"{statistics.median(xs) * 1000:7.1f} ms (min {min(xs) * 1000:6.1f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-libvirt", action="store_true")
    ap.add_argument("--no-cli", action="store_true")
    ap.add_argument("--paused", action="store_true",
                    help="suspend each domain before its job: the booting TCG guest no longer takes a core "
                         "from the management processes (both sides alike)")
    ap.add_argument("--baseline", metavar="DIR",
                    help="also run DIR's pyvirt (an exported older checkout) as pyvirsh -> pyvirtd, same rounds")
    args = ap.parse_args()
    global PAUSED
    PAUSED = args.paused
    # PYTHONDONTWRITEBYTECODE (set here) leaves a stale .pyc stale: every run would
    # recompile the modules changed since (blockjob.py alone: ~8 ms a process)
    for tree in (REPO, *([Path(args.baseline)] if args.baseline else [])):
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "pyvirt")], check=True,
                       capture_output=True)
    work = Path(tempfile.mkdtemp(prefix="pvbj", dir="/tmp"))
    os.chmod(work, 0o755)
    root = Path(tempfile.mkdtemp(prefix="pvbc", dir="/tmp"))
    embed = [PYVIRSH, "-c", f"qemu:///embed?root={root}"]
    virsh_lv = ["virsh", "-c", "qemu:///system"]
    print("medians (min); outside QEMU = total - QEMU's own time of the same run (from its events; "
          "pyvirsh embed: the in-process API median)")
    try:
        with pyvirtd(root / "daemon") as duri:
            pyvirsh_d = [PYVIRSH, "-c", duri]
            baseline_d = [PY, "-m", "pyvirt.cli", "-c", duri]  # run in the other checkout
            virsh_d = ["virsh", "-c", duri]
            for op in ("commit", "pull"):
                api = asyncio.run(pyvirt_api(work, op, args.runs))
                own = [q for _, q in api]
                floor = statistics.median(own)
                print(f"{op:6s} QEMU's own time (pyvirt's QEMU)       {fmt(own)}")
                print(f"{op:6s} pyvirt API            total {fmt([t for t, _ in api])}   "
                      f"outside QEMU {fmt([t - q for t, q in api])}")
                lv_floor = None
                if not args.no_libvirt:
                    lv = libvirt_api(work, op, args.runs)
                    lv_floor = statistics.median([q for _, q in lv])
                    print(f"{op:6s} QEMU's own time (libvirt's QEMU)      {fmt([q for _, q in lv])}")
                    print(f"{op:6s} libvirt API           total {fmt([t for t, _ in lv])}   "
                          f"outside QEMU {fmt([t - q for t, q in lv])}")
                rapi = asyncio.run(pyvirt_remote_api(duri, work, op, args.runs))
                print(f"{op:6s} pyvirt API -> pyvirtd total {fmt(rapi)}   outside QEMU {fmt([t - floor for t in rapi])}")
                if args.no_cli:
                    continue
                tapped = shutil.which("python3") is not None and subprocess.run(
                    ["/usr/bin/python3", "-c", "import libvirt_qemu"], capture_output=True, check=False).returncode == 0
                rows: list[tuple[str, list[str], float, str | None, str | None]] = [
                    ("pyvirsh embed", embed, floor, None, None),
                    ("pyvirsh -> pyvirtd", pyvirsh_d, floor, None, duri if tapped else None),
                    ("virsh -> pyvirtd", virsh_d, floor, None, duri if tapped else None)]
                if args.baseline:
                    rows.insert(2, ("pyvirsh -> pyvirtd (baseline)", baseline_d, floor, args.baseline,
                                    duri if tapped else None))
                if lv_floor is not None:
                    rows.append(("virsh -> libvirtd", virsh_lv, lv_floor, None, "qemu:///system" if tapped else None))
                for label, argv, fl, cwd, tap_uri in rows:
                    cli, noop, own_cli = cli_run(argv, work, op, args.runs, work / "cli.xml", cwd, tap_uri)
                    qemu = own_cli or [fl] * len(cli)
                    print(f"{op:6s} {label:29s} total {fmt(cli)}   QEMU {'per run' if own_cli else 'API median'} "
                          f"{fmt(qemu)}   outside QEMU {fmt([t - q for t, q in zip(cli, qemu)])}")
                    print(f"{op:6s} {'':29s} no-op (domstate) {fmt(noop)}   "
                          f"outside QEMU beyond the no-op {fmt([t - q - n for t, q, n in zip(cli, qemu, noop)])}")
                bd = [("pyvirsh embed", embed, None), ("pyvirsh -> pyvirtd", pyvirsh_d, None)]
                if args.baseline:
                    bd.append(("pyvirsh -> pyvirtd (baseline)", baseline_d, args.baseline))
                for label, argv, cwd in bd:
                    br = pyvirsh_breakdown(argv, work, op, args.runs, work / "cli.xml", cwd)
                    print(f"{op:6s} {label} breakdown:")
                    for k, v in br.items():
                        print(f"         {k:44s} {fmt(v)}")
    finally:
        subprocess.run(["rm", "-rf", str(work), str(root)], check=False)


if __name__ == "__main__":
    main()
