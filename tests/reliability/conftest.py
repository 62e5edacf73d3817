"""Reliability suite: faults, crashes, races, hostile input, security (issue 10)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lifecycle"))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "reliability: fault, crash, race, hostile-input and security tests (issue 10)"
    )


@pytest.fixture(scope="session")
def baseline() -> Iterator[Any]:
    """The scenario without faults: what every faulted, crashed or raced run must equal."""
    from matrix import faulted, fresh_sandbox

    with fresh_sandbox() as sb:
        yield faulted(sb, None)
