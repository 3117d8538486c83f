"""Import cost of pyvirt's heavy paths, this checkout beside a baseline checkout in one run.

    .venv/bin/python bench/heavyimports.py --baseline /tmp/base [--rounds 4] [--runs 8]

(``git worktree add /tmp/base <commit>`` makes the baseline; both are ``compileall``-ed
first: this environment sets PYTHONDONTWRITEBYTECODE, so a missing .pyc would be compiled
on every start.) Every command runs with the venv's interpreter and ``PYTHONPATH`` set to
its checkout, through the same ``python -c`` shim on both sides:

* ``import pyvirt.libvirt`` (what every API user pays), beside ``/usr/bin/python3 -c
  'import libvirt'`` (python3-libvirt) and both interpreters' ``-c pass``;
* the facade's first call: ``open('test:///default')``, ``listAllDomains()``, ``close()``
  (asyncio, the driver interface and the test driver load here), beside python3-libvirt
  doing the same against its own in-process test driver;
* ``pyvirsh -c qemu:///embed?root=DIR dominfo D`` and ``snapshot-list D`` (full QEMU driver);
* pyvirtd's start until its read-only socket accepts a connection, timed here (spawn to the
  first successful ``connect``, polled every 0.5 ms: there is no event to wait for from
  outside the process), with the daemon's own CPU time at that moment from /proc.

Whole-process commands go through ``hyperfine -N`` in interleaved rounds (hyperfine runs one
command's samples back to back, so a burst of other load lands on one command), pooled:
median and min wall time, mean user CPU. The daemon start is interleaved run by run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PY = str(REPO / ".venv" / "bin" / "python")
SYS_PY = "/usr/bin/python3"
DOMAIN_XML = ("<domain type='qemu'><name>hi1</name><memory unit='MiB'>64</memory>"
              "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>")
OPEN_LIST = "import {mod} as l; c = l.open('test:///default'); c.listAllDomains(); c.close()"
PYVIRSH = "import sys; sys.argv = ['pyvirsh'] + sys.argv[1:]; from pyvirt.cli.main import entry; entry()"


def side(checkout: Path, code: str, *args: str) -> str:
    # -C: ``python -c``/``-m`` put the working directory first on sys.path, ahead of PYTHONPATH
    argv = ["env", "-C", str(checkout), f"PYTHONPATH={checkout}", PY, "-c", code, *args]
    return " ".join(shlex.quote(a) for a in argv)


def hyperfine(cmds: dict[str, str], rounds: int, runs: int) -> dict[str, dict[str, float]]:
    times: dict[str, list[float]] = {k: [] for k in cmds}
    users: dict[str, list[float]] = {k: [] for k in cmds}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "h.json"
        for _ in range(rounds):
            argv = ["hyperfine", "-N", "-w", "2", "-r", str(runs), "--export-json", str(out)]
            for name, cmd in cmds.items():
                argv += ["-n", name, cmd]
            subprocess.run(argv, check=True, capture_output=True, cwd=tempfile.gettempdir())
            for res in json.loads(out.read_text())["results"]:
                times[res["command"]] += res["times"]
                users[res["command"]].append(res["user"])
    return {k: {"median": statistics.median(v) * 1e3, "min": min(v) * 1e3,
                "user": statistics.mean(users[k]) * 1e3} for k, v in times.items()}


def daemon_start(checkout: Path) -> tuple[float, float]:
    """Wall ms from spawn until the ro socket accepts; the daemon's CPU ms by then."""
    with tempfile.TemporaryDirectory(prefix="hid") as root:
        sock = Path(root) / "run" / "libvirt-sock-ro"
        env = dict(os.environ, PYTHONPATH=str(checkout))
        t0 = time.perf_counter()
        proc = subprocess.Popen([PY, "-m", "pyvirt.daemon", "--root", root], env=env, cwd=checkout,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while True:
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect(str(sock))
                    break
                except OSError:
                    if proc.poll() is not None:
                        raise RuntimeError(f"pyvirtd exited with {proc.returncode}") from None
                    time.sleep(0.0005)
                finally:
                    s.close()
            wall = (time.perf_counter() - t0) * 1e3
            stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(stat[11]) + int(stat[12])) * 1e3 / os.sysconf("SC_CLK_TCK")
        finally:
            proc.terminate()
            proc.wait()
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--daemon-runs", type=int, default=20)
    ap.add_argument("--daemon-only", action="store_true", help="only the pyvirtd start rows")
    a = ap.parse_args()
    base = a.baseline.resolve()
    for d in (REPO, base):
        subprocess.run([PY, "-m", "compileall", "-q", str(d / "pyvirt")], check=True)
    embed = Path(tempfile.mkdtemp(prefix="hiembed"))
    xml = embed / "d.xml"
    xml.write_text(DOMAIN_XML)
    uri = f"qemu:///embed?root={embed}"
    subprocess.run([PY, "-c", PYVIRSH, "-c", uri, "define", str(xml)], check=True, capture_output=True,
                   env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=REPO)
    load = os.getloadavg()[0]
    print(f"# {time.strftime('%H:%M:%S')} load {load:.1f}; new = {REPO}, base = {base}")
    groups = {
        "import": {
            "venv python -c pass": f"{PY} -c pass",
            "new: import pyvirt.libvirt": side(REPO, "import pyvirt.libvirt"),
            "base: import pyvirt.libvirt": side(base, "import pyvirt.libvirt"),
            "/usr/bin/python3 -c pass": f"{SYS_PY} -c pass",
            "python3-libvirt: import libvirt": f"{SYS_PY} -c 'import libvirt'",
        },
        "open+list": {
            "new: open(test:///default)+listAllDomains": side(REPO, OPEN_LIST.format(mod="pyvirt.libvirt")),
            "base: open(test:///default)+listAllDomains": side(base, OPEN_LIST.format(mod="pyvirt.libvirt")),
            "python3-libvirt: same": f"{SYS_PY} -c {shlex.quote(OPEN_LIST.format(mod='libvirt'))}",
        },
        "pyvirsh embed": {
            "new: pyvirsh dominfo": side(REPO, PYVIRSH, "-c", uri, "dominfo", "hi1"),
            "base: pyvirsh dominfo": side(base, PYVIRSH, "-c", uri, "dominfo", "hi1"),
            "new: pyvirsh snapshot-list": side(REPO, PYVIRSH, "-c", uri, "snapshot-list", "hi1"),
            "base: pyvirsh snapshot-list": side(base, PYVIRSH, "-c", uri, "snapshot-list", "hi1"),
        },
    }
    for title, cmds in ({} if a.daemon_only else groups).items():
        print(f"\n## {title}: median (min) wall ms, mean user CPU ms")
        for name, r in hyperfine(cmds, a.rounds, a.runs).items():
            print(f"{name:48s} {r['median']:7.1f} ({r['min']:6.1f})  user {r['user']:6.1f}")
    samples: dict[str, list[tuple[float, float]]] = {"new": [], "base": []}
    for _ in range(a.daemon_runs):
        samples["new"].append(daemon_start(REPO))
        samples["base"].append(daemon_start(base))
    print("\n## pyvirtd start until the ro socket accepts: median (min) wall ms, median (min) CPU ms")
    for name, v in samples.items():
        w, c = [x[0] for x in v], [x[1] for x in v]
        print(f"{name + ': pyvirtd --root':48s} {statistics.median(w):7.1f} ({min(w):6.1f})  "
              f"cpu {statistics.median(c):6.1f} ({min(c):5.1f})")
    print(f"# end {time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}")
    subprocess.run(["rm", "-rf", str(embed)], check=False)


if __name__ == "__main__":
    main()
