"""A young soak against a real Prometheus: a blip does not revert, a real breach does, fast.

The stage is bumped an hour before the data ends; the judge is asked every minute of that
hour, as the scheduler would, with the default burn-rate rules (14.4x over 1h/5m, 6x over
6h/30m) and a 99.9 % objective.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.adapters.prometheus import PrometheusClient

try:  # see conftest.py
    from prometheus_server import PrometheusServer
except ImportError:  # pragma: no cover
    from tests.prometheus_server import PrometheusServer
from bot.config.model import SLO
from bot.core.slo import Verdict, evaluate

from .synthetic import AT, NOW, START, between, const, requests

M = timedelta(minutes=1)
BUMP = NOW - 3600  # unix seconds
SEL = 'service="{service}",stage="{stage}"'
AVAILABILITY = SLO(
    name="availability",
    objective=99.9,
    error_ratio=(
        f'sum(rate(http_requests_total{{{SEL},code=~"5.."}}[{{window}}]))'
        f" / sum(rate(http_requests_total{{{SEL}}}[{{window}}]))"
    ),
)


def _series() -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    healthy = 0.0005
    blip = between(BUMP + 120, BUMP + 150, 1.0, healthy)  # 30 s of nothing but errors
    sustained = between(BUMP, NOW + 1, 0.10, healthy)  # 10 % errors from the bump on
    return [
        *requests({"service": "blip", "stage": "canary"}, START, NOW, rps=const(10),
                  error_fraction=blip, step=5.0),
        *requests({"service": "sustained", "stage": "canary"}, START, NOW, rps=const(10),
                  error_fraction=sustained, step=5.0, seed=3),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def client(prometheus: PrometheusServer) -> Iterator[PrometheusClient]:
    prometheus.push(_series())
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as c:
        yield c


def _minutes(client: PrometheusClient, service: str) -> dict[int, Verdict]:
    bump = AT - 60 * M
    return {
        k: evaluate(client, AVAILABILITY, "canary", service, bump + k * M, bump).verdict
        for k in range(1, 61)
    }


def test_a_30_second_blip_early_in_a_60_minute_soak_never_fails(
    client: PrometheusClient,
) -> None:
    verdicts = _minutes(client, "blip")
    assert Verdict.FAIL not in verdicts.values(), verdicts


def test_a_sustained_10_percent_breach_fails_within_the_published_latency(
    client: PrometheusClient,
) -> None:
    """docs/slo.md: at 10 % errors the fast rule has used its budget after 51.8 s / 0.1 =
    8.6 minutes of soak; from then on every check fails."""
    verdicts = _minutes(client, "sustained")
    first = min(k for k, v in verdicts.items() if v == Verdict.FAIL)
    assert 8 <= first <= 10, verdicts
    assert all(v == Verdict.FAIL for k, v in verdicts.items() if k >= first + 1), verdicts
