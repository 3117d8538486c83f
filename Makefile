# pyvirt — two commands on a fresh Debian 12 machine, as root:  make demo  /  make test
# Every target installs what it needs and is safe to run twice (nothing is redone when it is
# already in place: apt packages are checked with dpkg, the venv is keyed on pyproject.toml,
# the test guest on its builder's inputs).

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GUEST := .guest
# Packages the project needs on the host. busybox, the kernel and qemu-guest-agent for the
# test guest are fetched with `apt-get download` by tools/build-test-guest.sh, not installed.
APT_PKGS := qemu-system-x86 qemu-utils python3-venv libvirt0
# The real libvirt beside us, for the oracle comparison tests (optional: see `oracle`).
ORACLE := ../shared/oracle/start-libvirtd.sh
PYVIRT_ORACLE ?= auto
PYTEST_ARGS ?=

.PHONY: all apt deps venv guest oracle test unit e2e lint typecheck demo bench clean distclean

all: deps

# Not a stamp file: a package removed later must be noticed, and dpkg -s costs milliseconds.
apt:
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml | apt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@echo "pip install -e '.[test]' into $(VENV) (log: $(VENV)/pip.log)"
	@# editable_mode=compat: a plain .pth path entry. setuptools' default editable finder is
	@# imported by site.py at every interpreter start and costs 10-40 ms per pyvirsh run.
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' \
	  --config-settings editable_mode=compat >$(VENV)/pip.log 2>&1 \
	  || { tail -40 $(VENV)/pip.log; exit 1; }
	@# setuptools' distutils-precedence.pth imports _distutils_hack at every interpreter start
	@# (~0.5 ms of a ~14 ms pyvirsh run); nothing at run time needs setuptools' distutils.
	@rm -f $(VENV)/lib/python3*/site-packages/distutils-precedence.pth
	@touch $@

venv: $(VENV)/.installed

# This environment sets PYTHONDONTWRITEBYTECODE=1, so without this every pyvirsh run would
# recompile pyvirt (~80 ms). compileall writes the caches regardless and is incremental.
deps: $(VENV)/.installed
	@$(PY) -m compileall -q pyvirt >/dev/null

guest: apt
	@tools/build-test-guest.sh $(GUEST)

# The oracle (real libvirtd 9.0) turns the suite's comparison tests from skips into real
# checks. Only when ../shared is checked out beside the repo; PYVIRT_ORACLE=0 opts out, and
# a failure to start it only costs those tests (they skip), never the run.
oracle:
	@if [ "$(PYVIRT_ORACLE)" != 0 ] && [ -x $(ORACLE) ]; then \
	  $(ORACLE) >/dev/null 2>&1 && echo "oracle: libvirtd running" \
	    || echo "oracle: $(ORACLE) failed; oracle tests will skip"; \
	else echo "oracle: not available ($(ORACLE)); oracle tests will skip"; fi

test: deps guest oracle
	$(PY) -m pytest -q --durations=10 $(PYTEST_ARGS)

# Fast local loops: no guest boots / no whole-tree mypy+ruff.
unit: deps
	$(PY) -m pytest -q -m 'not e2e and not lint' $(PYTEST_ARGS)

e2e: deps guest
	$(PY) -m pytest -q -m e2e $(PYTEST_ARGS)

lint: deps
	$(VENV)/bin/ruff check pyvirt tests

typecheck: deps
	$(VENV)/bin/mypy --strict -p pyvirt

demo: deps guest
	$(PY) examples/demo.py

bench: deps guest oracle
	$(PY) bench/run.py $(BENCH_ARGS)

clean:
	rm -rf .demo build *.egg-info .pytest_cache .mypy_cache .ruff_cache

# Also drops the venv and the guest (its package cache too).
distclean: clean
	rm -rf $(VENV) $(GUEST) .stamps
