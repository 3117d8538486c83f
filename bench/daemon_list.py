"""``list --all`` through a daemon, pyvirsh beside virsh in one hyperfine run (bench/run.py's
``daemon-list`` section; ``--skip daemon-list`` leaves it out).

A throw-away ``pyvirtd --root DIR`` (the venv's, so nothing touches /run/pyvirt) gets
``n_domains`` defined domains through pyvirt's libvirt-python facade; then ``hyperfine -N``
runs, in a few interleaved rounds pooled together:

* ``pyvirsh -c qemu+unix:///system?socket=DIR/run/libvirt-sock list --all`` (the blocking
  one-shot client, pyvirt/remote/syncclient.py),
* ``virsh`` with the same URI (libvirt's client against our daemon),
* ``virsh -c qemu:///system list --all`` (libvirt's client against libvirtd; whatever
  domains libvirtd holds, counted in the output, since the oracle is shared),
* ``python -c pass`` (the interpreter's own floor).

Reported per command: median and min wall time and mean user CPU (the steadier figure on a
loaded machine). The ratio that issue 3 targets is pyvirsh -> pyvirtd over
virsh -> libvirtd (<= 1.3x).
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
DOMAIN_XML = """<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>65536</memory>
  <os><type arch='x86_64'>hvm</type></os>
</domain>
"""


def _wait_for_socket(path: Path, proc: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Until the daemon accepts a connection (it listens once its drivers are up)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"pyvirtd exited with {proc.returncode} before listening")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            try:
                s.connect(str(path))
                return
            except OSError:
                pass
        time.sleep(0.05)  # no readiness notification from pyvirtd to wait on instead
    raise RuntimeError(f"pyvirtd did not listen on {path} within {timeout} s")


def _stats(rounds: list[dict[str, Any]]) -> dict[str, float]:
    """One command's samples pooled over the rounds (user/system: hyperfine's per-run means,
    weighted by the runs of each round)."""
    times = [t * 1000 for r in rounds for t in r["times"]]
    n = [len(r["times"]) for r in rounds]
    return {"median_ms": statistics.median(times), "min_ms": min(times),
            "user_ms": sum(float(r["user"]) * k for r, k in zip(rounds, n)) / sum(n) * 1000,
            "system_ms": sum(float(r["system"]) * k for r, k in zip(rounds, n)) / sum(n) * 1000}


def _count_rows(argv: list[str]) -> int:
    """Domains in a ``list --all`` table (rows under the dashes)."""
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=60).stdout
    lines = out.splitlines()
    dash = next(i for i, ln in enumerate(lines) if ln.startswith("---"))
    return sum(1 for ln in lines[dash + 1:] if ln.strip())


def measure(workdir: Path, n_domains: int = 5, runs: int = 40, warmup: int = 3,
            libvirt: bool = True, rounds: int = 4) -> dict[str, Any]:
    """Run the comparison; returns labelled stats, the commands and the domain counts."""
    bindir = Path(sys.executable).parent
    pyvirtd, pyvirsh = bindir / "pyvirtd", bindir / "pyvirsh"
    virsh = shutil.which("virsh")
    if not pyvirtd.exists() or not pyvirsh.exists():
        raise RuntimeError(f"pyvirtd/pyvirsh not installed next to {sys.executable}")
    if virsh is None or shutil.which("hyperfine") is None:
        raise RuntimeError("virsh and hyperfine are needed")
    # PYTHONDONTWRITEBYTECODE is set on these machines: a module edited since the last
    # compile would be compiled again in every pyvirsh run of the measurement.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(HERE.parent / "pyvirt")],
                   check=False, stdout=subprocess.DEVNULL)
    root = workdir / "pyvirtd"
    sock = root / "run" / "libvirt-sock"
    uri = f"qemu+unix:///system?socket={sock}"
    log = (workdir / "pyvirtd.log").open("wb")
    proc = subprocess.Popen([str(pyvirtd), "--root", str(root), "--no-reattach"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_for_socket(sock, proc)
        template = workdir / "dlist.xml"
        template.write_text(DOMAIN_XML)
        subprocess.run([sys.executable, str(WORKER), "define", "--api", "pyvirt.libvirt",
                        "--uri", uri, "--xml", str(template), "--prefix", "bench-dlist-",
                        "--count", str(n_domains)], check=True, capture_output=True, timeout=300)
        cmds = {
            "pyvirsh -> pyvirtd": [str(pyvirsh), "-c", uri, "list", "--all"],
            "virsh -> pyvirtd": [virsh, "-c", uri, "list", "--all"],
        }
        if libvirt:
            cmds["virsh -> libvirtd"] = [virsh, "-c", "qemu:///system", "list", "--all"]
        cmds["python -c pass"] = [sys.executable, "-c", "pass"]
        counts = {label: _count_rows(argv) for label, argv in cmds.items()
                  if label != "python -c pass"}
        # hyperfine runs each command's samples back to back; on a shared machine a burst of
        # someone else's work then lands on one command only. Several short rounds
        # interleave the commands, and the samples are pooled.
        per_round = max(1, runs // rounds)
        t = time.strftime("%H:%M:%S", time.gmtime())
        load = os.getloadavg()
        samples: dict[str, list[dict[str, Any]]] = {label: [] for label in cmds}
        for i in range(rounds):
            out = workdir / f"daemon-list-{i}.json"
            hf = ["hyperfine", "-N", "-w", str(warmup if i == 0 else 1), "-r", str(per_round),
                  "--style", "none", "--export-json", str(out)]
            for label, argv in cmds.items():
                hf += ["-n", label, shlex.join(argv)]
            subprocess.run(hf, check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=1800)
            for r in json.loads(out.read_text())["results"]:
                samples[r["command"]].append(r)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    stats = {label: _stats(rs) for label, rs in samples.items()}
    return {"when_utc": t, "load": load, "runs": per_round * rounds, "rounds": rounds,
            "domains": counts,
            "commands": {label: argv for label, argv in cmds.items()}, "stats": stats}


def table(res: dict[str, Any]) -> str:
    stats: dict[str, dict[str, float]] = res["stats"]
    base = stats.get("virsh -> libvirtd")
    lines = [f"list --all through a daemon, same run at {res['when_utc']} UTC "
             f"(load {res['load'][0]:.2f}, {res['runs']} runs in {res['rounds']} rounds; domains: "
             + ", ".join(f"{k} {v}" for k, v in res["domains"].items()) + ")",
             f"{'command':<20} {'median':>8} {'min':>8} {'user':>8} {'vs virsh->libvirtd':>20}"]
    for label, s in stats.items():
        ratio = (f"{s['median_ms'] / base['median_ms']:.2f}x (min {s['min_ms'] / base['min_ms']:.2f}x)"
                 if base else "-")
        lines.append(f"{label:<20} {s['median_ms']:>6.1f}ms {s['min_ms']:>6.1f}ms "
                     f"{s['user_ms']:>6.1f}ms {ratio:>20}")
    return "\n".join(lines)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory(prefix="pyvirt-dlist-", dir="/var/tmp") as d:
        r = measure(Path(d))
    print(table(r))
