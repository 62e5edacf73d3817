"""Reading the answers the judge asked for: by role and window, one value per series.

An SLO declares its series: without `by` its queries must give one series (more is an
`error` that names them — collapsing them silently would hide which instance is bad);
with `by: [instance]` each label set is judged on its own and the worst is named.
Missing and failed answers become `_Part`s through `NoAnswer`, so the judge can turn
them into verdicts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from bot.core.slo.plan import QuerySpec
from bot.core.slo.promql import format_duration
from bot.core.slo.results import Answer, ErrorValue, Labels, QueryResult, RangeResult

Number = float | int | str
ONE: Labels = ()  # the key of the single series of an SLO without `by`


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"


@dataclass(frozen=True)
class Part:
    """One part of a verdict (burn rates, traffic, comparison) and the numbers behind it."""

    verdict: Verdict
    reason: str
    numbers: dict[str, Number] = field(default_factory=dict)
    evidence: str = ""


class NoAnswer(Exception):
    def __init__(self, part: Part) -> None:
        super().__init__(part.reason)
        self.part = part


def fmt(value: float) -> str:
    """Four significant digits: 0.021, 0.0144, 14.4, 1.235e+05, +Inf, NaN."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return f"{value:.4g}"


def series_name(key: Labels) -> str:
    """`{instance="a",zone="b"}`; `{}` for the single series."""
    return "{" + ",".join(f'{k}="{v}"' for k, v in key) + "}"


def where(role: str, window: timedelta | None) -> str:
    return f"{role} over {format_duration(window)}" if window else role


class Answers:
    """Looks answers up by role and window, turning missing or failed ones into parts."""

    def __init__(
        self, specs: list[QuerySpec], answers: Mapping[QuerySpec, Answer], by: tuple[str, ...]
    ) -> None:
        self._by_key = {(s.role, s.window): s for s in specs}
        self._answers = answers
        self._by = by
        # Once Prometheus is unreachable the rest is not asked: that is the reason to give.
        self._down = next(
            (a for a in answers.values() if isinstance(a, ErrorValue) and not a.rejected), None
        )

    def get(self, role: str, window: timedelta | None) -> Answer:
        spec = self._by_key[(role, window)]
        answer = self._answers.get(spec, self._down)
        if answer is None:
            raise NoAnswer(Part(Verdict.ERROR, f"no answer for {role} query: {spec.promql}"))
        if isinstance(answer, ErrorValue):
            what = "query rejected" if answer.rejected else "prometheus"
            raise NoAnswer(Part(Verdict.ERROR, f"{what}: {answer.message}"))
        return answer

    def series(
        self, role: str, window: timedelta | None, *, empty_ok: bool = False
    ) -> dict[Labels, float]:
        """One value per declared series; no data (unless `empty_ok`) or NaN is inconclusive,
        more series than declared an error naming them."""
        answer = self.get(role, window)
        if not isinstance(answer, QueryResult) or answer.empty:
            if empty_ok and isinstance(answer, QueryResult):
                return {}
            raise NoAnswer(Part(Verdict.INCONCLUSIVE, f"no data for {where(role, window)}"))
        values: dict[Labels, float] = {}
        for sample in answer.samples:
            key = self._key(sample.labels)
            if key in values:
                raise NoAnswer(self._too_many(role, window, answer))
            if math.isnan(sample.value):
                named = f" {series_name(key)}" if key else ""
                raise NoAnswer(Part(Verdict.INCONCLUSIVE, f"{where(role, window)}{named} is NaN"))
            values[key] = sample.value
        return values

    def samples(self, role: str) -> list[float]:
        """Every non-NaN value of a range query (all its series pooled)."""
        window = next(w for (r, w) in self._by_key if r == role)
        answer = self.get(role, window)
        return answer.values() if isinstance(answer, RangeResult) else []

    def _key(self, labels: Labels) -> Labels:
        if not self._by:
            return ONE
        present = dict(labels)
        return tuple((name, present.get(name, "")) for name in self._by)

    def _too_many(self, role: str, window: timedelta | None, answer: QueryResult) -> Part:
        names = ", ".join(series_name(s.labels) for s in answer.samples[:5])
        more = f" and {len(answer.samples) - 5} more" if len(answer.samples) > 5 else ""
        declared = f"by: [{', '.join(self._by)}]" if self._by else "one series"
        reason = (
            f"{where(role, window)} returned {len(answer.samples)} series, more than declared "
            f"({declared}): {names}{more}; aggregate the query (e.g. sum(...)) or declare "
            "the labels that tell its series apart in `by`"
        )
        return Part(Verdict.ERROR, reason)
