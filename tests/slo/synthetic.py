"""Synthetic request counters and latency histograms, as remote-write series.

Counters are cumulative, sampled every `step` seconds; traffic has a little seeded
noise so rank tests see realistic, mostly untied samples.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import UTC, datetime

# The scenarios' clock: the real time rounded down to a minute (Prometheus takes recent
# samples most naturally), with seven hours of history before it.
NOW = int(time.time()) // 60 * 60
AT = datetime.fromtimestamp(NOW, UTC)
START = NOW - 7 * 3600

SeriesData = tuple[dict[str, str], list[tuple[float, float]]]
Shape = Callable[[float], float]  # unix seconds -> a value


def const(value: float) -> Shape:
    return lambda t: value


def between(start: float, end: float, inside: float, outside: float) -> Shape:
    return lambda t: inside if start <= t < end else outside


def requests(
    labels: dict[str, str],
    start: float,
    end: float,
    *,
    rps: Shape,
    error_fraction: Shape,
    step: float = 15.0,
    seed: int = 1,
) -> list[SeriesData]:
    """`http_requests_total` with code="200" and code="500" for one set of labels."""
    rng = random.Random(seed)
    ok_points: list[tuple[float, float]] = []
    err_points: list[tuple[float, float]] = []
    ok = err = 0.0
    t = start
    while t <= end:
        count = rps(t) * step * (1 + 0.2 * (rng.random() - 0.5))
        errors = min(count, count * error_fraction(t) * (1 + 0.4 * (rng.random() - 0.5)))
        ok += count - errors
        err += errors
        ok_points.append((t, round(ok, 3)))
        err_points.append((t, round(err, 3)))
        t += step
    name = {"__name__": "http_requests_total"}
    return [
        ({**name, **labels, "code": "200"}, ok_points),
        ({**name, **labels, "code": "500"}, err_points),
    ]


BUCKETS = (0.1, 0.25, 0.5, 1.0, float("inf"))


def latency_histogram(
    labels: dict[str, str],
    start: float,
    end: float,
    *,
    rps: float,
    slow_fraction: Shape,
    step: float = 15.0,
) -> list[SeriesData]:
    """`http_request_duration_seconds_bucket`: fast requests take ~0.05 s, slow ones ~0.8 s."""
    counts = dict.fromkeys(BUCKETS, 0.0)
    points: dict[float, list[tuple[float, float]]] = {b: [] for b in BUCKETS}
    t = start
    while t <= end:
        total = rps * step
        slow = total * slow_fraction(t)
        for bound in BUCKETS:
            counts[bound] += (total - slow) + (slow if bound >= 1.0 else 0.0)
            points[bound].append((t, round(counts[bound], 3)))
        t += step
    return [
        (
            {
                "__name__": "http_request_duration_seconds_bucket",
                **labels,
                "le": "+Inf" if bound == float("inf") else str(bound),
            },
            points[bound],
        )
        for bound in BUCKETS
    ]
