#!/usr/bin/env python3
"""pyvirt beside the real libvirt, in one run on one machine (``make bench``).

(a) start latency: the raw QEMU floor (exec -> QMP handshake on a listening socket passed as
    an fd -> ``cont``), then ``create()`` of bench/minimal.xml (diskless q35, type='qemu')
    through pyvirt and through libvirt; overhead = create - floor.
(b) ``pyvirsh list --all`` vs ``virsh list --all`` whole-process time (hyperfine -N) with 0
    and with 1000 defined domains.
(c) ``daemon-list``: the same through a daemon, in one hyperfine run: pyvirsh -> a
    throw-away ``pyvirtd --root``, virsh -> that pyvirtd, virsh -> libvirtd, ``python -c
    pass`` (bench/daemon_list.py).

The libvirt side needs the oracle (``../shared/oracle/start-libvirtd.sh``: libvirtd answering
on qemu:///system, /usr/bin/python3 with python3-libvirt); without it those columns are
empty. Both sides run the same client code (bench/worker.py) in their own process.
Every domain made here is named ``bench-...`` and removed again, also on errors.
Figures are for notes and reports, never for pass/fail. Results: bench/results/*.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import daemon_list  # bench/ is the script's directory, first on sys.path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
WORKER = HERE / "worker.py"
MINIMAL_XML = HERE / "minimal.xml"
SYSTEM_PYTHON = "/usr/bin/python3"
LIBVIRT_URI = "qemu:///system"


@dataclass
class Side:
    """One implementation under test: how to run its client code and its CLI."""

    label: str
    python: str
    api: str
    uri: str
    cli: list[str]
    available: bool = True
    why_not: str = ""

    def worker(self, *args: str, timeout: float = 900) -> dict[str, Any]:
        argv = [self.python, str(WORKER), args[0], "--api", self.api, "--uri", self.uri,
                *args[1:]]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"{self.label}: {shlex.join(argv)} failed:\n{proc.stderr[-3000:]}")
        result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
        return result


@dataclass
class Row:
    metric: str
    unit: str
    values: dict[str, float | None] = field(default_factory=dict)
    target: str = ""
    compare: bool = True  # False for shared figures (the floor), where a ratio means nothing


# ----------------------------------------------------------------------------- (a) floor


def _qmp_exchange(f: Any, command: str) -> dict[str, Any]:
    f.write(json.dumps({"execute": command}).encode() + b"\n")
    f.flush()
    while True:
        reply: dict[str, Any] = json.loads(f.readline())
        if "event" not in reply:
            return reply


def qemu_floor_once(qemu: str, workdir: Path) -> float:
    """exec -> QMP greeting -> qmp_capabilities -> cont, in ms. The listening socket exists
    before QEMU does (as a driver passes it), so connect() never has to retry."""
    path = workdir / "floor.qmp"
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    fd = listener.fileno()
    argv = [qemu, "-S", "-no-user-config", "-nodefaults", "-machine", "q35,accel=tcg",
            "-m", "128", "-display", "none",
            "-chardev", f"socket,id=mon,fd={fd},server=on,wait=off",
            "-mon", "chardev=mon,mode=control"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, pass_fds=[fd], stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    listener.close()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(str(path))
        f = client.makefile("rwb")
        json.loads(f.readline())  # greeting: QEMU is up and serving the monitor
        _qmp_exchange(f, "qmp_capabilities")
        reply = _qmp_exchange(f, "cont")
        elapsed = (time.perf_counter() - t0) * 1000
        if "return" not in reply:
            raise RuntimeError(f"cont failed: {reply}")
        _qmp_exchange(f, "quit")
    finally:
        client.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return elapsed


def qemu_floor(qemu: str, runs: int, workdir: Path) -> list[float]:
    qemu_floor_once(qemu, workdir)  # warm the page cache for QEMU and its firmware
    return [qemu_floor_once(qemu, workdir) for _ in range(runs)]


# ----------------------------------------------------------------------------- (b) list


def hyperfine(cmd: list[str], runs: int, out: Path) -> float:
    """Median wall time in ms of a whole process (hyperfine -N: no shell in between)."""
    subprocess.run(["hyperfine", "-N", "--warmup", "2", "--runs", str(runs), "--style", "none",
                    "--export-json", str(out), shlex.join(cmd)],
                   check=True, stdout=subprocess.DEVNULL)
    result = json.loads(out.read_text())["results"][0]
    return float(result["median"]) * 1000


def list_times(side: Side, n_domains: int, runs: int, workdir: Path) -> tuple[float, float]:
    prefix = "bench-list-"
    cmd = [*side.cli, "-c", side.uri, "list", "--all"]
    side.worker("cleanup", "--prefix", prefix)
    # "0 domains" means none of ours: the oracle may hold other people's domains
    zero = hyperfine(cmd, runs, workdir / f"{side.label}-list0.json")
    template = workdir / "list.xml"
    template.write_text(MINIMAL_XML.read_text())
    try:
        side.worker("define", "--xml", str(template), "--prefix", prefix,
                    "--count", str(n_domains))
        many = hyperfine(cmd, runs, workdir / f"{side.label}-list{n_domains}.json")
    finally:
        side.worker("cleanup", "--prefix", prefix)
    return zero, many


# ----------------------------------------------------------------------------- main


def probe(side: Side) -> None:
    check = (f"import {side.api} as lv; c = lv.open({side.uri!r}); c.close()")
    try:
        proc = subprocess.run([side.python, "-c", check], capture_output=True, text=True,
                              timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as e:
        side.available, side.why_not = False, str(e)
        return
    if proc.returncode != 0:
        side.available = False
        side.why_not = (proc.stderr.strip().splitlines() or ["?"])[-1]


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"


def print_table(rows: list[Row], sides: list[Side]) -> str:
    head = ["metric", "unit", *[s.label for s in sides], "pyvirt/libvirt", "target"]
    body = []
    for r in rows:
        vals = [r.values.get(s.label) for s in sides]
        p, lbv = r.values.get("pyvirt"), r.values.get("libvirt")
        ratio = f"{p / lbv:.2f}x" if r.compare and p is not None and lbv else "-"
        body.append([r.metric, r.unit, *[fmt(v) for v in vals], ratio, r.target])
    widths = [max(len(str(x[i])) for x in [head, *body]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in [head, *body]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=7, help="create() / floor repetitions")
    ap.add_argument("--cli-runs", type=int, default=20, help="hyperfine runs per CLI case")
    ap.add_argument("--n-domains", type=int, default=1000)
    ap.add_argument("--qemu", default="/usr/bin/qemu-system-x86_64")
    ap.add_argument("--pyvirt-uri", default=None,
                    help="default: qemu:///embed?root=<fresh dir under /var/tmp>")
    ap.add_argument("--daemon-runs", type=int, default=40,
                    help="hyperfine runs per command in the daemon-list section")
    ap.add_argument("--daemon-domains", type=int, default=5,
                    help="domains defined in the daemon-list section's pyvirtd")
    ap.add_argument("--skip", default="",
                    help="comma list of: start,list,daemon-list,libvirt,pyvirt")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))

    workdir = Path(tempfile.mkdtemp(prefix="pyvirt-bench-", dir="/var/tmp"))
    embed_root = workdir / "embed"
    venv_cli = Path(sys.executable).parent / "pyvirsh"
    sides = [
        Side("pyvirt", sys.executable, "pyvirt.libvirt",
             args.pyvirt_uri or f"qemu:///embed?root={embed_root}",
             [str(venv_cli)] if venv_cli.exists() else [sys.executable, "-m", "pyvirt.cli"]),
        Side("libvirt", SYSTEM_PYTHON, "libvirt", LIBVIRT_URI,
             [shutil.which("virsh") or "virsh"]),
    ]
    for side in sides:
        if side.label in skip:
            side.available, side.why_not = False, "--skip"
        else:
            probe(side)
        if not side.available:
            print(f"# {side.label}: not measured ({side.why_not})", file=sys.stderr)
    if shutil.which("hyperfine") is None:
        skip.add("list")
        print("# hyperfine not installed: list timings skipped", file=sys.stderr)

    # An installed package has its bytecode; a checkout run with PYTHONDONTWRITEBYTECODE
    # (as on these machines) would otherwise compile every pyvirt module in every pyvirsh.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "pyvirt")],
                   check=False, stdout=subprocess.DEVNULL)
    rows: list[Row] = []
    detail_tables: list[str] = []
    raw: dict[str, Any] = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "load": os.getloadavg(), "sides": {}}
    try:
        if "start" not in skip:
            floor = qemu_floor(args.qemu, args.runs, workdir)
            raw["floor_ms"] = floor
            f = median(floor)
            rows.append(Row("QEMU floor: exec -> QMP -> cont (shared)", "ms",
                            {s.label: f for s in sides}, compare=False))
            create_row = Row("create() minimal q35 (TCG)", "ms")
            over_row = Row("start overhead = create - floor", "ms", target="pyvirt <= 30 ms")
            for side in sides:
                if not side.available:
                    continue
                res = side.worker("start", "--xml", str(MINIMAL_XML), "--runs", str(args.runs),
                                  "--name", "bench-start")
                raw["sides"].setdefault(side.label, {})["start"] = res
                c = median(res["create_ms"])
                create_row.values[side.label] = c
                over_row.values[side.label] = c - f
            rows += [create_row, over_row]
        if "list" not in skip:
            zero_row = Row("list --all, 0 domains (whole process)", "ms",
                           target="pyvirsh <= 1.3x virsh")
            many_row = Row(f"list --all, {args.n_domains} domains (whole process)", "ms",
                           target="pyvirsh <= 50 ms")
            for side in sides:
                if not side.available:
                    continue
                zero, many = list_times(side, args.n_domains, args.cli_runs, workdir)
                zero_row.values[side.label], many_row.values[side.label] = zero, many
            rows += [zero_row, many_row]
        if "daemon-list" not in skip and "pyvirt" not in skip:
            try:
                dl = daemon_list.measure(workdir, args.daemon_domains, args.daemon_runs,
                                         libvirt=sides[1].available)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                print(f"# daemon-list not measured: {e}", file=sys.stderr)
            else:
                raw["daemon_list"] = dl
                detail_tables.append(daemon_list.table(dl))
                st = dl["stats"]
                rows.append(Row(f"list --all through a daemon, {args.daemon_domains} domains",
                                "ms", {"pyvirt": st["pyvirsh -> pyvirtd"]["median_ms"],
                                       "libvirt": st.get("virsh -> libvirtd", {}).get("median_ms")},
                                target="pyvirsh <= 1.3x virsh"))
    finally:
        for side in sides:
            if side.available:
                try:
                    side.worker("cleanup", "--prefix", "bench-")
                except (RuntimeError, subprocess.TimeoutExpired) as e:
                    print(f"# cleanup on {side.label} failed: {e}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)

    table = "\n\n".join([print_table(rows, sides), *detail_tables])
    print(table)
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    out = results / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    raw["rows"] = [{"metric": r.metric, "unit": r.unit, "values": r.values} for r in rows]
    raw["table"] = table
    out.write_text(json.dumps(raw, indent=2) + "\n")
    print(f"\n(raw samples: {out.relative_to(REPO)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
