"""Run ../shared/bench/libvirt_baseline.py with its domains as <domain type='qemu'> (TCG).

Why: the harness writes type='kvm'. On these machines /dev/kvm is kvm_pvm, which pyvirt's
QEMU driver refuses for type='kvm' (caps.py: it cannot boot stock guest kernels) while
libvirt 9.0 accepts it. Scenario e's guest only sits in SeaBIOS, so the domain type
barely matters to it; running *both* sides through this wrapper keeps the comparison
like for like. Same arguments as the harness. The patch sits at module top level so the
harness's spawned scenario child (which re-imports this file as __mp_main__) gets it too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / ".." / "shared" / "bench"))
import libvirt_baseline as lb

_orig = lb.domain_xml


def _tcg_xml(*args, **kwargs):  # type: ignore[no-untyped-def]
    return _orig(*args, **kwargs).replace("<domain type='kvm'>", "<domain type='qemu'>", 1)


lb.domain_xml = _tcg_xml

# YARD_DRIVERS=api: scenario e's API half only. pyvirt's qemu:///embed cannot serve the
# virsh half: each pyvirsh is another process while the harness's own connection holds
# the domain's monitor (one QMP client at a time), as libvirt's embed driver refuses a
# second process on one root; the virsh half needs a daemon.
if os.environ.get("YARD_DRIVERS"):
    _drivers = tuple(os.environ["YARD_DRIVERS"].split(","))
    _orig_storage = lb.scenario_storage

    def _storage(target, reps=5, drivers=_drivers):  # type: ignore[no-untyped-def]
        return _orig_storage(target, reps=reps, drivers=drivers)

    lb.scenario_storage = _storage

if __name__ == "__main__":
    sys.exit(lb.main())
