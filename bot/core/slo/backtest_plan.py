"""Which range queries answer every query the judge would have asked over a past period.

Pure. The live judge asks instant queries at each check (`plan_queries`); a backtest
asks the same queries for every tick of a period with range queries instead, never one
request per tick:

- a query asked at many ticks (a window as configured, the same text each time) is one
  ``query_range`` from its first tick to its last, evaluated at exactly those ticks;
- during a young soak a window is cut to the time since the bump, so its text changes at
  every tick and each is asked once: those of one template are asked together, each part
  labelled with `PART` (``label_replace(q, "backtest_part", "3", "", "") or ...``), in
  requests of at most `PARTS` parts over the ticks they cover;
- a comparison's range queries (canary, baseline) of one text are one range query over
  the union of their ranges, each tick reading its own slice.

A range query evaluates its expression at ``start + k * step`` exactly as an instant
query at that time, so the answers are the live judge's. Prometheus refuses more than
`MAX_POINTS` points per series: longer requests are split (`chunks`) and merged back.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.core.slo.plan import MAX_POINTS, QuerySpec
from bot.core.slo.results import Answer, ErrorValue, Labels, QueryResult, RangeResult, Sample
from bot.core.slo.results import Series as RangeSeries

PART = "backtest_part"
PARTS = 120  # cut-window parts per combined request (each is evaluated at all its ticks)


@dataclass(frozen=True)
class RangeRequest:
    """One range query to send; `parts` is set for a combined request (its `promql` is
    `combined(parts)`), else the request is `promql` itself."""

    promql: str
    start: datetime
    end: datetime
    step: timedelta
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Source:
    """Where one spec's answer comes from: a request, and its part (None: all of it)."""

    request: RangeRequest
    part: str | None = None


def ticks(start: datetime, end: datetime, step: timedelta) -> list[datetime]:
    """`start`, `start + step`, ... up to `end` (inclusive)."""
    if step <= timedelta(0):
        raise ValueError("the step must be positive")
    count = int((end - start) / step) + 1 if end >= start else 0
    return [start + k * step for k in range(count)]


def combined(parts: tuple[str, ...], wrap: str = "") -> str:
    """One PromQL expression answering every part, each labelled `PART`=its index;
    `wrap` (``vector``) for parts that give a scalar."""
    return " or ".join(
        f'label_replace({wrap}({p}), "{PART}", "{i}", "", "")' for i, p in enumerate(parts)
    )


@dataclass
class _Seen:
    """Where one query text was asked: its role, template and first and last tick."""

    role: str
    template: str
    first: datetime
    last: datetime


def _key(spec: QuerySpec) -> tuple[str, timedelta, float] | str:
    """An instant spec's text; a range spec's text, step and phase (points at equal times)."""
    if spec.start is None or spec.step is None:
        return spec.promql
    return (spec.promql, spec.step, spec.start.timestamp() % spec.step.total_seconds())


def plan_requests(
    specs: Iterable[QuerySpec], step: timedelta
) -> tuple[list[RangeRequest], dict[object, Source]]:
    """The range requests answering `specs` (asked at ticks `step` apart), and where each
    spec's answer comes from (by `_key`)."""
    instant: dict[str, _Seen] = {}
    ranged: dict[tuple[str, timedelta, float], _Seen] = {}
    for spec in specs:
        key = _key(spec)
        table: dict[Any, _Seen] = instant if isinstance(key, str) else ranged
        first = spec.start if spec.start is not None else spec.at
        seen = table.get(key)
        if seen is None:
            table[key] = _Seen(spec.role, spec.template, first, spec.at)
        else:
            seen.first, seen.last = min(seen.first, first), max(seen.last, spec.at)
    requests: list[RangeRequest] = []
    sources: dict[object, Source] = {}
    single: dict[tuple[str, str], list[tuple[datetime, str]]] = {}
    for promql, seen in instant.items():
        if seen.first == seen.last:
            single.setdefault((seen.role, seen.template), []).append((seen.first, promql))
            continue
        request = RangeRequest(promql, seen.first, seen.last, step)
        requests.append(request)
        sources[promql] = Source(request)
    for group in single.values():
        _combine(sorted(group), step, requests, sources)
    for key, seen in ranged.items():
        request = RangeRequest(key[0], seen.first, seen.last, key[1])
        requests.append(request)
        sources[key] = Source(request)
    return requests, sources


def _combine(
    group: list[tuple[datetime, str]],
    step: timedelta,
    requests: list[RangeRequest],
    sources: dict[object, Source],
) -> None:
    for i in range(0, len(group), PARTS):
        members = group[i : i + PARTS]
        parts = tuple(promql for _, promql in members)
        request = RangeRequest(combined(parts), members[0][0], members[-1][0], step, parts)
        requests.append(request)
        sources |= {promql: Source(request, str(n)) for n, promql in enumerate(parts)}


def chunks(request: RangeRequest) -> list[tuple[datetime, datetime]]:
    """(start, end) of requests of at most `MAX_POINTS` points covering `request`."""
    out, start = [], request.start
    span = request.step * (MAX_POINTS - 1)
    while start <= request.end:
        end = min(request.end, start + span)
        out.append((start, end))
        start = end + request.step
    return out


def merge(results: Iterable[RangeResult]) -> RangeResult:
    """Range results of consecutive chunks as one: points of equal labels joined."""
    points: dict[Labels, list[tuple[float, float]]] = {}
    warnings: dict[str, None] = {}
    for result in results:
        warnings |= dict.fromkeys(result.warnings)
        for one in result.series:
            points.setdefault(one.labels, []).extend(one.points)
    joined = tuple(RangeSeries(k, tuple(sorted(v))) for k, v in points.items())
    return RangeResult(joined, tuple(warnings))


def _ms(value: float) -> int:
    return round(value * 1000)


class Lookup:
    """Answers per spec, read from the fetched range results: an instant spec's samples at
    its tick (of its part), a range spec's points between its start and its tick."""

    def __init__(
        self, sources: Mapping[object, Source], fetched: Mapping[RangeRequest, Answer]
    ) -> None:
        self._sources = sources
        self._fetched = fetched
        self._by_tick: dict[RangeRequest, dict[tuple[str | None, int], list[Sample]]] = {}

    def answer(self, spec: QuerySpec) -> Answer | None:
        source = self._sources.get(_key(spec))
        got = self._fetched.get(source.request) if source else None
        if source is None or got is None or isinstance(got, ErrorValue | QueryResult):
            return got
        if spec.start is not None:
            return _slice(got, spec.start, spec.at)
        samples = self._index(source.request, got).get((source.part, _ms(spec.at.timestamp())))
        return QueryResult("vector", tuple(samples or ()), got.warnings)

    def _index(
        self, request: RangeRequest, got: RangeResult
    ) -> dict[tuple[str | None, int], list[Sample]]:
        if request not in self._by_tick:
            index: dict[tuple[str | None, int], list[Sample]] = {}
            for series in got.series:
                part, labels = _part(series.labels) if request.parts else (None, series.labels)
                for t, v in series.points:
                    index.setdefault((part, _ms(t)), []).append(Sample(labels, v, t))
            self._by_tick[request] = index
        return self._by_tick[request]


def _part(labels: Labels) -> tuple[str | None, Labels]:
    part = next((v for k, v in labels if k == PART), None)
    return part, tuple((k, v) for k, v in labels if k != PART)


def _slice(got: RangeResult, start: datetime, end: datetime) -> RangeResult:
    lo, hi = start.timestamp(), end.timestamp()
    series = []
    for s in got.series:
        times = [t for t, _ in s.points]
        points = s.points[bisect_left(times, lo - 5e-4) : bisect_right(times, hi + 5e-4)]
        if points:
            series.append(RangeSeries(s.labels, points))
    return RangeResult(tuple(series), got.warnings)
