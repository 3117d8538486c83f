"""Test-only reader of libvirt's XDR specification (remote_protocol.x).

Production code never reads the spec; tests use this to check that our hand-written
declarations in :mod:`pyvirt.remote.protocol` agree with it (numbers and field lists).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

TESTDATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "libvirt-testdata"
REMOTE_X = TESTDATA / "src" / "remote" / "remote_protocol.x"


@dataclass(frozen=True)
class XField:
    type: str
    name: str  # with "<>"/"[N]"/"*" markers stripped
    shape: str  # "", "var", "fixed", "opt"


@dataclass
class XSpec:
    procs: dict[str, int]
    structs: dict[str, list[XField]]


_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)


def parse(path: Path = REMOTE_X) -> XSpec:
    text = _COMMENT.sub("", path.read_text())
    procs = {m[1]: int(m[2]) for m in re.finditer(r"\b(REMOTE_PROC_\w+)\s*=\s*(\d+)", text)}
    structs: dict[str, list[XField]] = {}
    for m in re.finditer(r"struct\s+(\w+)\s*\{(.*?)\};", text, re.DOTALL):
        fields = []
        for decl in m[2].split(";"):
            decl = " ".join(decl.split())
            if not decl:
                continue
            typ, _, name = decl.rpartition(" ")
            shape = ""
            if "<" in name:
                shape, name = "var", name.split("<")[0]
            elif "[" in name:
                shape, name = "fixed", name.split("[")[0]
            if name.startswith("*"):
                shape, name = "opt", name[1:]
            if typ.endswith("*"):
                shape, typ = "opt", typ[:-1].strip()
            fields.append(XField(typ, name, shape))
        structs[m[1]] = fields
    return XSpec(procs, structs)
