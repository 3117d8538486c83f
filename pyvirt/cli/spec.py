"""Command declarations as data, and virsh's argument binding.

A command is a :class:`CmdDef`: its name, the module and function implementing it (imported
only when the command runs, to keep start-up light) and its options. Binding follows virsh:
``--opt value``, ``--opt=value``, bare words fill the positional options in order, and
booleans take no value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class OptKind(Enum):
    BOOL = "bool"
    STRING = "string"
    INT = "int"
    ARGV = "argv"  # every remaining bare word


@dataclass(frozen=True)
class OptDef:
    name: str
    kind: OptKind = OptKind.STRING
    positional: bool = False  # may be given as a bare word ("data" option in virsh)
    required: bool = False
    help: str = ""


@dataclass(frozen=True)
class CmdDef:
    name: str
    module: str  # implementing module under pyvirt.cli
    func: str
    opts: tuple[OptDef, ...] = ()
    help: str = ""
    needs_conn: bool = True
    # Served by the QEMU driver's light read-only view (pyvirt.drivers.qemu.readonly): a
    # line made only of such commands runs without asyncio, QMP or the XML model.
    light: bool = False


class UsageError(Exception):
    """A command line virsh refuses before running anything; the message is printed as is."""


@dataclass
class BoundArgs:
    cmd: CmdDef
    values: dict[str, str | bool] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name, False))

    def get(self, name: str) -> str | None:
        v = self.values.get(name)
        return v if isinstance(v, str) else None

    def req(self, name: str) -> str:
        v = self.values.get(name)
        assert isinstance(v, str), name  # bind() enforced required options
        return v

    def int(self, name: str) -> int | None:
        """A numeric option; like virsh, malformed values fail the command when it reads them."""
        v = self.get(name)
        if v is None:
            return None
        if not v.lstrip("-").isdigit():
            raise UsageError(f"Numeric value '{v}' for <{name}> option is malformed or out of "
                             "range")
        return int(v)


def bind(cmd: CmdDef, words: list[str]) -> BoundArgs:
    """Bind a command's words (after its name) to its options, as virsh does."""
    by_name = {o.name: o for o in cmd.opts}
    out = BoundArgs(cmd)
    positional = [o for o in cmd.opts if o.positional]
    argv_opt = next((o for o in cmd.opts if o.kind is OptKind.ARGV), None)
    data_only = False
    i = 0
    while i < len(words):
        w = words[i]
        if w == "--" and not data_only:
            data_only = True
        elif w.startswith("--") and len(w) > 2 and not data_only:
            name, eq, val = w[2:].partition("=")
            opt = by_name.get(name)
            if opt is None:
                raise UsageError(f"command '{cmd.name}' doesn't support option --{name}")
            if opt.kind is OptKind.BOOL:
                if eq:
                    raise UsageError(f"invalid '=' after option --{name}")
                out.values[name] = True
            else:
                if not eq:
                    i += 1
                    if i >= len(words):
                        raise UsageError(f"expected syntax: --{name} <{opt.kind.value}>")
                    val = words[i]
                if name in out.values:
                    raise UsageError(f"option --{name} already seen")
                out.values[name] = val
        else:
            target = next((o for o in positional if o.name not in out.values
                           and o.kind is not OptKind.ARGV), None)
            if target is None and argv_opt is not None:
                out.argv.append(w)
            elif target is None:
                raise UsageError(f"unexpected data '{w}'")
            else:
                out.values[target.name] = w
        i += 1
    for o in cmd.opts:
        if o.required and o.name not in out.values and not (o.kind is OptKind.ARGV and out.argv):
            raise UsageError(f"command '{cmd.name}' requires <{o.name}> option")
    return out


def split_commands(line: str) -> list[list[str]]:
    """Tokenize a virsh command string: words, quotes, backslashes, ';' and newlines split."""
    cmds: list[list[str]] = []
    cur: list[str] = []
    word: list[str] | None = None
    quote: str | None = None
    i = 0
    while i < len(line):
        c = line[i]
        if c == "\\" and quote != "'" and line.startswith("\n", i + 1):
            i += 2  # backslash-newline continues the line (outside single quotes)
            continue
        if quote:
            if c == quote:
                quote = None
            elif c == "\\" and quote == '"' and i + 1 < len(line):
                i += 1
                word = (word or []) + [line[i]]
            else:
                word = (word or []) + [c]
        elif c in "'\"":
            quote = c
            word = word or []
        elif c == "\\" and i + 1 < len(line):
            i += 1
            word = (word or []) + [line[i]]
        elif c in " \t":
            if word is not None:
                cur.append("".join(word))
                word = None
        elif c in ";\n":
            if word is not None:
                cur.append("".join(word))
                word = None
            if cur:
                cmds.append(cur)
            cur = []
        elif c == "#" and word is None:
            # A comment runs to the end of the line.
            while i < len(line) and line[i] != "\n":
                i += 1
            continue
        else:
            word = (word or []) + [c]
        i += 1
    # An unbalanced quote runs to the end of the line; virsh accepts that too.
    if word is not None:
        cur.append("".join(word))
    if cur:
        cmds.append(cur)
    return cmds
