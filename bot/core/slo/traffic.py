"""Minimum traffic for a verdict: how many requests, counted by which query.

The default minimum is `bot.config.slo_defaults.derived_min_requests` (below it one bad
request could breach the fastest burn rule). Pure: the SLO and its rules in, numbers out.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.config.model import SLO, BurnRate
from bot.config.slo_defaults import derived_min_requests

# `rate(...)`/`irate(...)` give requests per second; these give counts.
_PER_SECOND = re.compile(r"\b(?:i?rate)\s*\(")
_COUNT = re.compile(r"\b(?:increase|count_over_time|sum_over_time)\s*\(")


def min_requests(slo: SLO, rules: tuple[BurnRate, ...] = ()) -> int:
    """The configured `min_requests`, or the derived minimum when the config is silent."""
    return slo.min_requests if slo.min_requests is not None else derived_min_requests(slo, rules)


def count_source(slo: SLO) -> str:
    """Which query counts the requests: ``requests``, ``total``, or "" when none can."""
    if slo.requests:
        return "requests"
    if not (slo.good and slo.total):
        return ""
    # A configured minimum trusts `total` to count; the derived one only a recognised form.
    recognised = _COUNT.search(slo.total) or _PER_SECOND.search(slo.total)
    return "total" if slo.min_requests is not None or recognised else ""


def as_count(slo: SLO, source: str, value: float, window: timedelta) -> float:
    """A request count from the `source` query's value: a per-second `total` (a `rate()`
    over the same window) times the window's seconds, anything else as it is."""
    if source == "total" and _PER_SECOND.search(slo.total) and not _COUNT.search(slo.total):
        return value * window.total_seconds()
    return value
