"""QMP monitor: an asyncio client (client.py) and typed wrappers for the commands we use."""

from pyvirt.drivers.qemu.monitor.client import QMPClosed, QMPCommandError, QMPEvent, QMPMonitor

__all__ = ["QMPClosed", "QMPCommandError", "QMPEvent", "QMPMonitor"]
