"""A real Prometheus per test module, fed with each module's synthetic series."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

try:  # tests/ is on sys.path (tests/slo is a package, tests/ is not)
    from prometheus_server import PrometheusServer, prometheus_bin
except ImportError:  # pragma: no cover - if tests/ becomes a package itself
    from tests.prometheus_server import PrometheusServer, prometheus_bin


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusServer]:
    """A running Prometheus for this module; push series with `prometheus.push(...)`."""
    if prometheus_bin() is None:
        pytest.fail(
            "no prometheus binary: run `bash .ci/install-system-deps.sh` or set PROMETHEUS_BIN"
        )
    with PrometheusServer.start(tmp_path_factory.mktemp("prometheus")) as server:
        yield server
