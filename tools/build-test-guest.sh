#!/bin/sh
# Build (or confirm up to date) pyvirt's test guest: tools/build-test-guest.sh [OUTDIR]
# OUTDIR defaults to .guest in the repository.  The work is done by testguest/build.py with
# the system python3 (stdlib only), because `make guest` may run before .venv exists.
# See testguest/build.py for the outputs and knobs, testguest/rootfs for the guest itself.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec python3 "$here/testguest/build.py" "${1:-$here/../.guest}"
