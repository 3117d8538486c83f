#!/usr/bin/env python3
"""Remote-protocol throughput: pyvirtd beside libvirtd, same C client (python3-libvirt).

Run with the system python (it needs python3-libvirt)::

    /usr/bin/python3 bench/rpc_calls.py [--seconds 3]

It starts a pyvirtd (``--root`` in a temp dir) from this checkout's venv, and measures on
both daemons, through ``test+unix:///...?socket=...``:

* lookupByName('test') + info() calls/s with 1, 4 and 16 client connections (threads;
  the C library releases the GIL while it waits on the socket);
* listAllDomains() median time with 1000 domains (a test:///PATH.xml node file, so the
  libvirtd side is private to this run);
* ``virsh list --all`` wall time through each daemon (median of 20 runs).

Figures are for notes, never for pass/fail.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import libvirt  # type: ignore[import-not-found]

REPO = Path(__file__).resolve().parents[1]
VENV_PY = REPO / ".venv" / "bin" / "python"
LIBVIRTD_SOCK = "/var/run/libvirt/libvirt-sock"


def calls_per_s(uri: str, clients: int, seconds: float) -> float:
    counts = [0] * clients

    def worker(i: int) -> None:
        c = libvirt.open(uri)
        end = time.monotonic() + seconds
        n = 0
        while time.monotonic() < end:
            c.lookupByName("test").info()
            n += 2
        counts[i] = n
        c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


def list_all_ms(uri: str, runs: int = 30) -> float:
    c = libvirt.open(uri)
    c.listAllDomains()
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        c.listAllDomains()
        ts.append(time.perf_counter() - t0)
    c.close()
    return statistics.median(ts) * 1000


def virsh_ms(uri: str, runs: int = 20) -> float:
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(["virsh", "-c", uri, "list", "--all"], capture_output=True, check=True)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1000


def node_file(path: Path, n: int) -> None:
    doms = "".join(
        f"<domain type='test'><name>bench-{i}</name><uuid>{uuid.uuid5(uuid.NAMESPACE_DNS, str(i))}</uuid>"
        "<memory>65536</memory><vcpu>1</vcpu><os><type>hvm</type></os></domain>"
        for i in range(n)
    )
    path.write_text(f"<node>{doms}</node>")
    path.chmod(0o644)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pyvirt-bench-") as tmp:
        root = Path(tmp) / "root"
        node = Path(tmp) / "node1000.xml"
        node_file(node, 1000)
        os.chmod(tmp, 0o755)
        daemon = subprocess.Popen([str(VENV_PY), "-m", "pyvirt.daemon", "--root", str(root), "--no-reattach"],
                                  cwd=REPO)  # fmt: skip
        try:
            sock = root / "run" / "libvirt-sock"
            end = time.monotonic() + 10
            while not sock.exists() and time.monotonic() < end:
                time.sleep(0.05)
            sides = {"pyvirtd": str(sock)}
            if os.access(LIBVIRTD_SOCK, os.W_OK):
                sides["libvirtd"] = LIBVIRTD_SOCK
            for name, s in sides.items():
                base = f"test+unix:///default?socket={s}"
                for n in (1, 4, 16):
                    print(f"{name:9} lookupByName+info, {n:2} clients: {calls_per_s(base, n, args.seconds):8.0f} calls/s")
                print(f"{name:9} listAllDomains(1000): {list_all_ms(f'test+unix://{node}?socket={s}'):.2f} ms")
                print(f"{name:9} virsh list --all: {virsh_ms(base):.1f} ms")
        finally:
            daemon.terminate()
            daemon.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
