"""virsh output formats: tables, state and reason names, event names."""

from __future__ import annotations

TYPE_CHECKING = False  # collections.abc costs ~3 ms of pyvirsh's start-up; annotations only
if TYPE_CHECKING:
    from collections.abc import Sequence

STATE_NAMES = ("no state", "running", "idle", "paused", "in shutdown", "shut off", "crashed",
               "pmsuspended")

# Indexed by virDomainState (NOSTATE 0 .. PMSUSPENDED 7, STATE_NAMES' order) rather than
# keyed by pyvirt.enums.DomainState: the enum module costs ~3 ms of every pyvirsh start-up.
_REASONS: tuple[tuple[str, ...], ...] = (
    ("unknown",),  # NOSTATE
    ("unknown", "booted", "migrated", "restored", "from snapshot", "unpaused",  # RUNNING
     "migration canceled", "save canceled", "event wakeup", "crashed", "post-copy",
     "post-copy failed"),
    ("unknown",),  # BLOCKED
    ("unknown", "user", "migrating", "saving", "dumping", "I/O error", "watchdog",  # PAUSED
     "from snapshot", "shutting down", "creating snapshot", "crashed", "starting up",
     "post-copy", "post-copy failed", "api error"),
    ("unknown", "user"),  # SHUTDOWN
    ("unknown", "shutdown", "destroyed", "crashed", "migrated", "saved", "failed",  # SHUTOFF
     "from snapshot", "daemon"),
    ("unknown", "panicked"),  # CRASHED
    ("unknown",),  # PMSUSPENDED
)


def state_name(state: int) -> str:
    return STATE_NAMES[state] if 0 <= state < len(STATE_NAMES) else "no state"


def reason_name(state: int, reason: int) -> str:
    names = _REASONS[state] if 0 <= state < len(_REASONS) else ("unknown",)
    return names[reason] if 0 <= reason < len(names) else "unknown"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], quiet: bool = False) -> str:
    """virsh's vshTable: one leading space, columns 3 apart, a dash rule, last column unpadded.

    Quiet mode drops the header and rule, and the header no longer counts for the widths.
    """
    widths = [0 if quiet else len(h) for h in header]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], len(cell))

    def line(cells: Sequence[str]) -> str:
        parts = [c.ljust(widths[i]) if i < len(cells) - 1 else c for i, c in enumerate(cells)]
        return " " + "   ".join(parts) + "\n"

    body = "".join(line(r) for r in rows)
    if quiet:
        return body
    rule = "-" * (sum(widths) + 3 * len(widths)) + "\n"
    return line(header) + rule + body


def kv(label: str, value: object, width: int) -> str:
    """A 'Label:   value' line as dominfo (width 15) and nodeinfo (width 20) print it."""
    return f"{label:<{width}} {value}\n"


# Lifecycle event and detail names as virsh's event command prints them.
EVENT_NAMES = ("Defined", "Undefined", "Started", "Suspended", "Resumed", "Stopped",
               "Shutdown", "PMSuspended", "Crashed")
EVENT_DETAILS: tuple[tuple[str, ...], ...] = (
    ("Added", "Updated", "Renamed", "Snapshot"),
    ("Removed", "Renamed"),
    ("Booted", "Migrated", "Restored", "Snapshot", "Event wakeup"),
    ("Paused", "Migrated", "I/O Error", "Watchdog", "Restored", "Snapshot", "API error",
     "Post-copy", "Post-copy Error"),
    ("Unpaused", "Migrated", "Snapshot", "Post-copy", "Post-copy Error"),
    ("Shutdown", "Destroyed", "Crashed", "Migrated", "Saved", "Failed", "Snapshot"),
    ("Finished", "Finished after guest request", "Finished after host request"),
    ("Memory", "Disk"),
    ("Panicked", "Crashloaded"),
)


def lifecycle_text(event: int, detail: int) -> str:
    ev = EVENT_NAMES[event] if 0 <= event < len(EVENT_NAMES) else "unknown"
    details = EVENT_DETAILS[event] if 0 <= event < len(EVENT_DETAILS) else ()
    det = details[detail] if 0 <= detail < len(details) else "unknown"
    return f"{ev} {det}"
