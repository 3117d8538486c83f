"""Helpers the pyvirsh command modules share: reading a command's XML file with virsh's
message, and turning boolean options into flag bits. Imports nothing at load time (the
command modules themselves are imported only when one of their commands runs)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing stays off the light path (mypy treats this like typing's)
if TYPE_CHECKING:
    from collections.abc import Iterable

    from pyvirt.cli.spec import BoundArgs


def read_file(path: str, failure: str | None = None) -> str:
    """The contents of a command's file argument. When it cannot be read: ``failure``
    (virsh's words for the command) or "Failed to open file '<path>'", then the reason."""
    from pyvirt.cli.ctl import CmdFailed

    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        what = failure if failure is not None else f"Failed to open file '{path}'"
        raise CmdFailed(f"{what}: {e.strerror}") from None


def flag_bits(a: BoundArgs, table: Iterable[tuple[str, int]]) -> int:
    """The OR of the ``(option, bit)`` bits whose boolean option was given."""
    flags = 0
    for opt, bit in table:
        if a.flag(opt):
            flags |= bit
    return flags
