"""What Prometheus answered, as the bot's own frozen values.

The adapter (`bot.adapters.prometheus`) parses HTTP responses into these once, at the
edge; the judge reads only these. `ErrorValue` stands in for an answer that never came
(unreachable) or was refused (bad query), so the judge can turn it into a verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Sample:
    """One value of an instant query: a series' labels, its value and its timestamp (s)."""

    labels: Labels
    value: float
    timestamp: float


@dataclass(frozen=True)
class QueryResult:
    """An instant query's answer: a vector (any number of samples) or a scalar (one)."""

    result_type: str  # "vector", "scalar" or "string"
    samples: tuple[Sample, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.samples

    def values(self) -> list[float]:
        return [s.value for s in self.samples]


@dataclass(frozen=True)
class Series:
    """One series of a range query: its labels and its (timestamp, value) points."""

    labels: Labels
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class RangeResult:
    """A range query's answer (a matrix)."""

    series: tuple[Series, ...] = ()
    warnings: tuple[str, ...] = ()

    def values(self) -> list[float]:
        """Every finite-or-infinite, non-NaN value of every series, in order."""
        return [v for s in self.series for _, v in s.points if not math.isnan(v)]


@dataclass(frozen=True)
class ErrorValue:
    """A query that produced no answer: Prometheus unreachable, or the query rejected."""

    message: str
    status: int | None = None
    retryable: bool = False

    @property
    def rejected(self) -> bool:
        """True when Prometheus answered and refused the query (a 4xx: bad PromQL)."""
        return self.status is not None and 400 <= self.status < 500 and self.status != 429


Answer = QueryResult | RangeResult | ErrorValue
