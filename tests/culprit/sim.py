"""A simulated CI for the pure bisection: a function of the set of PRs on top of the base."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.config.model import Culprit
from bot.core import bisect as bs

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
Breaks = Callable[[frozenset[int]], bool]


def culprit_config(**kw: object) -> Culprit:
    return replace(Culprit(max_rounds=64), **kw)  # type: ignore[arg-type]


def one_of(*bad: int) -> Breaks:
    """CI fails when any of `bad` is aboard."""
    return lambda prs: any(n in prs for n in bad)


def pair(a: int, b: int) -> Breaks:
    """CI fails only when both `a` and `b` are aboard."""
    return lambda prs: a in prs and b in prs


def run(
    prs: tuple[int, ...], breaks: Breaks, config: Culprit, *, recut: bool = True
) -> bs.Bisection:
    """Bisect to the end; with `recut`, cut the train again without the culprits and bisect
    again while CI still fails (the lifecycle's loop), as the train PR's CI would tell."""
    state = bs.on_rerun(bs.start(prs, config, NOW), bs.FAIL, config, NOW)
    now = NOW
    while True:
        while not state.ended:
            now += timedelta(minutes=5)
            verdicts = {
                c.key: bs.FAIL if breaks(frozenset(c.prs)) else bs.PASS for c in state.pending
            }
            state = bs.advance(state, verdicts, config, now)
        left = tuple(n for n in prs if n not in bs.leaving(state))
        if not (recut and state.phase == bs.FOUND and breaks(frozenset(left))):
            return state
        state = bs.again(state, left, config, now)


def log2_ceil(n: int) -> int:
    return math.ceil(math.log2(n)) if n > 1 else 0


def log_ceil(n: int, base: int) -> int:
    """⌈log_base n⌉ in integers (no float rounding)."""
    count, reach = 0, 1
    while reach < n:
        reach *= base
        count += 1
    return count
