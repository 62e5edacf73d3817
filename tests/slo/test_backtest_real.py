"""`slo backtest` reproduces a recorded soak: the live judge asked every minute of a
60-minute soak against a real Prometheus, and the backtest of the same hour from range
queries, give the same result at every tick — verdict, reason and numbers — and the same
revert, for every SLO kind and setting the soak uses; with at most two requests per query
and window."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from bot.adapters.prometheus import PrometheusClient

try:  # see conftest.py
    from prometheus_server import PrometheusServer
except ImportError:  # pragma: no cover
    from tests.prometheus_server import PrometheusServer
from bot.config.model import SLO, Comparison
from bot.core.slo import SLOResult, Verdict, evaluate
from bot.core.slo import backtest as bt
from bot.core.slo.backtest_plan import ticks
from bot.core.slo.hold import UNSURE, stage_action
from bot.core.slo.streak import Streak, count

from .synthetic import AT, NOW, START, between, const, requests

M = timedelta(minutes=1)
BUMP = AT - 60 * M
SEL = 'service="{service}",stage="{stage}"'
AVAILABILITY = SLO(
    name="availability",
    objective=99.9,
    error_ratio=(
        f'sum(rate(http_requests_total{{{SEL},code=~"5.."}}[{{window}}]))'
        f" / sum(rate(http_requests_total{{{SEL}}}[{{window}}]))"
    ),
)
COUNTED = SLO(
    name="counted",
    objective=99.0,
    good=f'sum(increase(http_requests_total{{{SEL},code!~"5.."}}[{{window}}]))',
    total=f"sum(increase(http_requests_total{{{SEL}}}[{{window}}]))",
    burn_rates=(),
)
COMPARED = SLO(
    name="compared",
    error_ratio=AVAILABILITY.error_ratio,
    compare=Comparison(
        canary=f'sum(rate(http_requests_total{{{SEL},code=~"5.."}}[1m]))',
        baseline='sum(rate(http_requests_total{service="blip",stage="canary",code=~"5.."}[1m]))',
        min_samples=5,
    ),
)
RULED = replace(AVAILABILITY, rules=((60 * M, f"slo:errors:ratio_rate1h{{{SEL}}}"),))
SLOS = {
    "default": AVAILABILITY,
    "limit3": replace(AVAILABILITY, failure_limit=3, interval=5 * M),
    "limit3-every-minute": replace(AVAILABILITY, failure_limit=3),
    "warm-up": replace(AVAILABILITY, initial_delay=3 * M),
    "good/total": COUNTED,
    "compare": COMPARED,
    "recording rule": RULED,
}
SERVICES = ("blip", "sustained", "blip90", "startup", "trickle", "gap", "ghost")


def _series() -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    healthy = 0.0005
    bump = NOW - 3600
    labels = [{"service": s, "stage": "canary"} for s in SERVICES]
    shapes = [
        between(bump + 120, bump + 150, 1.0, healthy),  # a 30 s outage
        between(bump, NOW + 1, 0.10, healthy),  # 10 % errors from the bump
        between(bump + 180, bump + 270, 1.0, healthy),  # a 90 s outage
        between(bump, bump + 120, 1.0, healthy),  # startup errors
    ]
    out = []
    for i, shape in enumerate(shapes):
        out += requests(
            labels[i], START, NOW, rps=const(10), error_fraction=shape, step=5.0, seed=i
        )
    out += requests(labels[4], START, NOW, rps=const(0.0005), error_fraction=const(0.3), step=60.0)
    out += requests(labels[5], START, bump + 1500, rps=const(10), error_fraction=const(0.2))
    for label in labels:  # a recording rule's output: 0.1 % errors over the last hour
        name = {"__name__": "slo:errors:ratio_rate1h", **label}
        out.append((name, [(t, 0.001) for t in range(START, NOW + 1, 60)]))
    return out  # "gap" stops 25 minutes into the soak; "ghost" has no data at all


@pytest.fixture(scope="module")
def client(prometheus: PrometheusServer) -> Iterator[PrometheusClient]:
    prometheus.push(_series())
    with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as c:
        yield c


def _live(client: PrometheusClient, slo: SLO, service: str) -> tuple[list[SLOResult], int | None]:
    """The live judge at every minute of the soak, folded as promotion folds it: each
    result, and the minute it reverts."""
    results: list[SLOResult] = []
    streaks: tuple[Streak, ...] = ()
    unsure: datetime | None = None
    reverted: int | None = None
    for k in range(61):
        now = BUMP + k * M
        result = evaluate(client, slo, "canary", service, now, BUMP)
        results.append(result)
        streaks = count(streaks, [result], {slo.name: slo}, now)
        action = stage_action([result], [slo], unsure, now, streaks)
        unsure = (unsure or now) if result.verdict in UNSURE else None
        if action in bt.STOPS and reverted is None:
            reverted = k
    return results, reverted


def _backtest(client: PrometheusClient, slo: SLO, service: str) -> tuple[bt.Timeline, int]:
    before = client.requests
    plan = bt.plan([bt.Job(slo, service)], "canary", ticks(BUMP, AT, M), BUMP, M)
    timeline = bt.replay(plan, bt.fetch(client, plan.requests))
    return timeline, client.requests - before


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize("variant", list(SLOS))
def test_the_backtest_gives_the_live_verdict_at_every_tick(
    client: PrometheusClient, variant: str, service: str
) -> None:
    slo = SLOS[variant]
    live, live_revert = _live(client, slo, service)
    timeline, sent = _backtest(client, slo, service)
    replayed = [p.results[0] for p in timeline.points]
    assert [p.at for p in timeline.points] == [BUMP + k * M for k in range(61)]
    for k, (want, got) in enumerate(zip(live, replayed, strict=True)):
        assert got == want, f"minute {k}"
    stop = timeline.stop
    assert (None if stop is None else (stop.at - BUMP) // M) == live_revert
    pairs = len({(s.role, s.template, s.window) for s in _specs(slo, service)})
    assert sent <= 2 * pairs, sent  # at most two per query and window, never one per tick


def _specs(slo: SLO, service: str) -> list[bt.QuerySpec]:
    from bot.core.slo.plan import plan_queries

    return plan_queries(slo, "canary", service, AT, None)


def test_the_soak_has_every_outcome(client: PrometheusClient) -> None:
    """The comparison above is worth something: the recorded soak holds passes, fails,
    reverts, inconclusive ticks (too little traffic, data that stopped, no data)."""
    outcomes = {service: _backtest(client, AVAILABILITY, service)[0] for service in SERVICES}
    assert outcomes["blip"].stop is None and outcomes["sustained"].stop is not None
    assert outcomes["blip90"].stop is not None
    trickle = _backtest(client, COUNTED, "trickle")[0].points[-1].results[0]
    assert trickle.verdict == Verdict.INCONCLUSIVE and "one bad request" in trickle.reason
    gap = [p.verdict for p in outcomes["gap"].points]
    assert gap[-1] == Verdict.INCONCLUSIVE and Verdict.FAIL in gap
    assert {p.verdict for p in outcomes["ghost"].points} == {Verdict.INCONCLUSIVE}


def test_a_recording_rule_window_is_never_cut(client: PrometheusClient) -> None:
    """15 minutes into the soak of 10 % errors the raw SLO fails its 1h rule cut to 15m;
    with the 1h window from a recording rule (0.1 % over the whole hour, before the bump
    included) it is asked as configured, never cut, and the rule's value is judged."""
    raw = evaluate(client, AVAILABILITY, "canary", "sustained", BUMP + 15 * M, BUMP)
    ruled = evaluate(client, RULED, "canary", "sustained", BUMP + 15 * M, BUMP)
    assert raw.verdict == Verdict.FAIL and "over 15m/5m" in raw.reason
    assert ruled.verdict == Verdict.PASS, ruled.reason
    assert ruled.numbers["error_ratio[1h]"] == 0.001 and "error_ratio[15m]" in ruled.numbers
