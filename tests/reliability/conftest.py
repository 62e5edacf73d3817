"""Reliability suite: faults, crashes, races, hostile input, security (issue 10)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lifecycle"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability: fault, crash, race, hostile-input and security tests (issue 10)"
    )
