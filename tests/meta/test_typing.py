"""Whole-tree static checks: ``mypy --strict`` over pyvirt and ``ruff check``.

Marked ``lint`` (deselect locally with ``-m 'not lint'``); ``make test`` runs them. The tools
come from the project's venv, next to the interpreter running pytest.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.lint, pytest.mark.timeout(600)]


def _tool(name: str) -> Path:
    exe = BIN / name
    if not exe.exists():
        pytest.skip(f"{name} not installed in {BIN} (pip install -e '.[test]')")
    return exe


def test_mypy_strict_pyvirt() -> None:
    # pyproject.toml's [tool.mypy] sets strict = true and packages = ["pyvirt"]; pass
    # --strict anyway so the check cannot be loosened by an edit to the config alone.
    proc = subprocess.run([str(_tool("mypy")), "--strict", "-p", "pyvirt"], cwd=REPO, check=False,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-2000:]


def test_ruff_clean() -> None:
    proc = subprocess.run([str(_tool("ruff")), "check", "--no-cache", "pyvirt", "tests", "tools",
                           "bench", "examples"],
                          cwd=REPO, check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-2000:]
