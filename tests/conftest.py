"""Shared fixtures. `sandbox` is a fresh local GitHub (bot.sandbox) per test, on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.runner import Sandbox, run_sandbox


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A running sandbox over a fresh directory, with the standard users (no repositories).

    Use `sandbox.scenario.demo()` for the demo repository ``acme/shop``,
    `sandbox.scenario.create_repo(...)` for your own, `sandbox.token(login)` for a user's
    token and `sandbox.base_url` as the API base URL.
    """
    with run_sandbox(tmp_path / "sandbox", durable=False) as sb:
        yield sb
