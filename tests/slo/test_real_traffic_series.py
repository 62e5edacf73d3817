"""Minimum traffic and explicit series against a real Prometheus (remote write)."""

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
SEL = 'service="{service}",stage="{stage}"'
COUNTED = SLO(  # min_requests left out: the derived minimum (70 for 99.9 %) applies
    name="availability",
    objective=99.9,
    good=f'sum(increase(http_requests_total{{{SEL},code!~"5.."}}[{{window}}]))',
    total=f"sum(increase(http_requests_total{{{SEL}}}[{{window}}]))",
)
PER_INSTANCE = (
    f'sum by (instance) (rate(http_requests_total{{{SEL},code=~"5.."}}[{{window}}]))'
    f" / sum by (instance) (rate(http_requests_total{{{SEL}}}[{{window}}]))"
)


def _three_requests_one_error() -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """Two good requests 20 minutes ago and one bad one 10 minutes ago, nothing else."""
    base = {"__name__": "http_requests_total", "service": "three", "stage": "canary"}
    steps = range(START, NOW + 1, 15)
    ok = [(t, 0.0 if t < NOW - 20 * 60 else 2.0) for t in steps]
    bad = [(t, 0.0 if t < NOW - 10 * 60 else 1.0) for t in steps]
    return [({**base, "code": "200"}, ok), ({**base, "code": "500"}, bad)]


def _fleet() -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    series = []
    for seed, (instance, errors) in enumerate((("a", 0.0005), ("b", 0.05), ("c", 0.0005))):
        labels = {"service": "fleet", "stage": "canary", "instance": instance}
        series += requests(
            labels,
            START,
            NOW,
            rps=const(10),
            error_fraction=between(NOW - 40 * 60, NOW + 1, errors, 0.0005),
            seed=seed + 20,
        )
    return series


@pytest.fixture(scope="module")
def client(prometheus: PrometheusServer) -> Iterator[PrometheusClient]:
    prometheus.push(_three_requests_one_error() + _fleet())
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as c:
        yield c


def test_three_requests_with_one_error_are_inconclusive_with_defaults(
    client: PrometheusClient,
) -> None:
    result = evaluate(client, COUNTED, "canary", "three", AT, AT - 30 * M)
    assert result.verdict == Verdict.INCONCLUSIVE, result.reason
    assert "< the minimum for this objective 70" in result.reason
    assert 2.5 < float(result.numbers["requests"]) < 4  # increase() extrapolates a little


def test_a_result_with_more_series_than_declared_is_an_error_naming_them(
    client: PrometheusClient,
) -> None:
    undeclared = SLO(name="availability", error_ratio=PER_INSTANCE, min_requests=0)
    result = evaluate(client, undeclared, "canary", "fleet", AT, AT - 30 * M)
    assert result.verdict == Verdict.ERROR, result.reason
    assert "returned 3 series, more than declared (one series)" in result.reason
    for instance in "abc":
        assert f'{{instance="{instance}"}}' in result.reason


def test_declared_series_are_judged_each_and_the_worst_is_named(
    client: PrometheusClient,
) -> None:
    declared = SLO(name="availability", error_ratio=PER_INSTANCE, by=("instance",))
    result = evaluate(client, declared, "canary", "fleet", AT, AT - 30 * M)
    assert result.verdict == Verdict.FAIL, result.reason
    assert result.reason.endswith('on {instance="b"}')
    assert result.numbers["series"] == 3
    assert 0.03 < float(result.numbers["error_ratio[5m]"]) < 0.08
