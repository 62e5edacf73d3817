"""What an SLO's judging settings default to when the configuration is silent.

- Burn-rate rules: the SRE workbook's two multi-window rules (14.4x over 1h and 5m, 6x over
  6h and 30m).
- Minimum traffic: with objective `o` (percent) and burn factor `b`, one error among `n`
  requests is a burn of 1 / (n · (1 − o/100)); it fires the rule when that exceeds `b`. Any
  `n` below 1 / (b · (1 − o/100)) can breach on a single bad request, so a verdict on fewer
  requests says nothing about the release: the judge calls it inconclusive.
"""

from __future__ import annotations

import math
from datetime import timedelta

from bot.config.model import SLO, BurnRate

DEFAULT_BURN_RATES = (
    BurnRate(long=timedelta(hours=1), short=timedelta(minutes=5), factor=14.4),
    BurnRate(long=timedelta(hours=6), short=timedelta(minutes=30), factor=6.0),
)


def derived_min_requests(slo: SLO, rules: tuple[BurnRate, ...] = ()) -> int:
    """The fewest requests at which one bad request cannot fire the fastest burn rule
    (0 for latency and comparison-only SLOs, which have no error budget to burn)."""
    if not (slo.error_ratio or (slo.good and slo.total)):
        return 0
    budget = 1.0 - slo.objective / 100.0
    fastest = max(r.factor for r in (rules or slo.burn_rates or DEFAULT_BURN_RATES))
    if budget <= 0 or fastest <= 0:
        return 0
    return max(1, math.ceil(1.0 / (fastest * budget) - 1e-9))
