"""The import direction of docs/architecture.md, enforced with ast over pyvirt/**.

Every module of the package is one test case: its ``import`` / ``from ... import`` lines
(relative ones resolved, TYPE_CHECKING blocks and function-local imports included, because
a lazy upward import is still an upward dependency) must not reach a layer above it.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

PKG_ROOT = Path(__file__).resolve().parents[2] / "pyvirt"

# layer -> the pyvirt subpackages/modules it must never import.
FORBIDDEN: dict[str, frozenset[str]] = {
    "conf": frozenset({"drivers", "rpc", "remote", "daemon", "cli", "aio", "libvirt",
                       "_compat"}),
    "drivers": frozenset({"rpc", "remote", "daemon", "cli", "aio", "libvirt", "_compat"}),
    "rpc": frozenset({"drivers", "remote", "daemon", "cli", "aio", "libvirt", "_compat"}),
    "remote": frozenset({"daemon", "cli", "libvirt", "_compat"}),
    # the asyncio API sits under the sync facade (libvirt.py + its _compat helpers)
    "aio": frozenset({"daemon", "cli", "libvirt", "_compat"}),
}
# The leaves: they may only import each other.
LEAVES = frozenset({"errors", "enums", "uri"})

# Documented exceptions: (importing module, imported top-level layer) -> why it is fine.
ALLOWED: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    target: str  # absolute dotted name, e.g. "pyvirt.drivers.qemu"
    line: int


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG_ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, modname: str, is_package: bool) -> list[Import]:
    """Every pyvirt-internal import of a module, as absolute dotted names."""
    found: list[Import] = []
    package = modname if is_package else modname.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [Import(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts)
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            # "from pyvirt import drivers" imports the subpackage: count the names too
            if mod == "pyvirt":
                found += [Import(f"pyvirt.{a.name}", node.lineno) for a in node.names]
            else:
                found.append(Import(mod, node.lineno))
    return [i for i in found if i.target == "pyvirt" or i.target.startswith("pyvirt.")]


def layer_of(modname: str) -> str:
    parts = modname.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(modname: str, imports: list[Import]) -> list[str]:
    layer = layer_of(modname)
    bad: list[str] = []
    for imp in imports:
        target = layer_of(imp.target)
        if target == layer or (modname, target) in ALLOWED:
            continue
        if layer in LEAVES:
            wrong = target not in LEAVES
        else:
            wrong = target in FORBIDDEN.get(layer, frozenset())
        if wrong:
            bad.append(f"{modname}:{imp.line} imports {imp.target} ({layer} -> {target})")
    return bad


MODULES = sorted(PKG_ROOT.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG_ROOT.parent)))
def test_import_direction(path: Path) -> None:
    modname = module_name(path)
    found = imports_of(path.read_text(), modname, path.name == "__init__.py")
    assert violations(modname, found) == []


def test_checker_sees_upward_imports() -> None:
    # The rule engine itself must be able to fail, or the cases above prove nothing.
    src = (
        "from __future__ import annotations\n"
        "from typing import TYPE_CHECKING\n"
        "from ..drivers.qemu import driver\n"
        "import pyvirt.cli.main\n"
        "from pyvirt import libvirt, errors\n"
        "if TYPE_CHECKING:\n"
        "    from pyvirt.aio import Connection\n"
        "def f() -> None:\n"
        "    from .. import rpc\n"
        "from .xmlmodel import Field\n"
    )
    found = imports_of(src, "pyvirt.conf.domain", is_package=False)
    targets = [i.target for i in found]
    assert "pyvirt.drivers.qemu" in targets and "pyvirt.conf.xmlmodel" in targets
    bad = violations("pyvirt.conf.domain", found)
    assert sorted(b.split(" imports ")[1].split()[0] for b in bad) == [
        "pyvirt.aio", "pyvirt.cli.main", "pyvirt.drivers.qemu", "pyvirt.libvirt", "pyvirt.rpc",
    ]
    assert violations("pyvirt.errors", imports_of("from . import enums\nfrom .conf import x\n",
                                                  "pyvirt.errors", False)) == [
        "pyvirt.errors:2 imports pyvirt.conf (errors -> conf)"
    ]
    assert violations("pyvirt.cli.main", imports_of("import pyvirt.drivers.qemu\n",
                                                    "pyvirt.cli.main", False)) == []


def test_package_is_found() -> None:
    assert any(p.name == "errors.py" for p in MODULES), f"no pyvirt sources under {PKG_ROOT}"
