"""Release KPIs and DORA's four keys from the timelines (pure), and Prometheus gauges.

Where the data cannot exist yet (no promotion recorded, no evidence) a metric's value is
None with a note saying why; nothing is made up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import fmean
from typing import Any

from bot.core.train import COMPLETED, ROLLED_BACK
from bot.insights.facts import TrainFacts, train_facts
from bot.insights.timeline import TrainTimeline

DAY = 86400.0


@dataclass(frozen=True)
class Metric:
    name: str
    value: float | None
    unit: str  # ratio, seconds, count, per_day
    help: str
    note: str = ""
    labels: tuple[tuple[str, str], ...] = ()
    sample: int = 0  # how many trains (or events) the value rests on


@dataclass(frozen=True)
class Metrics:
    items: tuple[Metric, ...]
    trains: tuple[TrainFacts, ...]

    def get(self, name: str, **labels: str) -> Metric | None:
        want = tuple(sorted(labels.items()))
        return next(
            (m for m in self.items if m.name == name and tuple(sorted(m.labels)) == want), None
        )


def _ratio(name: str, num: int, den: int, help: str, none_note: str) -> Metric:
    if den == 0:
        return Metric(name, None, "ratio", help, none_note)
    return Metric(name, num / den, "ratio", help, sample=den)


def _mean(name: str, values: Sequence[float], unit: str, help: str, none_note: str) -> Metric:
    if not values:
        return Metric(name, None, unit, help, none_note)
    return Metric(name, fmean(values), unit, help, sample=len(values))


def _secs(a: datetime | None, b: datetime | None) -> float | None:
    return (b - a).total_seconds() if a is not None and b is not None else None


def _durations(pairs: Iterable[tuple[datetime | None, datetime | None]]) -> list[float]:
    return [d for a, b in pairs if (d := _secs(a, b)) is not None and d >= 0]


NO_PROMOTION = "no promotion recorded in the ledger yet (stage events appear once trains promote)"


def _release(trains: Sequence[TrainFacts]) -> Iterator[Metric]:
    ended = [t for t in trains if t.reached_departure and t.ended]
    yield _ratio(
        "release_success_rate",
        sum(t.state == COMPLETED for t in ended),
        len(ended),
        "trains completed / departed trains that have ended",
        "no departed train has ended yet",
    )
    yield _mean(
        "mean_time_to_roll_forward_seconds",
        _durations((t.merged, t.completed) for t in trains),
        "seconds",
        "train merge to last stage done",
        NO_PROMOTION,
    )
    yield _mean(
        "mean_time_to_roll_back_seconds",
        _durations((t.breach, t.rolled_back) for t in trains),
        "seconds",
        "SLO breach to revert",
        "no SLO breach followed by a revert recorded",
    )
    yield from _stages(trains)
    canary = [v for t in trains for s in t.stages if "canary" in s.stage for v in s.verdicts]
    yield _ratio(
        "canary_failure_rate",
        canary.count("fail"),
        len(canary),
        "failing canary verdicts / canary verdicts",
        "no canary verdict recorded",
    )
    merged = [t for t in trains if t.merged is not None]
    hit = [
        t
        for t in merged
        if any(
            t.merged and timedelta(0) <= at - t.merged <= timedelta(hours=24)
            for _, at in t.incidents
        )
    ]
    yield _ratio(
        "post_deploy_incident_rate",
        len(hit),
        len(merged),
        "merged trains with an incident within 24 h / merged trains",
        "no train merged yet",
    )


def _stages(trains: Sequence[TrainFacts]) -> Iterator[Metric]:
    names = list(dict.fromkeys(s.stage for t in trains for s in t.stages))
    if not names:
        yield Metric(
            "deployment_duration_seconds",
            None,
            "seconds",
            "stage start to stage done, per stage",
            NO_PROMOTION,
        )
        yield Metric(
            "rollout_success_rate",
            None,
            "ratio",
            "stages completed / stages started, per stage",
            NO_PROMOTION,
        )
        return
    for name in names:
        runs = [s for t in trains for s in t.stages if s.stage == name]
        label = (("stage", name),)
        dur = _mean(
            "deployment_duration_seconds",
            _durations((s.started, s.completed) for s in runs),
            "seconds",
            "stage start to stage done, per stage",
            f"no run of {name} has completed",
        )
        started = [s for s in runs if s.started]
        ok = _ratio(
            "rollout_success_rate",
            sum(s.completed is not None for s in started),
            len(started),
            "stages completed / stages started, per stage",
            f"{name} never started",
        )
        yield Metric(**{**dur.__dict__, "labels": label})
        yield Metric(**{**ok.__dict__, "labels": label})


def _evidence(trains: Sequence[TrainFacts]) -> Iterator[Metric]:
    burns = [
        max(e.value / e.threshold for e in t.evidence if e.threshold)
        for t in trains
        if any(e.threshold for e in t.evidence)
    ]
    yield _mean(
        "error_budget_consumed_ratio",
        burns,
        "ratio",
        "per train, the worst recorded SLI value / its threshold (1 = budget edge)",
        "no SLI evidence recorded",
    )
    latency = [e.value - e.threshold for t in trains for e in t.evidence if "latency" in e.slo]
    yield _mean(
        "latency_delta",
        latency,
        "value",
        "recorded latency SLI minus its threshold",
        "no latency evidence recorded",
    )
    gated = [t for t in trains if any(g == "security" for g, _ in t.gates)]
    passed = [t for t in gated if dict(t.gates).get("security") in ("success", "neutral")]
    yield _ratio(
        "security_gate_pass_rate",
        len(passed),
        len(gated),
        "merged trains whose security gate passed / trains with a security gate",
        "no merge commit records a security gate",
    )
    departed = [t for t in trains if t.reached_departure]
    yield _mean(
        "prs_per_train",
        [float(t.boarded) for t in departed],
        "count",
        "PRs on each departed train",
        "no train departed yet",
    )
    with_services = [float(t.services) for t in departed if t.services]
    yield _mean(
        "services_per_train", with_services, "count", "services each train bumped", NO_PROMOTION
    )
    bumped = [t for t in trains if t.tags]
    same = [
        t
        for t in bumped
        if all(len({n for s, _, n in t.tags if s == svc}) == 1 for svc in {s for s, _, _ in t.tags})
    ]
    yield _ratio(
        "artifact_consistency_rate",
        len(same),
        len(bumped),
        "trains that shipped the same tag to every stage / trains with bumps",
        NO_PROMOTION,
    )


def _dora(trains: Sequence[TrainFacts]) -> Iterator[Metric]:
    done = sorted(t.completed for t in trains if t.completed)
    if done:
        span = max((done[-1] - done[0]).total_seconds() / DAY, 1.0)
        yield Metric(
            "deployment_frequency_per_day",
            len(done) / span,
            "per_day",
            "trains reaching production per day",
            sample=len(done),
        )
    else:
        yield Metric(
            "deployment_frequency_per_day",
            None,
            "per_day",
            "trains reaching production per day",
            NO_PROMOTION,
        )
    yield _mean(
        "lead_time_seconds",
        _durations((t.first_labeled, t.completed) for t in trains),
        "seconds",
        "a PR's boarding label to production (first-commit times are not "
        "in the ledger; the label is the earliest time it holds)",
        NO_PROMOTION,
    )
    ended = [t for t in trains if t.state in (COMPLETED, ROLLED_BACK)]
    yield _ratio(
        "change_failure_rate",
        sum(t.state == ROLLED_BACK for t in ended),
        len(ended),
        "rolled back / (completed + rolled back)",
        NO_PROMOTION,
    )
    yield _mean(
        "time_to_restore_seconds",
        _durations((t.breach, t.rolled_back) for t in trains),
        "seconds",
        "SLO breach to revert",
        "no SLO breach followed by a revert recorded",
    )


def _counts(trains: Sequence[TrainFacts]) -> Iterator[Metric]:
    yield Metric("trains", float(len(trains)), "count", "trains in the ledger", sample=len(trains))
    for state in ("boarding", "departed", "merged", "promoting", COMPLETED, ROLLED_BACK, "aborted"):
        n = sum(t.state == state for t in trains)
        yield Metric(
            "trains_by_state",
            float(n),
            "count",
            "trains per state",
            labels=(("state", state),),
            sample=n,
        )


def compute(timelines: Iterable[TrainTimeline], since: datetime | None = None) -> Metrics:
    """Every metric over the trains created at or after `since` (all when None)."""
    trains = tuple(train_facts(t) for t in timelines)
    if since is not None:
        trains = tuple(t for t in trains if t.created is None or t.created >= since)
    items = [*_counts(trains), *_release(trains), *_evidence(trains), *_dora(trains)]
    return Metrics(tuple(items), trains)


# -- Prometheus --------------------------------------------------------------------------

PREFIX = "release_train_"


class _Collector:
    def __init__(self, metrics: Metrics | Callable[[], Metrics]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        current = self._metrics() if callable(self._metrics) else self._metrics
        families: dict[str, Any] = {}
        for metric in current.items:
            if metric.value is None:
                continue
            name = PREFIX + metric.name
            if name not in families:
                families[name] = GaugeMetricFamily(
                    name, metric.help, labels=[k for k, _ in metric.labels]
                )
            families[name].add_metric([v for _, v in metric.labels], metric.value)
        yield from families.values()

    def describe(self) -> list[Any]:
        return []


def export_gauges(registry: Any, metrics: Metrics | Callable[[], Metrics]) -> Any:
    """Register the release metrics as gauges (``release_train_*``) on `registry`; pass a
    callable to recompute at each scrape. Metrics without a value are left out. Returns the
    collector (``registry.unregister(it)`` to remove)."""
    collector = _Collector(metrics)
    registry.register(collector)
    return collector
