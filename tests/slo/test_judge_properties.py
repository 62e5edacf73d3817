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


def fires(soak: timedelta, ratio: float) -> bool:
    """The rule, written out: a rule fires when the short window burns above its factor and
    the long window, cut to the soak, has burned as much budget as the whole window needs."""
    burn = ratio / (1.0 - SLO_.objective / 100.0)
    cut_to = max(timedelta(seconds=1), timedelta(seconds=int(soak.total_seconds())))
    rules = ((timedelta(hours=1), 14.4), (timedelta(hours=6), 6.0))
    return any(burn > factor * (long / min(long, cut_to)) for long, factor in rules)


@given(soaks, ratios)
def test_a_uniform_error_ratio_fails_exactly_when_it_used_the_rules_budget(
    soak: timedelta, ratio: float
) -> None:
    windows = {s.window for s in plan_queries(SLO_, "c", "s", AT, AT - soak) if s.window}
    result = judge_with(SLO_, answers_from(dict.fromkeys(windows, ratio)), since=AT - soak)
    assert (result.verdict == Verdict.FAIL) == fires(soak, ratio)
    if result.verdict == Verdict.FAIL:
        assert result.evidence.startswith("availability ")
    if soak >= timedelta(hours=6):  # whole windows: the 6x rule decides, as it always did
        assert (result.verdict == Verdict.FAIL) == (ratio / 0.001 > 6.0)


@given(st.integers(min_value=1, max_value=3600), st.integers(min_value=1, max_value=51))
def test_a_full_outage_shorter_than_the_fast_rules_budget_never_fires(
    soak_seconds: int, outage_seconds: int
) -> None:
    """14.4x of a 0.1 % budget over 1 h is 51.8 s of full outage: anything shorter, at any
    point of a young soak, is a blip the judge must not revert for."""
    soak = timedelta(seconds=soak_seconds)
    outage = min(outage_seconds, soak_seconds)
    windows = {s.window for s in plan_queries(SLO_, "c", "s", AT, AT - soak) if s.window}
    # The outage ended just now: every window holds all of it.
    table = {w: min(1.0, outage / w.total_seconds()) for w in windows}
    assert judge_with(SLO_, answers_from(table), since=AT - soak).verdict == Verdict.PASS
