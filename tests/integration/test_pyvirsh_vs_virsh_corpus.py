"""libvirt's virsh conformance cases (tests/virshtestdata, libvirt 11.3.0) run through pyvirsh.

Cases come from MANIFEST/virshtest.tsv (the macro calls of libvirt's virshtest.c): scripts
(``.in`` file passed as one command string) and argv cases. A case is *covered* when every
command it uses is one pyvirsh implements. For each covered case:

* pyvirsh must match the installed virsh 9.0 byte for byte (our target version) — this is
  the assertion;
* the match with the 11.3.0 ``.out`` file is counted and printed; where 9.0 and 11.3 differ
  the 11.3 expectation cannot be met by a 9.0-compatible tool and is reported as such.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyvirt.cli.registry import BY_NAME
from pyvirt.cli.spec import split_commands

REPO = Path(__file__).resolve().parents[2]
EXTRA = REPO / ".." / "shared" / "libvirt-testdata" / "extra-libvirt-11.3.0"
TESTS = EXTRA / "tests"
DATA = TESTS / "virshtestdata"
TSV = TESTS / "MANIFEST" / "virshtest.tsv"
NODE_XML = (EXTRA / "examples" / "xml" / "test" / "testnode.xml").resolve()
VIRSH = shutil.which("virsh")

URIS = {"VIRSH_DEFAULT": "test:///default", "VIRSH_CUSTOM": f"test://{NODE_XML}"}


@dataclass(frozen=True)
class Case:
    name: str
    uri: str
    argv: tuple[str, ...]  # after "-c URI"
    filter: str | None
    commands: tuple[str, ...]

    @property
    def expected_path(self) -> Path:
        return DATA / f"{self.name}.out"


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)|(,)|(&\w+)|(\s+)')


def _c_args(text: str) -> list[str | None]:
    """The macro arguments: C string literals (adjacent ones joined), NULL, identifiers."""
    args: list[str | None] = []
    cur: str | None = None
    pending_ident: str | None = None
    for m in _TOKEN.finditer(text):
        lit, ident, comma, _ref, _ws = m.groups()
        if lit is not None:
            cur = (cur or "") + lit.encode().decode("unicode_escape")
        elif ident is not None:
            if ident == "abs_srcdir":
                cur = (cur or "") + str(TESTS.resolve())
            else:
                pending_ident = ident
        elif comma is not None:
            args.append(cur if cur is not None else pending_ident)
            cur, pending_ident = None, None
    args.append(cur if cur is not None else pending_ident)
    return args


def _command_names(argv: list[str]) -> list[str]:
    if not argv:
        return []
    # Global options (-q, -k0, -d0) come first; then either one string or argv words.
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "--":
        i += 1
    if i < len(argv) and argv[i] == "--":
        i += 1
    rest = argv[i:]
    if len(rest) == 1:
        try:
            return [c[0] for c in split_commands(rest[0]) if not c[0].startswith("#")]
        except Exception:  # noqa: BLE001 - an unparsable case is simply not covered
            return ["<unparsable>"]
    return [rest[0]] if rest else []


def load_cases() -> list[Case]:
    cases: list[Case] = []
    prefix, counter = "", 0
    for line in TSV.read_text().splitlines()[2:]:
        _lineno, macro, raw = line.split("\t", 2)
        args = _c_args(raw)
        if macro == "virTestCounterReset":
            prefix, counter = str(args[0]), 0
            continue
        if macro == "DO_TEST":
            counter += 1
            argv = [a or "" for a in args]
            cases.append(Case(f"{prefix}{counter}", URIS["VIRSH_DEFAULT"], tuple(argv), None,
                              tuple(_command_names(argv))))
        elif macro in ("DO_TEST_SCRIPT", "DO_TEST_SCRIPT_FULL", "DO_TEST_FULL"):
            name = str(args[0])
            rest = args[1:]
            if macro == "DO_TEST_SCRIPT_FULL":
                rest = rest[1:]  # the "expect failure" flag
            filt, uri_key, extra = rest[0], str(rest[1]), [a or "" for a in rest[2:]]
            if macro == "DO_TEST_FULL":
                argv = extra
            else:
                script = DATA / f"{name}.in"
                argv = extra + [script.read_text()] if script.exists() else extra
            cases.append(Case(name, URIS.get(uri_key, uri_key), tuple(argv), filt,
                              tuple(_command_names(argv))))
    return cases


def _run(tool: list[str], case: Case) -> str:
    env = {k: v for k, v in os.environ.items()
           if k not in ("LIBVIRT_DEFAULT_URI", "VIRSH_DEFAULT_CONNECT_URI")}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run([*tool, "-c", case.uri, *case.argv], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, env=env, timeout=60,
                       stdin=subprocess.DEVNULL, check=False)
    out = p.stdout
    if case.filter:
        key = case.filter.lstrip("\n")
        out = "".join(ln for ln in out.splitlines(keepends=True) if not ln.startswith(key))
    if p.returncode:
        out += f"\n## Exit code: {p.returncode}\n"
    return out


# pyvirsh has a help command, but not virsh's help texts: cases using it are not covered.
NOT_COVERED = frozenset({"help"})


def _covered(case: Case) -> bool:
    return bool(case.commands) and all(c in BY_NAME and c not in NOT_COVERED
                                       for c in case.commands) \
        and case.expected_path.exists()


ALL_CASES = load_cases() if TSV.exists() else []
COVERED = [c for c in ALL_CASES if _covered(c)]
PYVIRSH = [sys.executable, "-m", "pyvirt.cli"]


@pytest.mark.skipif(not TSV.exists(), reason=f"virsh test corpus absent at {TESTS}")
def test_corpus_pass_counts(capsys: pytest.CaptureFixture[str]) -> None:
    """Print how many cases we cover and how many match 11.3's expected output."""
    match_113 = []
    for case in COVERED:
        if _run(PYVIRSH, case) == case.expected_path.read_text():
            match_113.append(case.name)
    with capsys.disabled():
        print(f"\nvirshtestdata: {len(ALL_CASES)} cases, {len(COVERED)} use only pyvirsh "
              f"commands, {len(match_113)} match the 11.3.0 .out byte for byte")
        missed = sorted({c.name for c in COVERED} - set(match_113))
        if missed:
            print("  differ from 11.3.0 (see test_case_matches_virsh_9 for 9.0):",
                  ", ".join(missed))
    assert COVERED, "no covered cases: the corpus parser is broken"
    assert match_113, "no case matches the 11.3.0 expectations at all"


@pytest.mark.oracle
@pytest.mark.skipif(VIRSH is None, reason="the real virsh is not installed")
@pytest.mark.parametrize("case", COVERED, ids=lambda c: c.name)
def test_case_matches_virsh_9(case: Case) -> None:
    real = _run([VIRSH or "virsh"], case)
    ours = _run(PYVIRSH, case)
    assert ours == real
