"""pyvirsh's main() in process on test:///default, and its start-up weight."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyvirt.cli.main import main

REPO = Path(__file__).resolve().parents[3]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[str, str, int]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return out, err, code


def test_list_and_lifecycle(capsys: pytest.CaptureFixture[str]) -> None:
    out, err, code = run(capsys, "-c", "test:///default", "list --all; destroy test; list --all")
    assert code == 0 and err == ""
    assert out == (" Id   Name   State\n----------------------\n 1    test   running\n\n"
                   "Domain 'test' destroyed\n\n"
                   " Id   Name   State\n-----------------------\n -    test   shut off\n\n")


def test_error_lines_and_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    out, err, code = run(capsys, "-c", "test:///default", "suspend test; suspend test")
    assert code == 1
    assert out == "Domain 'test' suspended\n\n\n"
    assert err == ("error: Failed to suspend domain 'test'\n"
                   "error: internal error: domain 'test' not running\n")


def test_parse_error_runs_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    out, err, code = run(capsys, "-c", "test:///default", "destroy test; bogus")
    assert (out, err, code) == ("", "error: unknown command: 'bogus'\n", 1)


def test_quiet_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    out, _, code = run(capsys, "-q", "-c", "test:///default", "list", "--name")
    assert (out, code) == ("test\n", 0)
    out, _, code = run(capsys, "--version")
    assert (out, code) == ("9.0.0\n", 0)


def test_env_uri(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIBVIRT_DEFAULT_URI", "test:///default")
    monkeypatch.delenv("VIRSH_DEFAULT_CONNECT_URI", raising=False)
    assert run(capsys, "uri")[0] == "test:///default\n\n"


def test_list_path_stays_light() -> None:
    """No asyncio, lxml, socket or command modules other than the one used."""
    code = ("import sys, io; sys.stdout = io.StringIO(); from pyvirt.cli.main import main; "
            "main(['-c', 'test:///default', 'list --all']); sys.stdout = sys.__stdout__; "
            "print(' '.join(sorted(m for m in sys.modules)))")
    env = dict(os.environ, PYTHONPATH=str(REPO))
    mods = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env=env, check=True).stdout.split())
    assert "pyvirt.cli.dom_info" in mods
    for heavy in ("asyncio", "lxml", "lxml.etree", "socket", "xml.etree.ElementTree",
                  "pyvirt.cli.dom_lifecycle",
                  "pyvirt.cli.events", "pyvirt.drivers.qemu", "qemu"):
        assert heavy not in mods, heavy
