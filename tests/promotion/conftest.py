"""A real Prometheus for the revert tests (one per module), fed by each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_server import PrometheusServer, prometheus_bin


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    if prometheus_bin() is None:
        pytest.fail(
            "no prometheus binary: run `bash .ci/install-system-deps.sh` or set PROMETHEUS_BIN"
        )
    with PrometheusServer.start(tmp_path_factory.mktemp("prometheus")) as server:
        yield server
