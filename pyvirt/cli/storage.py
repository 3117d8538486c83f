"""pyvirsh pool-* and vol-* commands, declared as data (STORAGE_COMMANDS, read by the registry
at every start-up, so this module stays tiny); the implementations are in storage_impl."""

from __future__ import annotations

from pyvirt.cli.spec import CmdDef, OptDef, OptKind

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Final

B: Final = OptKind.BOOL
_M = "storage_impl"  # implementations, imported when a command runs


def _pool(help: str = "pool name or uuid") -> OptDef:
    return OptDef("pool", positional=True, required=True, help=help)


def _vol() -> tuple[OptDef, OptDef]:
    return (OptDef("vol", positional=True, required=True, help="vol name, key or path"),
            OptDef("pool", help="pool name or uuid"))


_POOL_AS = (OptDef("name", positional=True, required=True), OptDef("type", positional=True, required=True),
            OptDef("print-xml", B), OptDef("source-host", positional=True),
            OptDef("source-path", positional=True), OptDef("source-dev", positional=True),
            OptDef("source-name", positional=True), OptDef("target", positional=True),
            OptDef("source-format"))

STORAGE_COMMANDS: tuple[CmdDef, ...] = (
    CmdDef("pool-list", _M, "cmd_pool_list", (
        OptDef("inactive", B), OptDef("all", B), OptDef("transient", B), OptDef("persistent", B),
        OptDef("autostart", B), OptDef("no-autostart", B), OptDef("type"), OptDef("details", B),
        OptDef("uuid", B), OptDef("name", B)), "list pools"),
    CmdDef("pool-info", _M, "cmd_pool_info", (_pool(), OptDef("bytes", B)), "storage pool information"),
    CmdDef("pool-dumpxml", _M, "cmd_pool_dumpxml", (_pool(), OptDef("inactive", B), OptDef("xpath"),
                                                    OptDef("wrap", B)), "pool information in XML"),
    CmdDef("pool-define", _M, "cmd_pool_define", (OptDef("file", positional=True, required=True),
                                                  OptDef("validate", B)), "define a pool from an XML file"),
    CmdDef("pool-create", _M, "cmd_pool_create", (
        OptDef("file", positional=True, required=True), OptDef("build", B), OptDef("no-overwrite", B),
        OptDef("overwrite", B)), "create a pool from an XML file"),
    CmdDef("pool-define-as", _M, "cmd_pool_define_as", _POOL_AS, "define a pool from a set of args"),
    CmdDef("pool-create-as", _M, "cmd_pool_create_as", (*_POOL_AS, OptDef("build", B),
                                                        OptDef("no-overwrite", B), OptDef("overwrite", B)),
           "create a pool from a set of args"),
    CmdDef("pool-build", _M, "cmd_pool_build", (_pool(), OptDef("no-overwrite", B), OptDef("overwrite", B)),
           "build a pool"),
    CmdDef("pool-start", _M, "cmd_pool_start", (_pool("name or uuid of the inactive pool"),
                                                OptDef("build", B), OptDef("no-overwrite", B),
                                                OptDef("overwrite", B)), "start a (previously defined) inactive pool"),
    CmdDef("pool-destroy", _M, "cmd_pool_destroy", (_pool(),), "destroy (stop) a pool"),
    CmdDef("pool-delete", _M, "cmd_pool_delete", (_pool(),), "delete a pool"),
    CmdDef("pool-undefine", _M, "cmd_pool_undefine", (_pool(),), "undefine an inactive pool"),
    CmdDef("pool-autostart", _M, "cmd_pool_autostart", (_pool(), OptDef("disable", B)), "autostart a pool"),
    CmdDef("pool-refresh", _M, "cmd_pool_refresh", (_pool(),), "refresh a pool"),
    CmdDef("pool-name", _M, "cmd_pool_name", (OptDef("pool", positional=True, required=True),),
           "convert a pool UUID to pool name"),
    CmdDef("pool-uuid", _M, "cmd_pool_uuid", (_pool(),), "convert a pool name to pool UUID"),
    CmdDef("vol-list", _M, "cmd_vol_list", (_pool(), OptDef("details", B)), "list vols"),
    CmdDef("vol-info", _M, "cmd_vol_info", (*_vol(), OptDef("bytes", B), OptDef("physical", B)),
           "storage vol information"),
    CmdDef("vol-dumpxml", _M, "cmd_vol_dumpxml", (*_vol(), OptDef("xpath"), OptDef("wrap", B)),
           "vol information in XML"),
    CmdDef("vol-path", _M, "cmd_vol_path", _vol(), "returns the volume path for a given volume name or key"),
    CmdDef("vol-key", _M, "cmd_vol_key", _vol(), "returns the volume key for a given volume name or path"),
    CmdDef("vol-name", _M, "cmd_vol_name", (OptDef("vol", positional=True, required=True),),
           "returns the volume name for a given volume key or path"),
    CmdDef("vol-pool", _M, "cmd_vol_pool", (OptDef("vol", positional=True, required=True), OptDef("uuid", B)),
           "returns the storage pool for a given volume key or path"),
    CmdDef("vol-create", _M, "cmd_vol_create", (_pool(), OptDef("file", positional=True, required=True),
                                                OptDef("prealloc-metadata", B), OptDef("validate", B)),
           "create a vol from an XML file"),
    CmdDef("vol-create-as", _M, "cmd_vol_create_as", (
        _pool(), OptDef("name", positional=True, required=True),
        OptDef("capacity", positional=True, required=True), OptDef("allocation"), OptDef("format"),
        OptDef("backing-vol"), OptDef("backing-vol-format"), OptDef("prealloc-metadata", B),
        OptDef("print-xml", B)), "create a volume from a set of args"),
    CmdDef("vol-create-from", _M, "cmd_vol_create_from", (
        _pool(), OptDef("file", positional=True, required=True),
        OptDef("vol", positional=True, required=True), OptDef("inputpool"),
        OptDef("prealloc-metadata", B), OptDef("reflink", B), OptDef("validate", B)),
        "create a vol, using another as input"),
    CmdDef("vol-clone", _M, "cmd_vol_clone", (
        OptDef("vol", positional=True, required=True), OptDef("newname", positional=True, required=True),
        OptDef("pool"), OptDef("prealloc-metadata", B), OptDef("reflink", B)), "clone a volume."),
    CmdDef("vol-delete", _M, "cmd_vol_delete", (*_vol(), OptDef("delete-snapshots", B)), "delete a vol"),
    CmdDef("vol-wipe", _M, "cmd_vol_wipe", (*_vol(), OptDef("algorithm")), "wipe a vol"),
    CmdDef("vol-resize", _M, "cmd_vol_resize", (
        OptDef("vol", positional=True, required=True), OptDef("capacity", positional=True, required=True),
        OptDef("pool"), OptDef("allocate", B), OptDef("delta", B), OptDef("shrink", B)),
        "resize a vol"),
    CmdDef("vol-upload", _M, "cmd_vol_upload", (
        OptDef("vol", positional=True, required=True), OptDef("file", positional=True, required=True),
        OptDef("pool"), OptDef("offset"), OptDef("length"), OptDef("sparse", B)),
        "upload file contents to a volume"),
    CmdDef("vol-download", _M, "cmd_vol_download", (
        OptDef("vol", positional=True, required=True), OptDef("file", positional=True, required=True),
        OptDef("pool"), OptDef("offset"), OptDef("length"), OptDef("sparse", B)),
        "download volume contents to a file"),
)
