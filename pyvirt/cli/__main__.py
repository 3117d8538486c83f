"""``python -m pyvirt.cli``: run pyvirsh."""

import sys

from pyvirt.cli.main import main

sys.exit(main())
