"""``python -m pyvirt.cli``: run pyvirsh."""

from pyvirt.cli.main import entry

entry()
