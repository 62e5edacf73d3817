"""Glue: plan the queries, ask a Prometheus client, judge the answers.

The client is passed in (anything with `query` and `query_range`, such as
`bot.adapters.prometheus.PrometheusClient`); a failed query becomes an `ErrorValue`
answer, so the verdict is ``error`` instead of an exception.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from bot.config.model import SLO
from bot.core.slo.judge import SLOResult, judge
from bot.core.slo.plan import QuerySpec, plan_queries
from bot.core.slo.results import Answer, ErrorValue, QueryResult, RangeResult
from bot.errors import ExternalError


class QueryClient(Protocol):
    def query(self, promql: str, at: datetime) -> QueryResult: ...

    def query_range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> RangeResult: ...


def ask(client: QueryClient, spec: QuerySpec) -> Answer:
    """One answer for one spec; an `ExternalError` becomes an `ErrorValue`."""
    try:
        if spec.start is not None and spec.step is not None:
            return client.query_range(spec.promql, spec.start, spec.at, spec.step)
        return client.query(spec.promql, spec.at)
    except ExternalError as exc:
        message = exc.message.removeprefix(f"{exc.system}: ")
        return ErrorValue(message, status=exc.status, retryable=exc.retryable)


def evaluate(
    client: QueryClient,
    slo: SLO,
    stage: str,
    service: str,
    at: datetime,
    since: datetime | None,
) -> SLOResult:
    """Judge `slo` for `stage`/`service` at `at`, the stage having been bumped at `since`.

    Once Prometheus is unreachable, the remaining queries are not sent: they would fail
    the same way after the same retries.
    """
    answers: dict[QuerySpec, Answer] = {}
    for spec in plan_queries(slo, stage, service, at, since):
        answer = ask(client, spec)
        answers[spec] = answer
        if isinstance(answer, ErrorValue) and not answer.rejected:
            break
    return judge(slo, answers, stage, service, at, since)
