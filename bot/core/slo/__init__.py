"""SLO judgement: plan PromQL queries, judge the answers, four verdicts.

Pure except `evaluate`, which takes the Prometheus client as an argument.
"""

from __future__ import annotations

from bot.core.slo.evaluate import QueryClient, evaluate
from bot.core.slo.hold import stage_action, unsure_action
from bot.core.slo.judge import SLOResult, Verdict, judge, stage_verdict
from bot.core.slo.plan import DEFAULT_BURN_RATES, QuerySpec, plan_queries
from bot.core.slo.promql import format_duration, render_query
from bot.core.slo.ranktest import RankTest, mann_whitney_greater
from bot.core.slo.results import ErrorValue, QueryResult, RangeResult, Sample, Series

__all__ = [
    "DEFAULT_BURN_RATES",
    "ErrorValue",
    "QueryClient",
    "QueryResult",
    "QuerySpec",
    "RangeResult",
    "RankTest",
    "SLOResult",
    "Sample",
    "Series",
    "Verdict",
    "evaluate",
    "format_duration",
    "judge",
    "mann_whitney_greater",
    "plan_queries",
    "render_query",
    "stage_action",
    "stage_verdict",
    "unsure_action",
]
