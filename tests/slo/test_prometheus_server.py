"""The reusable real-Prometheus helper: what goes in by remote write or backfill comes out."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.adapters.prometheus import PrometheusClient

try:  # see conftest.py
    from prometheus_server import PrometheusServer, openmetrics, snappy_block
except ImportError:  # pragma: no cover
    from tests.prometheus_server import PrometheusServer, openmetrics, snappy_block

NOW = int(time.time()) // 60 * 60


def test_snappy_literal_framing() -> None:
    assert snappy_block(b"abc") == bytes([3, 2 << 2]) + b"abc"
    big = snappy_block(b"x" * 300)
    assert big[:2] == bytes([0xAC, 0x02]) and big[2:5] == bytes([61 << 2, 43, 1])
    assert len(snappy_block(b"y" * 70000)) == 3 + 3 + 65536 + 3 + (70000 - 65536)


def test_remote_write_round_trips_labels_and_special_values(
    prometheus: PrometheusServer,
) -> None:
    labels = {"__name__": "odd_metric", "quote": 'say "hi"\\', "utf": "café ✓"}
    samples = [(NOW - 120.0, 1.5), (NOW - 60.0, math.inf), (NOW - 30.0, math.nan)]
    prometheus.push([(labels, samples)])
    with PrometheusClient(prometheus.url) as client:
        at = datetime.fromtimestamp(NOW, UTC)
        result = client.query_range(
            "odd_metric",
            at - timedelta(seconds=120),
            at - timedelta(seconds=30),
            timedelta(seconds=30),
        )
    (series,) = result.series
    assert dict(series.labels) == labels
    values = [v for _, v in series.points]
    assert values[0] == 1.5 and values[2] == math.inf and math.isnan(values[3])


def test_backfilled_history_older_than_a_day_is_queryable(tmp_path: Path) -> None:
    old = NOW - 10 * 86400
    history = [
        ({"__name__": "budget_total", "team": "a"}, [(old + 60 * i, float(i)) for i in range(30)])
    ]
    assert openmetrics(history).endswith("# EOF\n")
    with PrometheusServer.start(tmp_path, history=history) as prom, PrometheusClient(prom.url) as c:
        result = c.query("budget_total", datetime.fromtimestamp(old + 60 * 29, UTC))
    assert result.values() == [29.0]
