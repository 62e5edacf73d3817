"""Fixtures for the outbound policy tests: loopback catcher servers (`catcher.py`), and a
guard that fails any test trying to leave loopback.

The guard is a safety net, not an assertion of calls: the tests inject resolvers that
answer private and metadata addresses, and if the policy ever let one through, the
socket would refuse to connect there instead of sending anything off this machine.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from .catcher import Catcher, running


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse (in the test process) any TCP connection to a non-loopback address."""
    real = socket.socket.connect

    def connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            host = str(address[0]).split("%", 1)[0]
            if not ipaddress.ip_address(host).is_loopback:
                raise AssertionError(f"a test tried to connect to {host}: refused")
        real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture
def catchers() -> Iterator[list[Catcher]]:
    """Three catcher servers (more than most tests need)."""
    with running(3) as made:
        yield made
