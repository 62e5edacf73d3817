"""The demo's metrics source: pure answers, and the SLO judge asking it over HTTP."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.prometheus import PrometheusClient
from bot.config.load import load_config_text
from bot.config.model import SLO
from bot.core.slo import Verdict, evaluate
from bot.demo.metrics import (
    METRIC,
    BadQuery,
    Breach,
    MetricsServer,
    SimulatedSLIs,
    answer,
    count,
    counter_series,
    parse_selector,
)
from bot.demo.metrics import evaluate as sim
from bot.demo.scene import MONDAY, breach_plan
from bot.errors import ExternalError

DEMO_CONFIG = Path("bot/sandbox/demo/shop/.github/release-train.yml")
T = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
SEL = 'http_requests_total{service="checkout",env="canary"%s}'
ALL = SEL % ""
ERRORS = SEL % ',code=~"5.."'
GOOD = SEL % ',code!~"5.."'


@pytest.fixture(scope="module")
def slo() -> SLO:
    config = load_config_text(DEMO_CONFIG.read_text(encoding="utf-8"), str(DEMO_CONFIG))
    return config.slos[0]


@pytest.fixture
def server() -> Iterator[MetricsServer]:
    with MetricsServer(breach_plan(seed=0), clock=lambda: T) as running:
        yield running


# -- the pure core -------------------------------------------------------------------------


def test_increase_counts_requests_and_a_breach_half_inside_the_window() -> None:
    slis = SimulatedSLIs(healthy_error_ratio=0.0, breaches=(Breach("checkout", "canary", T, 0.1),))
    rate = slis.rate("checkout", "canary")
    total = sim(f"sum(increase({ALL}[1h]))", T + timedelta(minutes=30), slis)
    errors = sim(f"sum(increase({ERRORS}[1h]))", T + timedelta(minutes=30), slis)
    good = sim(f"sum(increase({GOOD}[1h]))", T + timedelta(minutes=30), slis)
    assert total == pytest.approx(rate * 3600)
    assert errors == pytest.approx(rate * 1800 * 0.1)  # only the half after the breach began
    assert good + errors == pytest.approx(total)
    per_second = sim(f"sum(rate({ALL}[5m]))", T, slis)
    assert per_second == pytest.approx(rate)


def test_an_error_ratio_and_a_breach_that_ended() -> None:
    breach = Breach("checkout", "canary", T, 0.2, end=T + timedelta(minutes=10))
    slis = SimulatedSLIs(healthy_error_ratio=0.001, breaches=(breach,))
    ratio = f"sum(rate({ERRORS}[5m])) / sum(rate({ALL}[5m]))"
    assert sim(ratio, T + timedelta(minutes=5), slis) == pytest.approx(0.2)
    assert sim(ratio, T + timedelta(minutes=30), slis) == pytest.approx(0.001)
    other = ratio.replace("canary", "staging")
    assert sim(other, T + timedelta(minutes=5), slis) == pytest.approx(0.001)


def test_traffic_differs_by_service_and_seed_but_is_a_pure_function() -> None:
    a, b = SimulatedSLIs(seed=1), SimulatedSLIs(seed=2)
    assert a.rate("checkout", "canary") == SimulatedSLIs(seed=1).rate("checkout", "canary")
    rates = {
        a.rate("checkout", "canary"),
        a.rate("frontend", "canary"),
        b.rate("checkout", "canary"),
    }
    assert len(rates) == 3
    assert all(15 <= r <= 25 for r in rates)


def test_queries_it_cannot_answer() -> None:
    with pytest.raises(BadQuery):
        parse_selector('sum(increase(http_requests_total{service=~"check.*",env="canary"}[1h]))')
    with pytest.raises(BadQuery):
        parse_selector(f"sum(increase({ALL}))")
    status, body = answer("/api/v1/query", {"query": "up{job="}, SimulatedSLIs(), T)
    assert status == 400 and body["errorType"] == "bad_data"
    status, body = answer("/api/v1/query", {"query": 'up{job="x"}'}, SimulatedSLIs(), T)
    assert status == 200 and body["data"]["result"] == []  # no such series: empty, not an error
    for other in ("up", "sum(rate(node_cpu_seconds_total[5m]))"):
        assert answer("/api/v1/query", {"query": other}, SimulatedSLIs(), T)[1]["data"] == {
            "resultType": "vector",
            "result": [],
        }
    assert answer("/api/v1/query", {"query": f"sum({METRIC})"}, SimulatedSLIs(), T)[0] == 400
    assert answer("/api/v1/labels", {"query": "x"}, SimulatedSLIs(), T)[0] == 404


def test_a_raw_counter_and_zero_over_zero() -> None:
    slis = SimulatedSLIs(healthy_error_ratio=0.0)
    assert count(slis, parse_selector(SEL % ""), T) > 0
    errors = f"sum(rate({ERRORS}[5m]))"
    assert math.isnan(sim(f"{errors} / {errors}", T, slis))


# -- over HTTP, through the bot's Prometheus client and the SLO judge ----------------------


def test_the_judge_passes_train_1_stages_and_fails_train_2_canary(
    server: MetricsServer, slo: SLO
) -> None:
    monday = MONDAY.replace(hour=9, minute=30)
    tuesday = MONDAY + timedelta(days=1, hours=1, minutes=30)
    with PrometheusClient(server.url, retries=0) as prom:
        for stage in ("staging", "canary", "production"):
            result = evaluate(prom, slo, stage, "checkout", monday, monday - timedelta(minutes=20))
            assert result.verdict is Verdict.PASS, result
        breach = evaluate(prom, slo, "canary", "checkout", tuesday, tuesday - timedelta(minutes=20))
        healthy = evaluate(
            prom, slo, "canary", "frontend", tuesday, tuesday - timedelta(minutes=20)
        )
    assert breach.verdict is Verdict.FAIL
    assert breach.evidence.startswith("availability 0.05 > 0.0432 over the 20m soak (of 1h)")
    assert healthy.verdict is Verdict.PASS
    assert server.requests > 0


def test_post_range_queries_and_a_too_quiet_service(server: MetricsServer, slo: SLO) -> None:
    quiet = SimulatedSLIs(requests_per_second=0.01)
    at = T + timedelta(hours=2)
    with MetricsServer(quiet) as low, PrometheusClient(low.url, post=True, retries=0) as prom:
        result = evaluate(prom, slo, "canary", "checkout", at, at - timedelta(minutes=10))
        assert result.verdict is Verdict.INCONCLUSIVE and "min_requests" in result.reason
        series = prom.query_range(
            f"sum(rate({ALL}[5m]))", T, T + timedelta(minutes=3), timedelta(minutes=1)
        )
    assert [len(s.points) for s in series.series] == [4]
    with PrometheusClient(server.url, retries=0) as prom, pytest.raises(ExternalError) as err:
        prom.query("sum(rate(http_requests_total{service=", T)
    assert err.value.status == 400


def test_without_a_time_parameter_the_clock_says_when(server: MetricsServer) -> None:
    import httpx

    query = f"sum(increase({ERRORS}[10m]))"
    body = httpx.get(server.url + "/api/v1/query", params={"query": query}).json()
    assert body["data"]["result"][0]["value"][0] == T.timestamp()
    assert float(body["data"]["result"][0]["value"][1]) > 0


def test_counters_for_a_real_prometheus_add_up_to_the_simulation() -> None:
    slis = SimulatedSLIs(breaches=(Breach("checkout", "canary", T, 0.1),))
    series = counter_series(
        slis,
        ("checkout",),
        ("canary", "staging"),
        T - timedelta(hours=1),
        T + timedelta(hours=1),
        timedelta(minutes=1),
    )
    by = {(lab["env"], lab["code"]): points for lab, points in series}
    assert len(series) == 4 and all(len(p) == 121 for p in by.values())
    ok, bad = by[("canary", "200")], by[("canary", "500")]
    assert all(a[1] <= b[1] for a, b in itertools.pairwise(bad))  # counters only grow
    hour = slice(60, 121)  # the hour after the breach began
    errors = bad[hour][-1][1] - bad[hour][0][1]
    total = errors + ok[hour][-1][1] - ok[hour][0][1]
    assert errors / total == pytest.approx(0.1, rel=1e-3)
    expected = sim(f"sum(increase({ALL}[1h]))", T + timedelta(hours=1), slis)
    assert total == pytest.approx(expected, rel=1e-3)
