"""Command declarations as data, and virsh's argument binding.

A command is a :class:`CmdDef`: its name, the module and function implementing it (imported
only when the command runs, to keep start-up light) and its options. Binding follows virsh:
``--opt value``, ``--opt=value``, bare words fill the positional options in order, and
booleans take no value.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final, Literal

    OptKindName = Literal["bool", "string", "int", "argv"]


class OptKind:
    """The kinds of option, as plain string constants.

    Not an ``Enum``: this module is imported on every pyvirsh start, and ``enum`` (with the
    ``functools`` and ``collections`` it pulls in) cost ~3 ms there, a sixth of a whole
    ``virsh list`` (docs/bench.md).
    """

    BOOL: Final = "bool"
    STRING: Final = "string"
    INT: Final = "int"
    ARGV: Final = "argv"  # every remaining bare word


# The records below are plain slotted classes rather than dataclasses: pyvirsh imports them
# on every start, and dataclasses' own import chain (inspect, ast, re) plus building the
# classes cost more than a whole `virsh list` (docs/bench.md). Treat them as immutable.
class OptDef:
    __slots__ = ("help", "kind", "name", "positional", "required")

    def __init__(self, name: str, kind: OptKindName = OptKind.STRING, positional: bool = False,
                 required: bool = False, help: str = "") -> None:
        self.name = name
        self.kind = kind
        self.positional = positional  # may be given as a bare word ("data" option in virsh)
        self.required = required
        self.help = help

    def __repr__(self) -> str:
        return f"OptDef({self.name!r}, {self.kind})"


class CmdDef:
    __slots__ = ("func", "help", "light", "module", "name", "needs_conn", "opts")

    def __init__(self, name: str, module: str, func: str, opts: tuple[OptDef, ...] = (),
                 help: str = "", needs_conn: bool = True, light: bool = False) -> None:
        self.name = name
        self.module = module  # implementing module under pyvirt.cli
        self.func = func
        self.opts = opts
        self.help = help
        self.needs_conn = needs_conn
        # Runs without asyncio, the driver interface or the XML model when it can: reads on
        # the QEMU driver's light read-only view (pyvirt.drivers.qemu.readonly) or on the
        # blocking one-shot client when a daemon socket serves the URI
        # (remote/syncclient.py; blockcommit/blockpull --wait through remote/syncjobs.py).
        # A line made only of such commands takes that path; anything else the full one.
        self.light = light

    def __repr__(self) -> str:
        return f"CmdDef({self.name!r})"


class UsageError(Exception):
    """A command line virsh refuses before running anything; the message is printed as is."""


class BoundArgs:
    __slots__ = ("argv", "cmd", "values")

    def __init__(self, cmd: CmdDef, values: dict[str, str | bool] | None = None,
                 argv: list[str] | None = None) -> None:
        self.cmd = cmd
        self.values: dict[str, str | bool] = {} if values is None else values
        self.argv: list[str] = [] if argv is None else argv

    def __repr__(self) -> str:
        return f"BoundArgs({self.cmd.name!r}, {self.values!r}, {self.argv!r})"

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
    argv_opt = next((o for o in cmd.opts if o.kind == OptKind.ARGV), None)
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
            if opt.kind == OptKind.BOOL:
                if eq:
                    raise UsageError(f"invalid '=' after option --{name}")
                out.values[name] = True
            else:
                if not eq:
                    i += 1
                    if i >= len(words):
                        raise UsageError(f"expected syntax: --{name} <{opt.kind}>")
                    val = words[i]
                if opt.kind == OptKind.ARGV:
                    out.argv.append(val)  # argv options repeat: --diskspec a --diskspec b
                elif name in out.values:
                    raise UsageError(f"option --{name} already seen")
                else:
                    out.values[name] = val
        else:
            target = next((o for o in positional if o.name not in out.values
                           and o.kind != OptKind.ARGV), None)
            if target is None and argv_opt is not None:
                out.argv.append(w)
            elif target is None:
                raise UsageError(f"unexpected data '{w}'")
            else:
                out.values[target.name] = w
        i += 1
    for o in cmd.opts:
        if o.required and o.name not in out.values and not (o.kind == OptKind.ARGV and out.argv):
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
