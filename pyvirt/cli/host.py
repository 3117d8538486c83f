"""Host and connection commands: uri, version, hostname, capabilities, domcapabilities,
nodeinfo, and the shell's own quit/connect/help."""

from __future__ import annotations

from pyvirt.cli.ctl import CmdFailed, Ctl, QuitShell
from pyvirt.cli.fmt import kv
from pyvirt.cli.spec import BoundArgs


def _ver(v: int) -> str:
    return f"{v // 1_000_000}.{v // 1000 % 1000}.{v % 1000}"


def cmd_uri(ctl: Ctl, a: BoundArgs) -> None:
    ctl.print(f"{ctl.conn.uri()}\n")


def cmd_hostname(ctl: Ctl, a: BoundArgs) -> None:
    with ctl.failing("failed to get hostname"):
        ctl.print(f"{ctl.call(ctl.conn.get_hostname())}\n")


def cmd_version(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.main import LIB_VERSION

    drv = ctl.conn
    ctl.print(f"Compiled against library: libvirt {LIB_VERSION}\n")
    lib = ctl.call(drv.get_lib_version())
    ctl.print(f"Using library: libvirt {_ver(lib)}\n")
    ctl.print(f"Using API: {drv.type_name()} {_ver(lib)}\n")
    with ctl.failing("failed to get the hypervisor version"):
        hv = ctl.call(drv.get_version())
    ctl.print(f"Running hypervisor: {drv.type_name()} {_ver(hv)}\n")
    if a.flag("daemon"):
        ctl.print(f"Running against daemon: {_ver(lib)}\n")


def cmd_capabilities(ctl: Ctl, a: BoundArgs) -> None:
    with ctl.failing("failed to get capabilities"):
        xml = ctl.call(ctl.conn.get_capabilities())
    ctl.print(f"{xml}\n")


def cmd_domcapabilities(ctl: Ctl, a: BoundArgs) -> None:
    with ctl.failing("failed to get emulator capabilities"):
        xml = ctl.call(ctl.conn.get_domain_capabilities(
            a.get("emulatorbin"), a.get("arch"), a.get("machine"), a.get("virttype"), 0))
    ctl.print(f"{xml}\n")


def cmd_nodeinfo(ctl: Ctl, a: BoundArgs) -> None:
    with ctl.failing("failed to get node information"):
        info = ctl.call(ctl.conn.node_get_info())
    ctl.print(kv("CPU model:", info.model, 20) + kv("CPU(s):", info.cpus, 20)
              + kv("CPU frequency:", f"{info.mhz} MHz", 20)
              + kv("CPU socket(s):", info.sockets, 20)
              + kv("Core(s) per socket:", info.cores, 20)
              + kv("Thread(s) per core:", info.threads, 20)
              + kv("NUMA cell(s):", info.nodes, 20)
              + kv("Memory size:", f"{info.memory} KiB", 20))


def cmd_quit(ctl: Ctl, a: BoundArgs) -> None:
    raise QuitShell()


def cmd_connect(ctl: Ctl, a: BoundArgs) -> None:
    ctl.disconnect()
    name = a.get("name")
    if name is not None:
        ctl.uri = name
    ctl.readonly = a.flag("readonly")
    ctl.connect()


def cmd_help(ctl: Ctl, a: BoundArgs) -> None:
    from pyvirt.cli.registry import BY_NAME, COMMANDS

    name = a.get("command")
    if name is None:
        for c in COMMANDS:
            ctl.print(f"    {c.name:<18} {c.help}\n")
        return
    cmd = BY_NAME.get(name)
    if cmd is None:
        raise CmdFailed(f"command or command group '{name}' doesn't exist")
    ctl.print(f"  NAME\n    {cmd.name} - {cmd.help}\n")


_SHELL_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+./:@%^,=")


def _split_commas(word: str) -> list[str]:
    """--split: one line per comma-separated piece; ',,' stands for a literal comma."""
    pieces, cur, i = [], [], 0
    while i < len(word):
        if word[i] == ",":
            if word.startswith(",,", i):
                cur.append(",")
                i += 2
                continue
            pieces.append("".join(cur))
            cur = []
        else:
            cur.append(word[i])
        i += 1
    pieces.append("".join(cur))
    return pieces


def cmd_echo(ctl: Ctl, a: BoundArgs) -> None:
    words = list(a.argv)
    # --string/--str are spellings of the data argument; --hi is virsh's test alias for
    # --string=hello.
    for opt in ("string", "str"):
        v = a.get(opt)
        if v is not None:
            words.insert(0, v)
    if a.flag("hi"):
        words.insert(0, "hello")
    out = []
    for w in words:
        if a.flag("xml"):
            w = (w.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                 .replace("'", "&apos;").replace('"', "&quot;"))
        if a.flag("shell") and (not w or any(c not in _SHELL_SAFE for c in w)):
            w = "'" + w.replace("'", "'\\''") + "'"
        out.append(w)
    if a.flag("split"):
        text = "\n".join(p for w in out for p in _split_commas(w))
    else:
        text = " ".join(out)
    text = (a.get("prefix") or "") + text
    if a.flag("err"):
        ctl.error(text)
    else:
        ctl.print(text + "\n")
