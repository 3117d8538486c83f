# pyvirt — two commands on a fresh Debian 12 machine, as root:  make demo  /  make test
# Every target installs what it needs and is safe to run twice.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
GUEST := .guest
STAMPS := .stamps
APT_PKGS := qemu-system-x86 qemu-utils python3-venv busybox-static
PYTEST_ARGS ?=

.PHONY: all deps venv guest test demo unit e2e lint typecheck bench clean

all: deps

$(STAMPS)/apt:
	@mkdir -p $(STAMPS)
	@missing=""; for p in $(APT_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@touch $@

$(VENV)/.installed: pyproject.toml $(STAMPS)/apt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

venv: $(VENV)/.installed
deps: venv

guest: $(STAMPS)/apt
	@tools/build-test-guest.sh $(GUEST)

test: deps guest
	$(PY) -m pytest -q $(PYTEST_ARGS)

unit: deps
	$(PY) -m pytest -q -m 'not e2e' $(PYTEST_ARGS)

lint: deps
	$(VENV)/bin/ruff check pyvirt tests

typecheck: deps
	$(VENV)/bin/mypy

demo: deps guest
	$(PY) examples/demo.py

bench: deps guest
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) $(STAMPS) build *.egg-info
