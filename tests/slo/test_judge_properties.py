"""Properties of the burn-rate judge over generated error ratios."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st

from bot.config.model import SLO
from bot.core.slo import QuerySpec, Verdict, plan_queries
from bot.core.slo.results import Answer

from .helpers import AT, vec
from .helpers import run as judge_with

SLO_ = SLO(name="availability", objective=99.9, error_ratio="r[{window}]")
ratios = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
soaks = st.integers(min_value=1, max_value=8 * 3600).map(lambda s: timedelta(seconds=s))


def answers_from(table: dict[timedelta, float]) -> Callable[[QuerySpec], Answer]:
    def answer(spec: QuerySpec) -> Answer:
        assert spec.window is not None
        return vec(table[spec.window])

    return answer


@given(soaks, st.lists(ratios, min_size=4, max_size=4), st.floats(min_value=1.0, max_value=50))
def test_more_errors_never_turn_a_fail_into_a_pass(
    soak: timedelta, values: list[float], scale: float
) -> None:
    windows = sorted({s.window for s in plan_queries(SLO_, "c", "s", AT, AT - soak) if s.window})
    table = dict(zip(windows, values, strict=False))
    worse = {w: min(1.0, v * scale) for w, v in table.items()}
    before = judge_with(SLO_, answers_from(table), since=AT - soak)
    after = judge_with(SLO_, answers_from(worse), since=AT - soak)
    if before.verdict == Verdict.FAIL:
        assert after.verdict == Verdict.FAIL


@given(soaks)
def test_no_window_reaches_before_the_bump(soak: timedelta) -> None:
    for spec in plan_queries(SLO_, "c", "s", AT, AT - soak):
        assert spec.window is not None and spec.window <= soak


@given(soaks, ratios)
def test_a_uniform_error_ratio_fails_exactly_above_the_fast_burn_threshold(
    soak: timedelta, ratio: float
) -> None:
    windows = {s.window for s in plan_queries(SLO_, "c", "s", AT, AT - soak) if s.window}
    result = judge_with(SLO_, answers_from(dict.fromkeys(windows, ratio)), since=AT - soak)
    # With the same ratio everywhere the 6x rule decides: fail iff ratio > 0.006.
    assert (result.verdict == Verdict.FAIL) == (ratio / 0.001 > 6.0)
    if result.verdict == Verdict.FAIL:
        assert result.evidence.startswith("availability ")
