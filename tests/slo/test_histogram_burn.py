"""Latency as a burn rate from histogram buckets, against a real Prometheus: the share of
requests slower than the threshold burns the budget with the multi-window rules, whichever
way the client wrote the bucket bound; a threshold that is no bucket bound is an error,
never a fail; and the backtest gives the live verdicts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters.prometheus import PrometheusClient
from bot.cli import main
from bot.config.build import build_slo
from bot.config.slo_histogram import bucket_queries, le_pattern
from bot.core.slo import Verdict, evaluate
from bot.core.slo import backtest as bt
from bot.core.slo.backtest_plan import ticks

try:  # see conftest.py
    from prometheus_server import PrometheusServer
except ImportError:  # pragma: no cover
    from tests.prometheus_server import PrometheusServer

from .synthetic import AT, NOW, START, between, const, latency_histogram

M = timedelta(minutes=1)
BUMP = AT - 60 * M
BUCKETS = 'http_request_duration_seconds_bucket{service="{service}",stage="{stage}"}'


def _slo(threshold: float) -> dict[str, object]:
    return {"name": "fast", "objective": 99, "histogram": BUCKETS, "threshold": threshold}


@pytest.fixture(scope="module")
def client(prometheus: PrometheusServer) -> Iterator[PrometheusClient]:
    bump = NOW - 3600
    series = []
    for service, slow in (("steady", const(0.001)), ("slower", between(bump, NOW + 1, 0.3, 0.001))):
        labels = {"service": service, "stage": "canary"}
        series += latency_histogram(labels, START, NOW, rps=10, slow_fraction=slow)
    prometheus.push(series)
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as c:
        yield c


def test_the_bucket_queries() -> None:
    good, total = bucket_queries(BUCKETS, 0.5)
    assert good == (
        'sum(rate(http_request_duration_seconds_bucket{service="{service}",stage="{stage}",'
        'le=~"0\\\\.50*"}[{window}]))'
    )
    assert total.endswith(',le="+Inf"}[{window}]))')
    assert (
        bucket_queries("h", 1, ("pod",))[0] == 'sum by (pod) (rate(h{le=~"1(\\\\.0*)?"}[{window}]))'
    )
    assert le_pattern(0.25) == "0\\\\.250*"


def test_slow_requests_burn_the_budget_and_revert(client: PrometheusClient) -> None:
    slo = build_slo(_slo(0.5))
    steady = evaluate(client, slo, "canary", "steady", AT, BUMP)
    assert steady.verdict == Verdict.PASS, steady.reason
    slower = evaluate(client, slo, "canary", "slower", AT, BUMP)
    assert slower.verdict == Verdict.FAIL and "burn rate above 14.4x" in slower.reason
    assert slower.numbers["error_ratio[5m]"] == pytest.approx(0.3, rel=0.05)


def test_a_whole_number_bound_matches_the_clients_1_0(client: PrometheusClient) -> None:
    """The synthetic client writes le="1.0"; slow requests take 0.8 s: none is slower."""
    result = evaluate(client, build_slo(_slo(1)), "canary", "slower", AT, BUMP)
    assert result.verdict == Verdict.PASS, result.reason
    assert result.numbers["error_ratio[5m]"] == 0.0


def test_a_threshold_that_is_no_bucket_bound_is_an_error_never_a_fail(
    client: PrometheusClient,
) -> None:
    result = evaluate(client, build_slo(_slo(0.3)), "canary", "steady", AT, BUMP)
    assert result.verdict == Verdict.ERROR
    assert "no bucket le=0.3 in the histogram over 5m" in result.reason


def test_the_backtest_gives_the_live_verdicts(client: PrometheusClient) -> None:
    slo = build_slo(_slo(0.5))
    plan = bt.plan([bt.Job(slo, "slower")], "canary", ticks(BUMP, AT, 5 * M), BUMP, 5 * M)
    timeline = bt.replay(plan, bt.fetch(client, plan.requests))
    live = [evaluate(client, slo, "canary", "slower", p.at, BUMP) for p in timeline.points]
    assert [p.results[0] for p in timeline.points] == live
    assert timeline.stop is not None


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    threshold: 0.5\n", ""),
        ("", "SLO 'fast' has histogram but no threshold"),
        ("    threshold: 0.5\n    latency: q[{window}]\n", "needs exactly one of"),
    ],
)
def test_validate(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: str,
    message: str,
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    path = tmp_path / "cfg.yml"
    path.write_text(
        "version: 1\ntrains:\n  - name: d\nslos:\n  - name: fast\n"
        f"    histogram: {BUCKETS}\n{extra}"
    )
    code = main(["validate", str(path)])
    out = capsys.readouterr().out
    assert (code, message in out) == ((1, True) if message else (0, True)), out


def test_validate_refuses_a_histogram_that_is_no_selector(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    path = tmp_path / "cfg.yml"
    path.write_text(
        "version: 1\ntrains:\n  - name: d\nslos:\n  - name: fast\n"
        "    histogram: rate(h_bucket[5m])\n    threshold: 0.5\n"
    )
    assert main(["validate", str(path)]) == 1
    assert f"{path}:6:16: SLO 'fast': histogram must be a bucket series selector" in (
        capsys.readouterr().out
    )
