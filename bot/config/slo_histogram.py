"""Latency as a burn rate: good/total queries from a histogram's buckets.

An SLO with `histogram` (the bucket series, e.g.
``http_request_duration_seconds_bucket{service="{service}"}``) and `threshold` (seconds)
counts a request as bad when it is slower than the threshold: good is the rate of the
bucket ``le`` = threshold, total that of ``le="+Inf"``, so the share of slow requests burns
the budget (1 − objective) like errors do, with the same multi-window rules, minimum
traffic and series. The threshold must be one of the histogram's bucket bounds; ``le`` is
matched whether the client wrote it ``0.5``, ``0.50`` or, for whole numbers, ``1`` or
``1.0``. A missing bucket is an `error` (every request would look slow), never a fail.
"""

from __future__ import annotations

import re
from decimal import Decimal

_SELECTOR = re.compile(r"\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*(?:\{(.*)\})?\s*", re.S)


def selector_problem(selector: str) -> str | None:
    """Why `selector` is not a series selector (``name`` or ``name{matchers}``), or None."""
    if _SELECTOR.fullmatch(selector):
        return None
    return 'must be a bucket series selector such as name_bucket{service="{service}"}'


def le_pattern(threshold: float) -> str:
    """A regular expression for the ``le`` label of the bucket bounded at `threshold`."""
    text = format(Decimal(repr(float(threshold))).normalize(), "f")
    whole, _, fraction = text.partition(".")
    if fraction:
        return f"{whole}\\\\.{fraction}0*"
    return f"{whole}(\\\\.0*)?"


def bucket_queries(selector: str, threshold: float, by: tuple[str, ...] = ()) -> tuple[str, str]:
    """(good, total) PromQL templates over {window} for the buckets `selector` names."""
    match = _SELECTOR.fullmatch(selector)
    if match is None:
        raise ValueError(selector_problem(selector))
    name, inner = match.group(1), (match.group(2) or "").strip().rstrip(",")
    inner = f"{inner}," if inner else ""
    grouped = f" by ({', '.join(by)}) " if by else ""

    def rate(le: str) -> str:
        return f"sum{grouped}(rate({name}{{{inner}{le}}}[{{window}}]))"

    return rate(f'le=~"{le_pattern(threshold)}"'), rate('le="+Inf"')
