"""`slo check --lint`: does Prometheus accept every query of a stage, with the right type?

Pure: the queries come from `plan_queries` (windows as configured, nothing cut), the
answers (or the refusals) from the shell. A rejected query (bad PromQL, a type error such
as ``rate()`` of an instant vector) or an instant query that gives a string or a range
vector is an error — the judge could never use it; no data, more series than declared and
a `rules` name this Prometheus does not evaluate are warnings (the data may come later, the
rule from a federated Prometheus).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.config.model import SLO
from bot.core.slo.plan import QuerySpec
from bot.core.slo.promql import format_duration
from bot.core.slo.results import Answer, ErrorValue, RangeResult

_NAME = re.compile(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{|$)")


@dataclass(frozen=True)
class LintProblem:
    slo: str
    service: str
    what: str  # e.g. "error_ratio over 1h"
    message: str
    severity: str = "error"  # or "warning"


def what(spec: QuerySpec) -> str:
    window = f" over {format_duration(spec.window)}" if spec.window else ""
    return f"{spec.role}{window}"


def check_answer(slo: SLO, service: str, spec: QuerySpec, answer: Answer) -> list[LintProblem]:
    """What is wrong with one query's answer (empty when nothing is)."""

    def problem(message: str, severity: str = "error") -> list[LintProblem]:
        return [LintProblem(slo.name, service, what(spec), message, severity)]

    if isinstance(answer, ErrorValue):
        why = "Prometheus refuses it" if answer.rejected else "the judge cannot use its answer"
        return problem(f"{why}: {answer.message}")
    if isinstance(answer, RangeResult):
        return [] if answer.series else problem("no data", "warning")
    if answer.result_type not in ("vector", "scalar"):
        return problem(f"gives a {answer.result_type}, not a number per series")
    if answer.empty:
        recorded = spec.window in dict(slo.rules)
        hint = ": is the recording rule evaluated?" if recorded else ""
        return problem(f"no data{hint}", "warning")
    if not slo.by and len(answer.samples) > 1:
        return problem(
            f"gives {len(answer.samples)} series, more than declared (one series): aggregate "
            "it or declare `by`",
            "warning",
        )
    return []


def rule_names(slo: SLO) -> dict[str, str]:
    """Window text -> the recording rule's metric name, for `rules` entries that name one."""
    out = {}
    for window, query in slo.rules:
        match = _NAME.match(query)
        if match:
            out[format_duration(window)] = match.group(1)
    return out


def check_rules(slo: SLO, loaded: Iterable[str]) -> list[LintProblem]:
    """`rules` names this Prometheus does not evaluate (warnings)."""
    known = frozenset(loaded)
    why = "is not a recording rule this Prometheus evaluates"
    return [
        LintProblem(slo.name, "", f"rules.{window}", f"{name} {why}", "warning")
        for window, name in rule_names(slo).items()
        if name not in known
    ]
