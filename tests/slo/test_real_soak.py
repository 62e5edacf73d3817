"""A young soak against a real Prometheus: a blip does not revert, a real breach does, fast.

The stage is bumped an hour before the data ends; the judge is asked every minute of that
hour, as the scheduler would, with the default burn-rate rules (14.4x over 1h/5m, 6x over
6h/30m) and a 99.9 % objective. Then the same checks folded into streaks of failing checks
(`failure_limit`, `interval`) and a warm-up (`initial_delay`) over startup errors: the
figures docs/slo.md publishes.
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
from dataclasses import replace

from bot.config.model import SLO
from bot.core.slo import SLOResult, Verdict, evaluate
from bot.core.slo.hold import stage_action
from bot.core.slo.streak import Streak, count

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
        *requests({"service": "blip90", "stage": "canary"}, START, NOW, rps=const(10),
                  error_fraction=between(BUMP + 180, BUMP + 270, 1.0, healthy), step=5.0),
        *requests({"service": "startup", "stage": "canary"}, START, NOW, rps=const(10),
                  error_fraction=between(BUMP, BUMP + 120, 1.0, healthy), step=5.0, seed=5),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def client(prometheus: PrometheusServer) -> Iterator[PrometheusClient]:
    prometheus.push(_series())
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as c:
        yield c


def _results(client: PrometheusClient, service: str, slo: SLO = AVAILABILITY) -> list[SLOResult]:
    bump = AT - 60 * M
    return [evaluate(client, slo, "canary", service, bump + k * M, bump) for k in range(1, 61)]


def _minutes(client: PrometheusClient, service: str, slo: SLO = AVAILABILITY) -> dict[int, Verdict]:
    return {k: r.verdict for k, r in enumerate(_results(client, service, slo), start=1)}


def _reverted_at(results: list[SLOResult], slo: SLO, every: int = 1) -> int | None:
    """The minute the stage reverts when the checks come `every` minutes: each folded into
    the streak as promotion does (`bot.core.slo.streak`)."""
    streaks: tuple[Streak, ...] = ()
    for k in range(every, 61, every):
        now = AT - 60 * M + k * M
        checked = [results[k - 1]]
        streaks = count(streaks, checked, {slo.name: slo}, now)
        if stage_action(checked, [slo], None, now, streaks) == "revert":
            return k
    return None


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


def test_a_90_second_outage_fails_every_check_while_the_short_window_sees_it(
    client: PrometheusClient,
) -> None:
    """docs/slo.md, "Choosing the numbers": from minute 4 to about minute 9, then never."""
    verdicts = _minutes(client, "blip90")
    failed = sorted(k for k, v in verdicts.items() if v == Verdict.FAIL)
    assert failed == list(range(failed[0], failed[-1] + 1)), verdicts  # one run
    assert 4 <= failed[0] <= 5 and 8 <= failed[-1] <= 10, failed


def test_failure_limit_forgives_the_outage_only_with_checks_a_short_window_apart(
    client: PrometheusClient,
) -> None:
    results = _results(client, "blip90")
    first = min(k for k, r in enumerate(results, start=1) if r.verdict == Verdict.FAIL)
    assert _reverted_at(results, AVAILABILITY) == first  # the default: the first fail
    limit3 = replace(AVAILABILITY, failure_limit=3)
    assert _reverted_at(results, limit3) == first + 2  # every minute: one breach, 3 checks
    assert _reverted_at(results, replace(limit3, interval=5 * M)) is None
    assert _reverted_at(results, limit3, every=5) is None  # the Action's 5-minute schedule


def test_a_sustained_breach_reverts_k_minus_1_intervals_after_the_first_fail(
    client: PrometheusClient,
) -> None:
    """docs/slo.md: (k - 1) x max(checks, interval) after the table's row."""
    results = _results(client, "sustained")
    first = min(k for k, r in enumerate(results, start=1) if r.verdict == Verdict.FAIL)
    slo = replace(AVAILABILITY, failure_limit=3, interval=5 * M)
    assert _reverted_at(results, slo) == first + 10
    on_schedule = _reverted_at(results, AVAILABILITY, every=5)
    assert on_schedule is not None
    assert _reverted_at(results, replace(slo, interval=M), every=5) == on_schedule + 10


def test_a_warm_up_keeps_startup_errors_from_counting(client: PrometheusClient) -> None:
    """Two minutes of nothing but errors right after the bump: a breach (120 s > 51.8 s),
    unless the SLO warms up for three minutes; then every check passes."""
    assert Verdict.FAIL in _minutes(client, "startup").values()
    warm = replace(AVAILABILITY, initial_delay=3 * M)
    results = _results(client, "startup", warm)
    assert [r.verdict for r in results[:2]] == [Verdict.PASS, Verdict.PASS]
    assert results[0].reason.startswith("warming up until ") and not results[0].numbers.get(
        "allowed_error_ratio"
    )
    assert {r.verdict for r in results[3:]} == {Verdict.PASS}, [r.reason for r in results]
