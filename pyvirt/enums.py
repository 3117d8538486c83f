"""Runtime vocabularies shared by every layer, with libvirt's numbers.

These are the values that travel on the wire and that libvirt-python exposes as
``VIR_DOMAIN_*`` constants; keep the numbering identical to libvirt's.
"""

from __future__ import annotations

# IntEnum classes, each built in one step (pyvirt.errors.int_table says why)
from pyvirt.errors import IntTable, int_table


@int_table
class DomainState(IntTable):
    NOSTATE = 0
    RUNNING = 1
    BLOCKED = 2
    PAUSED = 3
    SHUTDOWN = 4
    SHUTOFF = 5
    CRASHED = 6
    PMSUSPENDED = 7


@int_table
class RunningReason(IntTable):
    UNKNOWN = 0
    BOOTED = 1
    MIGRATED = 2
    RESTORED = 3
    FROM_SNAPSHOT = 4
    UNPAUSED = 5
    MIGRATION_CANCELED = 6
    SAVE_CANCELED = 7
    WAKEUP = 8
    CRASHED = 9
    POSTCOPY = 10
    POSTCOPY_FAILED = 11


@int_table
class PausedReason(IntTable):
    UNKNOWN = 0
    USER = 1
    MIGRATION = 2
    SAVE = 3
    DUMP = 4
    IOERROR = 5
    WATCHDOG = 6
    FROM_SNAPSHOT = 7
    SHUTTING_DOWN = 8
    SNAPSHOT = 9
    CRASHED = 10
    STARTING_UP = 11
    POSTCOPY = 12
    POSTCOPY_FAILED = 13
    API_ERROR = 14


@int_table
class ShutdownReason(IntTable):
    UNKNOWN = 0
    USER = 1


@int_table
class ShutoffReason(IntTable):
    UNKNOWN = 0
    SHUTDOWN = 1
    DESTROYED = 2
    CRASHED = 3
    MIGRATED = 4
    SAVED = 5
    FAILED = 6
    FROM_SNAPSHOT = 7
    DAEMON = 8


@int_table
class CrashedReason(IntTable):
    UNKNOWN = 0
    PANICKED = 1


@int_table
class EventID(IntTable):
    """VIR_DOMAIN_EVENT_ID_*."""

    LIFECYCLE = 0
    REBOOT = 1
    RTC_CHANGE = 2
    WATCHDOG = 3
    IO_ERROR = 4
    GRAPHICS = 5
    IO_ERROR_REASON = 6
    CONTROL_ERROR = 7
    BLOCK_JOB = 8
    DISK_CHANGE = 9
    TRAY_CHANGE = 10
    PMWAKEUP = 11
    PMSUSPEND = 12
    BALLOON_CHANGE = 13
    PMSUSPEND_DISK = 14
    DEVICE_REMOVED = 15
    BLOCK_JOB_2 = 16
    TUNABLE = 17
    AGENT_LIFECYCLE = 18
    DEVICE_ADDED = 19
    MIGRATION_ITERATION = 20
    JOB_COMPLETED = 21
    DEVICE_REMOVAL_FAILED = 22
    METADATA_CHANGE = 23
    BLOCK_THRESHOLD = 24
    MEMORY_FAILURE = 25
    MEMORY_DEVICE_SIZE_CHANGE = 26


@int_table
class LifecycleEvent(IntTable):
    """VIR_DOMAIN_EVENT_* (the ``event`` of a lifecycle event)."""

    DEFINED = 0
    UNDEFINED = 1
    STARTED = 2
    SUSPENDED = 3
    RESUMED = 4
    STOPPED = 5
    SHUTDOWN = 6
    PMSUSPENDED = 7
    CRASHED = 8


@int_table
class DefinedDetail(IntTable):
    ADDED = 0
    UPDATED = 1
    RENAMED = 2
    FROM_SNAPSHOT = 3


@int_table
class UndefinedDetail(IntTable):
    REMOVED = 0
    RENAMED = 1


@int_table
class StartedDetail(IntTable):
    BOOTED = 0
    MIGRATED = 1
    RESTORED = 2
    FROM_SNAPSHOT = 3
    WAKEUP = 4


@int_table
class SuspendedDetail(IntTable):
    PAUSED = 0
    MIGRATED = 1
    IOERROR = 2
    WATCHDOG = 3
    RESTORED = 4
    FROM_SNAPSHOT = 5
    API_ERROR = 6
    POSTCOPY = 7
    POSTCOPY_FAILED = 8


@int_table
class ResumedDetail(IntTable):
    UNPAUSED = 0
    MIGRATED = 1
    FROM_SNAPSHOT = 2
    POSTCOPY = 3
    POSTCOPY_FAILED = 4


@int_table
class StoppedDetail(IntTable):
    SHUTDOWN = 0
    DESTROYED = 1
    CRASHED = 2
    MIGRATED = 3
    SAVED = 4
    FAILED = 5
    FROM_SNAPSHOT = 6


@int_table
class ShutdownDetail(IntTable):
    FINISHED = 0
    GUEST = 1
    HOST = 2


@int_table
class CrashedDetail(IntTable):
    PANICKED = 0
    CRASHLOADED = 1


@int_table
class BlockJobType(IntTable):
    UNKNOWN = 0
    PULL = 1
    COPY = 2
    COMMIT = 3
    ACTIVE_COMMIT = 4
    BACKUP = 5


@int_table
class BlockJobStatus(IntTable):
    COMPLETED = 0
    FAILED = 1
    CANCELED = 2
    READY = 3


@int_table
class TrayChangeReason(IntTable):
    OPEN = 0
    CLOSE = 1


@int_table
class AgentLifecycleState(IntTable):
    CONNECTED = 1
    DISCONNECTED = 2


@int_table
class AgentLifecycleReason(IntTable):
    UNKNOWN = 0
    DOMAIN_STARTED = 1
    CHANNEL = 2


# Flags of listAllDomains (VIR_CONNECT_LIST_DOMAINS_*).
@int_table
class ListDomainsFlags(IntTable):
    ACTIVE = 1 << 0
    INACTIVE = 1 << 1
    PERSISTENT = 1 << 2
    TRANSIENT = 1 << 3
    RUNNING = 1 << 4
    PAUSED = 1 << 5
    SHUTOFF = 1 << 6
    OTHER = 1 << 7
    MANAGEDSAVE = 1 << 8
    NO_MANAGEDSAVE = 1 << 9
    AUTOSTART = 1 << 10
    NO_AUTOSTART = 1 << 11
    HAS_SNAPSHOT = 1 << 12
    NO_SNAPSHOT = 1 << 13
    HAS_CHECKPOINT = 1 << 14
    NO_CHECKPOINT = 1 << 15


@int_table
class XMLFlags(IntTable):
    """VIR_DOMAIN_XML_*."""

    SECURE = 1 << 0
    INACTIVE = 1 << 1
    UPDATE_CPU = 1 << 2
    MIGRATABLE = 1 << 3


@int_table
class DomainCreateFlags(IntTable):
    NONE = 0
    START_PAUSED = 1 << 0
    START_AUTODESTROY = 1 << 1
    START_BYPASS_CACHE = 1 << 2
    START_FORCE_BOOT = 1 << 3
    START_VALIDATE = 1 << 4
    START_RESET_NVRAM = 1 << 5


@int_table
class DefineFlags(IntTable):
    VALIDATE = 1 << 0


@int_table
class ShutdownFlags(IntTable):
    DEFAULT = 0
    ACPI_POWER_BTN = 1 << 0
    GUEST_AGENT = 1 << 1
    INITCTL = 1 << 2
    SIGNAL = 1 << 3
    PARAVIRT = 1 << 4


@int_table
class DestroyFlags(IntTable):
    DEFAULT = 0
    GRACEFUL = 1 << 0
    REMOVE_LOGS = 1 << 1


@int_table
class UndefineFlags(IntTable):
    MANAGED_SAVE = 1 << 0
    SNAPSHOTS_METADATA = 1 << 1
    NVRAM = 1 << 2
    KEEP_NVRAM = 1 << 3
    CHECKPOINTS_METADATA = 1 << 4
    TPM = 1 << 5
    KEEP_TPM = 1 << 6
