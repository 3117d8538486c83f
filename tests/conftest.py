"""Suite-wide pytest configuration. Kept tiny on purpose: fixtures live next to the tests
that use them (e2e fixtures: tests/e2e/conftest.py; corpus path: tests/conformance)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # e2e and oracle are declared in pyproject.toml; "lint" tags the slow whole-tree checks
    # (mypy --strict, ruff) so a local loop can use -m 'not lint'; make test runs them.
    config.addinivalue_line("markers", "lint: whole-tree mypy --strict / ruff runs")
