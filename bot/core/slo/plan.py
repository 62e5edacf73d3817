"""Which PromQL queries an SLO needs at an instant: burn-rate windows clipped to the soak.

`plan_queries` is pure: an SLO, a stage, a service, the evaluation instant `at` and the
instant the stage was bumped (`since`) in; a list of `QuerySpec` out. The judge looks
answers up by the same specs, so planning twice with the same inputs gives equal keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config.model import SLO, BurnRate
from bot.config.slo_defaults import DEFAULT_BURN_RATES
from bot.core.slo.promql import render_query

MIN_WINDOW = timedelta(seconds=1)
RECORDED = ("error_ratio", "latency")  # the kinds whose query `rules` may stand in for
MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series


@dataclass(frozen=True)
class QuerySpec:
    """One query to ask: instant at `at` over `window`, or a range from `start` by `step`."""

    role: str  # error_ratio | good | total | requests | latency | canary | baseline
    promql: str
    at: datetime
    window: timedelta | None = None
    start: datetime | None = None  # set for range queries
    step: timedelta | None = None
    # The template the query was rendered from (not part of its identity): a backtest asks
    # the windows of one template together (`bot.core.slo.backtest_plan`).
    template: str = field(default="", compare=False)

    @property
    def is_range(self) -> bool:
        return self.start is not None


def clip_rules(
    rules: tuple[BurnRate, ...],
    elapsed: timedelta | None,
    fixed: frozenset[timedelta] = frozenset(),
) -> tuple[BurnRate, ...]:
    """Shorten windows longer than the time since the bump (whole seconds, at least 1 s),
    except the `fixed` ones (recording rules: their window cannot be cut)."""
    if elapsed is None:
        return rules
    limit = timedelta(seconds=int(elapsed.total_seconds()))

    def cut(window: timedelta) -> timedelta:
        return window if window in fixed else min(window, limit)

    return tuple(BurnRate(long=cut(r.long), short=cut(r.short), factor=r.factor) for r in rules)


def burn_rules(slo: SLO, at: datetime, since: datetime | None) -> tuple[BurnRate, ...]:
    """The SLO's burn-rate rules (or the SRE workbook defaults), clipped to the soak; a
    window with a recording rule (`rules`) is never cut."""
    elapsed = None if since is None else at - since
    fixed = frozenset(w for w, _ in slo.rules)
    return clip_rules(slo.burn_rates or DEFAULT_BURN_RATES, elapsed, fixed)


def judged_from(slo: SLO, since: datetime | None) -> datetime | None:
    """Where the data that counts for the new version starts: the bump, plus the SLO's
    warm-up (`initial_delay`); errors while the service warms up never count."""
    return None if since is None else since + slo.initial_delay


def warming_until(slo: SLO, at: datetime, since: datetime | None) -> datetime | None:
    """The end of the warm-up when `at` is still inside it, else None."""
    start = judged_from(slo, since)
    return start if start is not None and slo.initial_delay and at < start else None


def soak_too_short(at: datetime, since: datetime | None) -> bool:
    return since is not None and at - since < MIN_WINDOW


def kind(slo: SLO) -> str:
    """`error_ratio`, `good_total`, `latency`, or `compare` (a comparison-only SLO)."""
    if slo.error_ratio:
        return "error_ratio"
    if slo.good and slo.total:
        return "good_total"
    if slo.latency:
        return "latency"
    return "compare"


def primary_windows(slo: SLO, rules: tuple[BurnRate, ...]) -> list[timedelta]:
    """Windows the primary query is asked over: every rule's (latency: the first rule's)."""
    chosen = rules[:1] if kind(slo) == "latency" else rules
    return sorted({w for r in chosen for w in (r.long, r.short)})


def plan_queries(
    slo: SLO, stage: str, service: str, at: datetime, since: datetime | None
) -> list[QuerySpec]:
    """Every query `judge` needs for this SLO, stage and service at `at` (none while it
    warms up: `initial_delay`)."""
    since = judged_from(slo, since)
    if soak_too_short(at, since):
        return []
    rules = burn_rules(slo, at, since)
    windows = primary_windows(slo, rules)
    templates = {
        "error_ratio": [("error_ratio", slo.error_ratio)],
        "good_total": [("good", slo.good), ("total", slo.total)],
        "latency": [("latency", slo.latency)],
        "compare": [],
    }[kind(slo)]
    recorded = dict(slo.rules) if kind(slo) in RECORDED else {}
    specs = [
        QuerySpec(role, render_query(t, stage, service, w), at, window=w, template=t)
        for role, template in templates
        for w in windows
        for t in (recorded.get(w, template),)
    ]
    longest = max(r.long for r in rules)
    if slo.requests:
        promql = render_query(slo.requests, stage, service, longest)
        specs.append(QuerySpec("requests", promql, at, longest, template=slo.requests))
    if slo.compare is not None:
        step = slo.compare.step
        start = since if since is not None else at - rules[0].long
        start = max(start, at - step * (MAX_POINTS - 1))
        for role, template in (("canary", slo.compare.canary), ("baseline", slo.compare.baseline)):
            promql = render_query(template, stage, service, step)
            spec = QuerySpec(role, promql, at, step, start=start, step=step, template=template)
            specs.append(spec)
    return specs
