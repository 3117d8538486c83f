"""pyvirsh net-* commands (and screenshot), declared as data (NETWORK_COMMANDS, read by the
registry at every start-up, so this module stays tiny); implementations in network_impl."""

from __future__ import annotations

from pyvirt.cli.spec import CmdDef, OptDef, OptKind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

B: Final = OptKind.BOOL
I: Final = OptKind.INT
_M = "network_impl"  # implementations, imported when a command runs


def _net(help: str = "network name or uuid") -> OptDef:
    return OptDef("network", positional=True, required=True, help=help)


def _file() -> tuple[OptDef, OptDef]:
    return (OptDef("file", positional=True, required=True, help="file containing an XML network description"),
            OptDef("validate", B))


NETWORK_COMMANDS: tuple[CmdDef, ...] = (
    CmdDef("net-list", _M, "cmd_net_list", (
        OptDef("inactive", B), OptDef("all", B), OptDef("persistent", B), OptDef("transient", B),
        OptDef("autostart", B), OptDef("no-autostart", B), OptDef("uuid", B), OptDef("name", B),
        OptDef("table", B)), "list networks"),
    CmdDef("net-info", _M, "cmd_net_info", (_net(),), "network information"),
    CmdDef("net-dumpxml", _M, "cmd_net_dumpxml", (_net(), OptDef("inactive", B), OptDef("xpath"),
                                                  OptDef("wrap", B)), "network information in XML"),
    CmdDef("net-define", _M, "cmd_net_define", _file(), "define an inactive persistent virtual network or "
           "modify an existing persistent one from an XML file"),
    CmdDef("net-create", _M, "cmd_net_create", _file(), "create a network from an XML file"),
    CmdDef("net-start", _M, "cmd_net_start", (_net(),), "start a (previously defined) inactive network"),
    CmdDef("net-destroy", _M, "cmd_net_destroy", (_net(),), "destroy (stop) a network"),
    CmdDef("net-undefine", _M, "cmd_net_undefine", (_net(),), "undefine a persistent network"),
    CmdDef("net-autostart", _M, "cmd_net_autostart", (_net(), OptDef("disable", B)), "autostart a network"),
    CmdDef("net-uuid", _M, "cmd_net_uuid", (_net("network name"),), "convert a network name to network UUID"),
    CmdDef("net-name", _M, "cmd_net_name", (_net("network uuid"),), "convert a network UUID to network name"),
    CmdDef("screenshot", _M, "cmd_screenshot", (
        OptDef("domain", positional=True, required=True, help="domain name, id or uuid"),
        OptDef("file"), OptDef("screen", I)),
        "take a screenshot of a current domain console and store it into a file"),
)
