"""`slo backtest`: the judge replayed over a past period, tick by tick, from range queries.

Every tick is judged by the same code as a live check — `plan_queries` and `judge` for each
SLO and service, then `streak.count` and `hold.stage_action` for the stage, so warm-up
(`initial_delay`), minimum traffic, `failure_limit`, `interval` and `inconclusive_after`
act as they would have — only the answers come from range queries asked once for the
whole period (`bot.core.slo.backtest_plan`). Pure except `fetch`, which takes the client
as an argument (like `evaluate`). A tick without data is `inconclusive`, never `pass`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config.model import SLO
from bot.core.slo.answers import Verdict
from bot.core.slo.backtest_plan import (
    Lookup,
    RangeRequest,
    Source,
    chunks,
    combined,
    merge,
    plan_requests,
)
from bot.core.slo.evaluate import QueryClient
from bot.core.slo.hold import UNSURE, stage_action
from bot.core.slo.judge import SLOResult, judge, stage_verdict
from bot.core.slo.plan import plan_queries
from bot.core.slo.results import Answer, ErrorValue, RangeResult
from bot.core.slo.streak import Streak, count
from bot.errors import ExternalError

STOPS = ("revert", "abort")  # actions that end a soak


@dataclass(frozen=True)
class Job:
    """One SLO judged for one service."""

    slo: SLO
    service: str


@dataclass(frozen=True)
class Point:
    """One tick of the timeline: every job's result and what the stage would have done."""

    at: datetime
    results: tuple[SLOResult, ...]
    verdict: Verdict  # the stage's (observe-only SLOs left out)
    action: str  # ok | failing | hold | abort | revert (`stage_action`)
    streaks: tuple[Streak, ...] = ()


@dataclass(frozen=True)
class Plan:
    """The ticks, the specs each job asks at each, and the range requests answering them."""

    stage: str
    jobs: tuple[Job, ...]
    ticks: tuple[datetime, ...]
    since: datetime | None
    requests: tuple[RangeRequest, ...]
    sources: dict[object, Source]  # by query text (range queries: text, step, phase)


@dataclass(frozen=True)
class Timeline:
    stage: str
    since: datetime | None
    points: tuple[Point, ...]

    @property
    def stop(self) -> Point | None:
        """The first tick at which the stage would have been reverted (or aborted)."""
        return next((p for p in self.points if p.action in STOPS), None)

    def counts(self) -> dict[str, int]:
        out = {v.value: 0 for v in Verdict}
        for p in self.points:
            out[p.verdict.value] += 1
        return out


def plan(
    jobs: Sequence[Job],
    stage: str,
    ticks: Sequence[datetime],
    since: datetime | None,
    step: timedelta,
) -> Plan:
    """Every query the live judge would have asked at `ticks` (`step` apart), and the range
    requests that answer them all."""
    specs = (
        spec
        for at in ticks
        for job in jobs
        for spec in plan_queries(job.slo, stage, job.service, at, since)
    )
    requests, sources = plan_requests(specs, step)
    return Plan(stage, tuple(jobs), tuple(ticks), since, tuple(requests), sources)


def fetch(client: QueryClient, requests: Iterable[RangeRequest]) -> dict[RangeRequest, Answer]:
    """Ask every request (split into Prometheus-sized chunks). A rejected query (a 4xx)
    becomes an `ErrorValue`, as in a live check; an unreachable Prometheus raises
    `ExternalError` (a backtest with holes in it would mislead)."""
    fetched: dict[RangeRequest, Answer] = {}
    for request in requests:
        try:
            fetched[request] = _ask(client, request)
        except ExternalError as exc:
            if exc.status is None or not 400 <= exc.status < 500 or exc.status == 429:
                raise
            message = exc.message.removeprefix(f"{exc.system}: ")
            fetched[request] = ErrorValue(message, status=exc.status)
    return fetched


def _ask(client: QueryClient, request: RangeRequest) -> RangeResult:
    promql = request.promql
    for attempt in ("", "vector"):  # parts that give a scalar need vector() to be labelled
        if request.parts:
            promql = combined(request.parts, attempt)
        try:
            return merge(
                client.query_range(promql, start, end, request.step)
                for start, end in chunks(request)
            )
        except ExternalError as exc:
            if not request.parts or attempt or exc.status is None or exc.status >= 500:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def replay(plan: Plan, fetched: Mapping[RangeRequest, Answer]) -> Timeline:
    """The timeline: each tick judged, folded into streaks and decided as promotion does."""
    lookup = Lookup(plan.sources, fetched)
    slos = {job.slo.name: job.slo for job in plan.jobs}
    streaks: tuple[Streak, ...] = ()
    unsure_since: datetime | None = None
    points = []
    for at in plan.ticks:
        results = tuple(_judge(plan, job, at, lookup) for job in plan.jobs)
        streaks = count(streaks, results, slos, at)
        action = stage_action(results, slos.values(), unsure_since, at, streaks)
        doubt = any(r.verdict in UNSURE and not r.observe for r in results)
        unsure_since = (unsure_since or at) if doubt else None
        points.append(Point(at, results, stage_verdict(results), action, streaks))
    return Timeline(plan.stage, plan.since, tuple(points))


def _judge(plan: Plan, job: Job, at: datetime, lookup: Lookup) -> SLOResult:
    specs = plan_queries(job.slo, plan.stage, job.service, at, plan.since)
    answers = {s: a for s in specs if (a := lookup.answer(s)) is not None}
    return judge(job.slo, answers, plan.stage, job.service, at, plan.since)
