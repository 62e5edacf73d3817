"""Plain-value helpers for judging SLOs in tests: answers built from a function."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.config.model import SLO
from bot.core.slo import (
    QueryResult,
    QuerySpec,
    RangeResult,
    Sample,
    Series,
    SLOResult,
    judge,
    plan_queries,
)
from bot.core.slo.results import Answer

AT = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def vec(*values: float) -> QueryResult:
    return QueryResult(
        "vector", tuple(Sample((("i", str(i)),), v, 0.0) for i, v in enumerate(values))
    )


def matrix(*values: float) -> RangeResult:
    return RangeResult((Series((), tuple((float(i), v) for i, v in enumerate(values))),))


def run(
    slo: SLO,
    answer: Callable[[QuerySpec], Answer | None],
    *,
    since: datetime | None = AT - 24 * H,
    stage: str = "canary",
    service: str = "checkout",
) -> SLOResult:
    """Plan, answer every spec with `answer(spec)` (None: leave it out), judge."""
    specs = plan_queries(slo, stage, service, AT, since)
    answers = {s: a for s in specs if (a := answer(s)) is not None}
    return judge(slo, answers, stage, service, AT, since)


def by_window(
    values: dict[timedelta, float], role: str = "error_ratio"
) -> Callable[[QuerySpec], Answer | None]:
    def answer(spec: QuerySpec) -> Answer | None:
        if spec.role == role and spec.window in values:
            return vec(values[spec.window])
        return None

    return answer
