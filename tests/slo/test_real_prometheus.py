"""The judge against a real Prometheus, fed synthetic traffic through remote write.

One server for the module; every scenario has its own `service` label. Times are the
real clock rounded to a minute (Prometheus takes recent samples most naturally); all
evaluations use explicit instants relative to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.prometheus import PrometheusClient

try:  # see conftest.py
    from prometheus_server import PrometheusServer
except ImportError:  # pragma: no cover
    from tests.prometheus_server import PrometheusServer
from bot.config.model import SLO, Comparison
from bot.core.slo import SLOResult, Verdict, evaluate

from .prometheus_ports import closed_port
from .synthetic import AT, NOW, START, between, const, latency_histogram, requests

M = timedelta(minutes=1)
H = timedelta(hours=1)

SEL = 'service="{service}",stage="{stage}"'
AVAILABILITY = SLO(
    name="availability",
    objective=99.9,
    error_ratio=(
        f'sum(rate(http_requests_total{{{SEL},code=~"5.."}}[{{window}}]))'
        f" / sum(rate(http_requests_total{{{SEL}}}[{{window}}]))"
    ),
)
GOOD_TOTAL = SLO(
    name="availability",
    objective=99.9,
    good=f'sum(increase(http_requests_total{{{SEL},code!~"5.."}}[{{window}}]))',
    total=f"sum(increase(http_requests_total{{{SEL}}}[{{window}}]))",
    min_requests=1000,
)
LATENCY = SLO(
    name="latency-p99",
    latency=(
        "histogram_quantile(0.99, sum by (le) "
        f"(rate(http_request_duration_seconds_bucket{{{SEL}}}[{{window}}])))"
    ),
    threshold=0.5,
)


def ratio_for(stage: str) -> str:
    sel = f'service="{{service}}",stage="{stage}"'
    return (
        f'sum(rate(http_requests_total{{{sel},code=~"5.."}}[{{window}}]))'
        f" / sum(rate(http_requests_total{{{sel}}}[{{window}}]))"
    )


COMPARED = SLO(
    name="availability",
    objective=99.9,
    error_ratio=AVAILABILITY.error_ratio,
    compare=Comparison(canary=ratio_for("canary"), baseline=ratio_for("baseline"), min_samples=20),
)


def labels(service: str, stage: str = "canary") -> dict[str, str]:
    return {"service": service, "stage": stage}


def scenario_series() -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    healthy = const(0.0005)
    series = [
        *requests(labels("healthy"), START, NOW, rps=const(10), error_fraction=healthy),
        # 5 % errors from 20 minutes before NOW on.
        *requests(
            labels("breach"),
            START,
            NOW,
            rps=const(10),
            error_fraction=between(NOW - 20 * 60, NOW + 1, 0.05, 0.0005),
        ),
        # 30 % errors for two minutes, ending ten minutes before NOW.
        *requests(
            labels("blip"),
            START,
            NOW,
            rps=const(10),
            error_fraction=between(NOW - 12 * 60, NOW - 10 * 60, 0.3, 0.0005),
        ),
        # Counters that exist but never move: rate 0 / 0 = NaN.
        *requests(labels("idle"), START, NOW, rps=const(0), error_fraction=healthy),
        # Real traffic, but very little of it.
        *requests(labels("trickle"), START, NOW, rps=const(0.02), error_fraction=const(0.0)),
        *latency_histogram(
            labels("slow"),
            START,
            NOW,
            rps=5,
            slow_fraction=between(NOW - 15 * 60, NOW + 1, 0.3, 0.0),
        ),
        *latency_histogram(labels("fast"), START, NOW, rps=5, slow_fraction=const(0.002)),
    ]
    # Canary and baseline equally bad (an outage below the release), and a canary worse
    # than its healthy baseline.
    for service, baseline_errors, seed in (("shared", 0.05, 7), ("worse", 0.0005, 8)):
        series += requests(
            labels(service), START, NOW, rps=const(10), error_fraction=const(0.05), seed=seed
        )
        series += requests(
            labels(service, "baseline"),
            START,
            NOW,
            rps=const(10),
            error_fraction=const(baseline_errors),
            seed=seed + 100,
        )
    return series


@pytest.fixture(scope="module")
def client(prometheus: PrometheusServer) -> Iterator[PrometheusClient]:
    prometheus.push(scenario_series())
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as c:
        yield c


def check(
    client: PrometheusClient, slo: SLO, service: str, soak: timedelta, at: datetime = AT
) -> SLOResult:
    return evaluate(client, slo, "canary", service, at, at - soak)


def test_healthy_canary_passes(client: PrometheusClient) -> None:
    result = check(client, AVAILABILITY, "healthy", 2 * H)
    assert result.verdict == Verdict.PASS, result.reason
    assert 0 < float(result.numbers["error_ratio[5m]"]) < 0.002


def test_breach_in_the_middle_of_a_soak_fails_with_evidence(client: PrometheusClient) -> None:
    before = check(client, AVAILABILITY, "breach", 35 * M, at=AT - 25 * M)
    assert before.verdict == Verdict.PASS, before.reason
    after = check(client, AVAILABILITY, "breach", 60 * M)
    assert after.verdict == Verdict.FAIL, after.reason
    assert re.fullmatch(r"availability 0\.0[12]\d* > 0\.0144 \(1h/5m\)", after.evidence), (
        after.evidence
    )


def test_blip_shorter_than_the_short_window_passes(client: PrometheusClient) -> None:
    result = check(client, AVAILABILITY, "blip", 2 * H)
    assert result.verdict == Verdict.PASS, result.reason
    assert float(result.numbers["error_ratio[30m]"]) > 0.006  # the 30m window did burn


def test_no_traffic_is_inconclusive(client: PrometheusClient) -> None:
    result = check(client, AVAILABILITY, "nobody-home", 2 * H)
    assert result.verdict == Verdict.INCONCLUSIVE
    assert result.reason.startswith("no data")


def test_nan_is_inconclusive(client: PrometheusClient) -> None:
    result = check(client, AVAILABILITY, "idle", 2 * H)
    assert result.verdict == Verdict.INCONCLUSIVE
    assert "NaN" in result.reason


def test_too_few_requests_is_inconclusive(client: PrometheusClient) -> None:
    result = check(client, GOOD_TOTAL, "trickle", 2 * H)
    assert result.verdict == Verdict.INCONCLUSIVE, result.reason
    assert "< min_requests 1000" in result.reason
    assert check(client, GOOD_TOTAL, "healthy", 2 * H).verdict == Verdict.PASS


def test_prometheus_down_is_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with PrometheusClient(url, retries=2, sleep=lambda s: None) as down:
        result = evaluate(down, AVAILABILITY, "canary", "healthy", AT, AT - H)
        assert down.requests == 3  # one query's retries, then no more queries
    assert result.verdict == Verdict.ERROR
    assert result.reason.startswith("prometheus: unreachable at")


def test_a_stopped_prometheus_is_error(tmp_path: Path) -> None:
    with PrometheusServer.start(tmp_path) as own:
        own.push(scenario_series()[:2])
        with PrometheusClient(own.url, retries=1, sleep=lambda s: None) as c:
            assert evaluate(c, AVAILABILITY, "canary", "healthy", AT, AT - H).verdict == (
                Verdict.PASS
            )
            own.stop()
            result = evaluate(c, AVAILABILITY, "canary", "healthy", AT, AT - H)
    assert result.verdict == Verdict.ERROR
    assert result.reason.startswith("prometheus: unreachable at")


def test_a_query_prometheus_rejects_is_error(client: PrometheusClient) -> None:
    bad = SLO(name="typo", error_ratio="sum(rate(http_requests_total[{window}])")
    result = check(client, bad, "healthy", H)
    assert result.verdict == Verdict.ERROR
    assert result.reason.startswith("query rejected")


def test_baseline_as_bad_as_the_canary_passes_the_comparison(client: PrometheusClient) -> None:
    alone = check(client, AVAILABILITY, "shared", 40 * M)
    assert alone.verdict == Verdict.FAIL  # on its own, 5 % errors breach
    result = check(client, COMPARED, "shared", 40 * M)
    assert result.verdict == Verdict.PASS, result.reason
    assert "baseline is as bad" in result.reason
    assert int(result.numbers["canary_samples"]) == 41


def test_canary_worse_than_baseline_fails_the_comparison(client: PrometheusClient) -> None:
    result = check(client, COMPARED, "worse", 40 * M)
    assert result.verdict == Verdict.FAIL
    assert float(result.numbers["p_value"]) < 0.001


def test_latency_breach_fails(client: PrometheusClient) -> None:
    result = check(client, LATENCY, "slow", 30 * M)
    assert result.verdict == Verdict.FAIL, result.reason
    assert re.fullmatch(r"latency-p99 0\.\d+ > 0\.5 \(30m/5m\)", result.evidence), result.evidence


def test_healthy_latency_passes(client: PrometheusClient) -> None:
    result = check(client, LATENCY, "fast", 30 * M)
    assert result.verdict == Verdict.PASS, result.reason
    assert float(result.numbers["latency[5m]"]) <= 0.1


def test_post_gives_the_same_answers_as_get(
    client: PrometheusClient, prometheus: PrometheusServer
) -> None:
    by_get = check(client, AVAILABILITY, "breach", 60 * M)
    with PrometheusClient(prometheus.url, post=True) as posting:
        by_post = check(posting, AVAILABILITY, "breach", 60 * M)
    assert by_post == by_get
