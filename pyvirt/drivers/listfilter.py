"""virConnectListAllDomains' flag filter, shared by every driver that lists domains."""

from __future__ import annotations

from pyvirt.enums import DomainState, ListDomainsFlags

_STATE_MASK = (
    ListDomainsFlags.RUNNING | ListDomainsFlags.PAUSED | ListDomainsFlags.SHUTOFF
    | ListDomainsFlags.OTHER
)


def domain_matches(flags: int, *, active: bool, persistent: bool, autostart: bool,
                   state: DomainState, managed_save: bool = False,
                   has_snapshot: bool = False, has_checkpoint: bool = False) -> bool:
    """True when a domain with these properties passes the VIR_CONNECT_LIST_DOMAINS_* flags.

    Each yes/no pair filters only when exactly one of the two is given (both or neither
    means "either"); the state flags are alternatives.
    """
    F = ListDomainsFlags

    def pair(yes: int, no: int, value: bool) -> bool:
        if flags & (yes | no) in (0, yes | no):
            return True
        return bool(flags & yes) == value

    if not (pair(F.ACTIVE, F.INACTIVE, active)
            and pair(F.PERSISTENT, F.TRANSIENT, persistent)
            and pair(F.AUTOSTART, F.NO_AUTOSTART, autostart)
            and pair(F.MANAGEDSAVE, F.NO_MANAGEDSAVE, managed_save)
            and pair(F.HAS_SNAPSHOT, F.NO_SNAPSHOT, has_snapshot)
            and pair(F.HAS_CHECKPOINT, F.NO_CHECKPOINT, has_checkpoint)):
        return False
    if not flags & _STATE_MASK:
        return True
    main = {DomainState.RUNNING: F.RUNNING, DomainState.PAUSED: F.PAUSED,
            DomainState.SHUTOFF: F.SHUTOFF}
    return bool(flags & main.get(state, F.OTHER))
