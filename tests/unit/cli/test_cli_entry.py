"""The console entry (`pyvirsh`, `python -m pyvirt.cli`) ends light lines with os._exit:
output written through pipes must still arrive whole, and the status must be the command's."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DOM = ("<domain type='qemu'><name>d{i}</name><uuid>00000001-1111-2222-3333-00000000000{i}</uuid>"
       "<memory>65536</memory><os><type>hvm</type></os></domain>\n")


def _pyvirsh(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyvirt.cli", *argv], capture_output=True,
                          text=True, timeout=60, check=False)


def _root(tmp_path: Path, n: int) -> str:
    etc = tmp_path / "etc" / "qemu"
    etc.mkdir(parents=True)
    for i in range(n):
        (etc / f"d{i}.xml").write_text(DOM.format(i=i))
    return f"qemu:///embed?root={tmp_path}"


def test_light_line_output_arrives_whole_through_a_pipe(tmp_path: Path) -> None:
    uri = _root(tmp_path, 5)
    p = _pyvirsh("-c", uri, "list --all; domstate d3; domuuid d4")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert [ln.split()[1] for ln in lines[2:7]] == [f"d{i}" for i in range(5)]
    assert "shut off" in lines and "00000001-1111-2222-3333-000000000004" in lines
    assert p.stdout.endswith("\n\n")  # virsh's trailing separator survives the fast exit


def test_light_line_failure_keeps_its_status_and_message(tmp_path: Path) -> None:
    p = _pyvirsh("-c", _root(tmp_path, 1), "domstate", "nosuch")
    assert p.returncode == 1
    assert "error: failed to get domain 'nosuch'" in p.stderr


def test_heavy_line_exits_normally_with_its_status(tmp_path: Path) -> None:
    p = _pyvirsh("-c", _root(tmp_path, 1), "dominfo", "d0")
    assert p.returncode == 0, p.stderr
    assert "Name:           d0" in p.stdout
