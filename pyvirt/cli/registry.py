"""Every pyvirsh command, declared as data. Implementations are imported on first use."""

from __future__ import annotations

from pyvirt.cli.network import NETWORK_COMMANDS
from pyvirt.cli.spec import CmdDef, OptDef, OptKind
from pyvirt.cli.storage import STORAGE_COMMANDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

B: Final = OptKind.BOOL
I: Final = OptKind.INT


def _dom(help: str = "domain name, id or uuid") -> OptDef:
    return OptDef("domain", positional=True, required=True, help=help)


_L = "dom_lifecycle"
_I = "dom_info"
_H = "host"

COMMANDS: tuple[CmdDef, ...] = (
    # ---- domain listing and information
    CmdDef("list", _I, "cmd_list", (
        OptDef("inactive", B), OptDef("all", B), OptDef("transient", B),
        OptDef("persistent", B), OptDef("with-snapshot", B), OptDef("without-snapshot", B),
        OptDef("with-checkpoint", B), OptDef("without-checkpoint", B),
        OptDef("state-running", B), OptDef("state-paused", B), OptDef("state-shutoff", B),
        OptDef("state-other", B), OptDef("autostart", B), OptDef("no-autostart", B),
        OptDef("with-managed-save", B), OptDef("without-managed-save", B),
        OptDef("uuid", B), OptDef("name", B), OptDef("id", B), OptDef("table", B),
        OptDef("managed-save", B), OptDef("title", B)), "list domains", light=True),
    CmdDef("dominfo", _I, "cmd_dominfo", (_dom(),), "domain information"),
    CmdDef("domstate", _I, "cmd_domstate", (_dom(), OptDef("reason", B)), "domain state",
           light=True),
    CmdDef("domid", _I, "cmd_domid", (_dom("domain name or uuid"),), "convert a domain name or UUID to domain id", light=True),
    CmdDef("domname", _I, "cmd_domname", (_dom("domain id or uuid"),), "convert a domain id or UUID to domain name", light=True),
    CmdDef("domuuid", _I, "cmd_domuuid", (_dom("domain id or name"),), "convert a domain name or id to domain UUID", light=True),
    CmdDef("dumpxml", _I, "cmd_dumpxml", (
        _dom(), OptDef("inactive", B), OptDef("security-info", B), OptDef("update-cpu", B),
        OptDef("migratable", B), OptDef("xpath"), OptDef("wrap", B)), "domain information in XML"),
    CmdDef("domblklist", _I, "cmd_domblklist", (_dom(), OptDef("inactive", B), OptDef("details", B)),
           "list all domain blocks"),
    CmdDef("domiflist", _I, "cmd_domiflist", (_dom(), OptDef("inactive", B)),
           "list all domain virtual interfaces"),
    # ---- domain lifecycle
    CmdDef("define", _L, "cmd_define", (
        OptDef("file", positional=True, required=True), OptDef("validate", B)),
        "define (but don't start) a domain from an XML file"),
    CmdDef("undefine", _L, "cmd_undefine", (
        _dom(), OptDef("managed-save", B), OptDef("storage"), OptDef("remove-all-storage", B),
        OptDef("delete-storage-volume-snapshots", B), OptDef("wipe-storage", B),
        OptDef("snapshots-metadata", B), OptDef("checkpoints-metadata", B), OptDef("nvram", B),
        OptDef("keep-nvram", B), OptDef("tpm", B), OptDef("keep-tpm", B)), "undefine a domain"),
    CmdDef("create", _L, "cmd_create", (
        OptDef("file", positional=True, required=True), OptDef("console", B),
        OptDef("paused", B), OptDef("autodestroy", B), OptDef("pass-fds"), OptDef("validate", B)),
        "create a domain from an XML file"),
    CmdDef("start", _L, "cmd_start", (
        _dom("name of the inactive domain"), OptDef("console", B), OptDef("paused", B),
        OptDef("autodestroy", B), OptDef("bypass-cache", B), OptDef("force-boot", B),
        OptDef("pass-fds"), OptDef("reset-nvram", B)), "start a (previously defined) inactive domain"),
    CmdDef("shutdown", _L, "cmd_shutdown", (_dom(), OptDef("mode")), "gracefully shutdown a domain"),
    CmdDef("destroy", _L, "cmd_destroy", (_dom(), OptDef("graceful", B), OptDef("remove-logs", B)),
           "destroy (stop) a domain"),
    CmdDef("reboot", _L, "cmd_reboot", (_dom(), OptDef("mode")), "reboot a domain"),
    CmdDef("reset", _L, "cmd_reset", (_dom(),), "reset a domain"),
    CmdDef("suspend", _L, "cmd_suspend", (_dom(),), "suspend a domain"),
    CmdDef("resume", _L, "cmd_resume", (_dom(),), "resume a domain"),
    CmdDef("autostart", _L, "cmd_autostart", (_dom(), OptDef("disable", B)), "autostart a domain"),
    CmdDef("console", "console", "cmd_console", (
        _dom(), OptDef("devname"), OptDef("safe", B), OptDef("force", B)),
        "connect to the guest console"),
    # ---- host and connection
    CmdDef("uri", _H, "cmd_uri", (), "print the hypervisor canonical URI"),
    CmdDef("version", _H, "cmd_version", (OptDef("daemon", B),), "show version"),
    CmdDef("hostname", _H, "cmd_hostname", (), "print the hypervisor hostname"),
    CmdDef("capabilities", _H, "cmd_capabilities", (OptDef("xpath"), OptDef("wrap", B)), "capabilities"),
    CmdDef("domcapabilities", _H, "cmd_domcapabilities", (
        OptDef("virttype", positional=True), OptDef("emulatorbin"), OptDef("arch"),
        OptDef("machine"), OptDef("xpath"), OptDef("wrap", B)), "domain capabilities"),
    CmdDef("nodeinfo", _H, "cmd_nodeinfo", (), "node information"),
    # ---- events
    CmdDef("event", "events", "cmd_event", (
        OptDef("domain"), OptDef("event"), OptDef("all", B), OptDef("loop", B),
        OptDef("timeout", I), OptDef("list", B), OptDef("timestamp", B)), "Domain Events"),
    # ---- shell
    CmdDef("echo", _H, "cmd_echo", (
        OptDef("shell", B), OptDef("xml", B), OptDef("err", B), OptDef("split", B),
        OptDef("prefix"), OptDef("str"), OptDef("hi", B),
        OptDef("string", OptKind.ARGV, positional=True)),
        "echo arguments", needs_conn=False),
    CmdDef("quit", _H, "cmd_quit", (), "quit this interactive terminal", needs_conn=False),
    CmdDef("exit", _H, "cmd_quit", (), "quit this interactive terminal", needs_conn=False),
    CmdDef("connect", _H, "cmd_connect", (
        OptDef("name", positional=True), OptDef("readonly", B)), "(re)connect to hypervisor",
        needs_conn=False),
    CmdDef("help", _H, "cmd_help", (OptDef("command", positional=True),), "print help",
           needs_conn=False),
)

_S = "snapshot"
_SC = "snapshot_create"  # the two create commands: light (pyvirt/cli/snapshot_create.py)


def _snapname(required: bool = False) -> OptDef:
    return OptDef("snapshotname", positional=True, required=required, help="snapshot name")


COMMANDS += (
    # ---- snapshots (pyvirt/cli/snapshot.py, snapshot_create.py)
    CmdDef("snapshot-create", _SC, "cmd_snapshot_create", (
        _dom(), OptDef("xmlfile", positional=True), OptDef("redefine", B), OptDef("current", B),
        OptDef("no-metadata", B), OptDef("halt", B), OptDef("disk-only", B), OptDef("reuse-external", B),
        OptDef("quiesce", B), OptDef("atomic", B), OptDef("live", B), OptDef("validate", B)),
        "Create a snapshot from XML", light=True),
    CmdDef("snapshot-create-as", _SC, "cmd_snapshot_create_as", (
        _dom(), OptDef("name", positional=True), OptDef("description", positional=True),
        OptDef("print-xml", B), OptDef("no-metadata", B), OptDef("halt", B), OptDef("disk-only", B),
        OptDef("reuse-external", B), OptDef("quiesce", B), OptDef("atomic", B), OptDef("live", B),
        OptDef("validate", B), OptDef("memspec"), OptDef("diskspec", OptKind.ARGV, positional=True)),
        "Create a snapshot from a set of args", light=True),
    CmdDef("snapshot-list", _S, "cmd_snapshot_list", (
        _dom(), OptDef("parent", B), OptDef("roots", B), OptDef("leaves", B), OptDef("no-leaves", B),
        OptDef("metadata", B), OptDef("no-metadata", B), OptDef("inactive", B), OptDef("active", B),
        OptDef("disk-only", B), OptDef("internal", B), OptDef("external", B), OptDef("tree", B),
        OptDef("from"), OptDef("current", B), OptDef("descendants", B), OptDef("name", B),
        OptDef("topological", B)), "List snapshots for a domain"),
    CmdDef("snapshot-info", _S, "cmd_snapshot_info", (_dom(), _snapname(), OptDef("current", B)),
           "snapshot information"),
    CmdDef("snapshot-dumpxml", _S, "cmd_snapshot_dumpxml", (
        _dom(), _snapname(True), OptDef("security-info", B)), "Dump XML for a domain snapshot"),
    CmdDef("snapshot-current", _S, "cmd_snapshot_current", (
        _dom(), OptDef("name", B), OptDef("security-info", B), _snapname()),
        "Get or set the current snapshot"),
    CmdDef("snapshot-parent", _S, "cmd_snapshot_parent", (_dom(), _snapname(), OptDef("current", B)),
           "Get the name of the parent of a snapshot"),
    CmdDef("snapshot-edit", _S, "cmd_snapshot_edit", (
        _dom(), _snapname(), OptDef("current", B), OptDef("rename", B), OptDef("clone", B)),
        "edit XML for a snapshot"),
    CmdDef("snapshot-revert", _S, "cmd_snapshot_revert", (
        _dom(), _snapname(), OptDef("current", B), OptDef("running", B), OptDef("paused", B),
        OptDef("force", B), OptDef("reset-nvram", B)), "Revert a domain to a snapshot"),
    CmdDef("snapshot-delete", _S, "cmd_snapshot_delete", (
        _dom(), _snapname(), OptDef("current", B), OptDef("children", B), OptDef("children-only", B),
        OptDef("metadata", B)), "Delete a domain snapshot"),
)

_BJ = "blockjob"


def _path(help: str = "fully-qualified path of disk") -> OptDef:
    return OptDef("path", positional=True, required=True, help=help)


COMMANDS += (
    # ---- block jobs, block devices, save/restore (pyvirt/cli/blockjob.py)
    CmdDef("blockcommit", _BJ, "cmd_blockcommit", (
        _dom(), _path(), OptDef("bandwidth"), OptDef("base"), OptDef("shallow", B), OptDef("top"),
        OptDef("active", B), OptDef("delete", B), OptDef("wait", B), OptDef("verbose", B), OptDef("timeout", I),
        OptDef("pivot", B), OptDef("keep-overlay", B), OptDef("async", B), OptDef("keep-relative", B),
        OptDef("bytes", B)), "Start a block commit operation.", light=True),
    CmdDef("blockpull", _BJ, "cmd_blockpull", (
        _dom(), _path(), OptDef("bandwidth"), OptDef("base"), OptDef("wait", B), OptDef("verbose", B),
        OptDef("timeout", I), OptDef("async", B), OptDef("keep-relative", B), OptDef("bytes", B)),
        "Populate a disk from its backing image.", light=True),
    CmdDef("blockcopy", _BJ, "cmd_blockcopy", (
        _dom(), _path(), OptDef("dest", positional=True), OptDef("bandwidth"), OptDef("shallow", B),
        OptDef("reuse-external", B), OptDef("blockdev", B), OptDef("wait", B), OptDef("verbose", B),
        OptDef("timeout", I), OptDef("pivot", B), OptDef("finish", B), OptDef("async", B), OptDef("xml"),
        OptDef("format"), OptDef("granularity"), OptDef("buf-size"), OptDef("bytes", B),
        OptDef("transient-job", B), OptDef("synchronous-writes", B), OptDef("print-xml", B)),
        "Start a block copy operation."),
    CmdDef("blockjob", _BJ, "cmd_blockjob", (
        _dom(), _path(), OptDef("abort", B), OptDef("async", B), OptDef("pivot", B), OptDef("info", B),
        OptDef("raw", B), OptDef("bytes", B), OptDef("bandwidth", positional=True)),
        "Manage active block operations"),
    CmdDef("domblkinfo", _BJ, "cmd_domblkinfo", (
        _dom(), OptDef("device", positional=True), OptDef("human", B), OptDef("all", B)),
        "domain block device size information"),
    CmdDef("domblkstat", _BJ, "cmd_domblkstat", (
        _dom(), OptDef("device", positional=True), OptDef("human", B)), "get device block stats for a domain"),
    CmdDef("blockresize", _BJ, "cmd_blockresize", (
        _dom(), _path(), OptDef("size", positional=True, required=True)), "Resize block device of domain."),
    CmdDef("save", _BJ, "cmd_save", (
        _dom(), OptDef("file", positional=True, required=True), OptDef("bypass-cache", B), OptDef("xml"),
        OptDef("running", B), OptDef("paused", B), OptDef("verbose", B)), "save a domain state to a file"),
    CmdDef("restore", _BJ, "cmd_restore", (
        OptDef("file", positional=True, required=True), OptDef("bypass-cache", B), OptDef("xml"),
        OptDef("running", B), OptDef("paused", B), OptDef("reset-nvram", B)), "restore a domain from a saved state in a file"),
    CmdDef("managedsave", _BJ, "cmd_managedsave", (
        _dom(), OptDef("bypass-cache", B), OptDef("running", B), OptDef("paused", B), OptDef("verbose", B)),
        "managed save of a domain state"),
    CmdDef("managedsave-remove", _BJ, "cmd_managedsave_remove", (_dom(),), "Remove managed save of a domain"),
)

_V = "vcpu"
COMMANDS += (
    # ---- vCPUs and the node CPU map (pyvirt/cli/vcpu.py)
    CmdDef("vcpuinfo", _V, "cmd_vcpuinfo", (_dom(), OptDef("pretty", B)), "detailed domain vcpu information"),
    CmdDef("vcpupin", _V, "cmd_vcpupin", (
        _dom(), OptDef("vcpu", I, positional=True), OptDef("cpulist", positional=True),
        OptDef("config", B), OptDef("live", B), OptDef("current", B)), "control or query domain vcpu affinity"),
    CmdDef("vcpucount", _V, "cmd_vcpucount", (
        _dom(), OptDef("maximum", B), OptDef("active", B), OptDef("live", B), OptDef("config", B),
        OptDef("current", B), OptDef("guest", B)), "domain vcpu counts"),
    CmdDef("nodecpumap", _V, "cmd_nodecpumap", (OptDef("pretty", B),), "node cpu map"),
)

COMMANDS += STORAGE_COMMANDS  # pool-* and vol-* (pyvirt/cli/storage.py)
COMMANDS += NETWORK_COMMANDS  # net-* and screenshot (pyvirt/cli/network.py)
COMMANDS += (  # libvirt-qemu pass-through (pyvirt/cli/qemu_cmds.py)
    CmdDef("qemu-monitor-command", "qemu_cmds", "cmd_qemu_monitor_command", (
        _dom(), OptDef("hmp", B), OptDef("pretty", B), OptDef("return-value", B), OptDef("pass-fds"),
        OptDef("cmd", OptKind.ARGV, positional=True, required=True)), "QEMU Monitor Command", light=True),
    CmdDef("qemu-monitor-event", "qemu_cmds", "cmd_qemu_monitor_event", (
        OptDef("domain"), OptDef("event"), OptDef("pretty", B), OptDef("loop", B), OptDef("timeout", I),
        OptDef("regex", B), OptDef("no-case", B), OptDef("timestamp", B)), "QEMU Monitor Events"),
    CmdDef("qemu-agent-command", "qemu_cmds", "cmd_qemu_agent_command", (
        _dom(), OptDef("timeout", I), OptDef("async", B), OptDef("block", B), OptDef("pretty", B),
        OptDef("cmd", OptKind.ARGV, positional=True, required=True)), "QEMU Guest Agent Command"),
)

BY_NAME: dict[str, CmdDef] = {c.name: c for c in COMMANDS}
