"""pyvirsh entry point: global options, command dispatch, multi-command strings, the shell.

Kept import-light on purpose: only the command table and the option binder load at start;
a command's module (and anything heavy it needs) is imported when the command runs.
"""

from __future__ import annotations

import os
import sys

from pyvirt.cli.ctl import CmdFailed, Ctl, QuitShell
from pyvirt.cli.registry import BY_NAME
from pyvirt.cli.spec import BoundArgs, UsageError, bind, split_commands

# `collections.abc` (for Callable) and `importlib` cost ~3 ms of every start-up between them.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

LIB_VERSION = "9.0.0"

_USAGE = """
                             virsh [options]... [<command_string>]
                             virsh [options]... <command> [args...]

  options:
    -c | --connect=URI      hypervisor connection URI
    -d | --debug=NUM        debug level [0-4]
    -e | --escape <char>    set escape sequence for console
    -h | --help             this help
    -k | --keepalive-interval=NUM
                            keepalive interval in seconds, 0 for disable
    -K | --keepalive-count=NUM
                            number of possible missed keepalive messages
    -l | --log=FILE         output logging to file
    -q | --quiet            quiet mode
    -r | --readonly         connect readonly
    -t | --timing           print timing information
    -v                      short version
    -V                      long version
         --version[=TYPE]   version, TYPE is short or long (default short)

  commands (non interactive mode):

"""

_WITH_ARG = {"c": "connect", "d": "debug", "e": "escape", "k": "keepalive-interval",
             "K": "keepalive-count", "l": "log"}
_LONG_WITH_ARG = set(_WITH_ARG.values())


class _Exit(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _parse_global(argv: list[str], ctl: Ctl) -> list[str]:
    """getopt("+:c:d:e:hk:K:l:qrtvV") plus the long names; stops at the first command word."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            return argv[i + 1:]
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            if name in _LONG_WITH_ARG and not eq:
                i += 1
                if i >= len(argv):
                    ctl.error(f"option '--{name}' requires an argument")
                    raise _Exit(1)
                val = argv[i]
            _global_opt(name, val, ctl)
        elif a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                ch = a[j]
                if ch in _WITH_ARG:
                    val = a[j + 1:]
                    if not val:
                        i += 1
                        if i >= len(argv):
                            ctl.error(f"option '-{ch}' requires an argument")
                            raise _Exit(1)
                        val = argv[i]
                    _global_opt(_WITH_ARG[ch], val, ctl)
                    break
                _global_opt({"h": "help", "q": "quiet", "r": "readonly", "t": "timing",
                             "v": "version", "V": "version-long"}.get(ch, "?" + ch), "", ctl)
                j += 1
        else:
            return argv[i:]
        i += 1
    return []


def _global_opt(name: str, val: str, ctl: Ctl) -> None:
    if name == "connect":
        ctl.uri = val
    elif name == "quiet":
        ctl.quiet = True
    elif name == "readonly":
        ctl.readonly = True
    elif name == "help":
        ctl.print(_USAGE)
        raise _Exit(0)
    elif name == "version" and val in ("", "short"):
        ctl.print(f"{LIB_VERSION}\n")
        raise _Exit(0)
    elif name in ("version", "version-long"):
        ctl.print(f"Virsh command line tool of libvirt {LIB_VERSION}\n"
                  "See web site at https://libvirt.org/\n\n")
        raise _Exit(0)
    elif name in ("debug", "escape", "keepalive-interval", "keepalive-count", "log", "timing"):
        pass  # accepted for compatibility; pyvirsh does not act on them yet
    else:
        opt = name.removeprefix("?")
        dash = "-" if name.startswith("?") else "--"
        ctl.error(f"unsupported option '{dash}{opt}'. See --help.")
        raise _Exit(1)


def parse_all(cmds: list[list[str]]) -> list[BoundArgs]:
    """Bind every command of a line first: like virsh, one bad command runs none of them."""
    out = []
    for words in cmds:
        if words[0].startswith("#"):
            continue  # a command named like a comment ('\#x', "'#x'") is skipped, as in virsh
        cmd = BY_NAME.get(words[0])
        if cmd is None:
            raise UsageError(f"unknown command: '{words[0]}'")
        out.append(bind(cmd, words[1:]))
    return out


def _all_light(rest: list[str]) -> bool:
    """Whether the command line holds only light reads (CmdDef.light); anything odd (no
    command: the shell; an unknown word) is not light."""
    if not rest:
        return False
    try:
        cmds = split_commands(rest[0]) if len(rest) == 1 else [rest]
    except UsageError:
        return False
    return bool(cmds) and all((c := BY_NAME.get(words[0])) is not None and c.light
                              for words in cmds)


def run_command(ctl: Ctl, args: BoundArgs) -> bool:
    """Run one bound command; print its output or errors; True on success."""
    cmd = args.cmd
    modname = f"pyvirt.cli.{cmd.module}"
    __import__(modname)
    mod = sys.modules[modname]
    func: Callable[[Ctl, BoundArgs], None] = getattr(mod, cmd.func)
    ok = True
    try:
        func(ctl, args)
    except CmdFailed as e:
        for line in e.lines:
            ctl.error(line)
        ok = False
    except UsageError as e:  # option values checked while the command runs (numbers)
        ctl.error(str(e))
        ok = False
    # virsh ends every command's output with an empty line unless quiet; echo is exempt
    # so that scripts can print exact text.
    if cmd.name != "echo" and not ctl.skip_separator:
        ctl.print_extra("\n")
    ctl.skip_separator = False
    return ok


def run_line(ctl: Ctl, cmds: list[list[str]]) -> bool:
    """Parse then run a command line; the result is the last command's."""
    try:
        bound = parse_all(cmds)
    except UsageError as e:
        ctl.error(str(e))
        return False
    ok = True
    for args in bound:
        ok = run_command(ctl, args)
    return ok


def shell(ctl: Ctl) -> int:
    tty = sys.stdin.isatty()
    ctl.print_extra("Welcome to virsh, the virtualization interactive terminal.\n\n"
                    "Type:  'help' for help with commands\n"
                    "       'quit' to quit\n\n")
    prompt = "virsh # " if os.geteuid() == 0 else "virsh $ "
    ok = True
    while True:
        try:
            if tty:
                import readline  # noqa: F401  (line editing, history)

                line = input(prompt)
            else:
                raw = sys.stdin.readline()
                if not raw:
                    ctl.print(prompt)
                    raise EOFError
                line = raw.rstrip("\n")
                # readline echoes what it reads when stdin is not a terminal; so do we.
                ctl.print(f"{prompt}{line}\n")
        except EOFError:
            ctl.print("\n")
            break
        try:
            ok = run_line(ctl, split_commands(line))
        except UsageError as e:
            ctl.error(str(e))
            ok = False
        except QuitShell:
            ctl.print("\n")
            break
        ctl.out.flush()
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    """Run pyvirsh with ``argv`` (default: the process's) and return its exit status."""
    return _main(argv)[0]


def entry() -> None:
    """The ``pyvirsh`` console script and ``python -m pyvirt.cli``.

    After a line of light reads (nothing but the command table, the read view or the
    one-shot RPC client was loaded, and the connection is closed) the process ends with
    ``os._exit``: tearing down the interpreter and its modules costs ~2 ms, a tenth of a
    whole ``pyvirsh list``, and there is nothing left to release. Any other line exits
    normally so that asyncio, open files and atexit handlers are finished properly.
    """
    code, ctl = _main(None)
    # asyncio present means a line that looked light still needed the full driver or the
    # async client (a stale status file, a remote form the one-shot client does not take)
    if ctl.light and "asyncio" not in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _main(argv: list[str] | None) -> tuple[int, Ctl]:
    argv = sys.argv[1:] if argv is None else argv
    ctl = Ctl(uri=os.environ.get("VIRSH_DEFAULT_CONNECT_URI")
              or os.environ.get("LIBVIRT_DEFAULT_URI") or None)
    try:
        rest = _parse_global(argv, ctl)
        ctl.light = _all_light(rest)
        # virsh connects before reading any command; a failure ends it right there.
        try:
            ctl.connect()
        except CmdFailed as e:
            for line in e.lines:
                ctl.error(line)
            raise _Exit(1) from None
        if not rest:
            code = shell(ctl)
        else:
            # One word is a command string ("list; dominfo x"); several are one command's
            # argv, where ';' is just data.
            cmds = split_commands(rest[0]) if len(rest) == 1 else [rest]
            try:
                code = 0 if run_line(ctl, cmds) else 1
            except QuitShell:
                code = 0
    except _Exit as e:
        code = e.code
    except UsageError as e:
        ctl.error(str(e))
        code = 1
    except KeyboardInterrupt:
        code = 1
    finally:
        try:
            ctl.disconnect()
        except Exception:  # noqa: BLE001, S110  (closing must not mask the command's result)
            pass
    sys.stdout.flush()
    return code, ctl


if __name__ == "__main__":
    entry()
