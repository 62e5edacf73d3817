"""The pure bisection (`bot.core.bisect`): the culprits it names and the rounds it takes."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import bisect as bs
from tests.culprit.sim import NOW, culprit_config, log2_ceil, log_ceil, one_of, pair, run

PRS = tuple(range(101, 109))  # eight PRs, #101 … #108


def test_one_culprit_is_named_in_log2_n_plus_one_rounds() -> None:
    state = run(PRS, one_of(106), culprit_config())
    assert (state.phase, state.culprits, bs.leaving(state)) == (bs.FOUND, ((106,),), (106,))
    assert state.rounds <= log2_ceil(len(PRS)) + 1
    assert all(c.verdict in (bs.PASS, bs.FAIL) for c in state.tried)


def test_the_first_pr_as_culprit_needs_no_alone_round() -> None:
    state = run(PRS, one_of(101), culprit_config())
    assert state.culprits == ((101,),)
    assert state.rounds == log2_ceil(len(PRS))


def test_candidates_are_the_base_plus_a_prefix_in_train_order() -> None:
    state = bs.on_rerun(bs.start(PRS, culprit_config(), NOW), bs.FAIL, culprit_config(), NOW)
    assert state.phase == bs.SEARCH
    assert [(c.key, c.prs) for c in state.pending] == [(1, (101, 102, 103, 104))]


def test_two_culprits_are_both_named_through_a_recut() -> None:
    state = run(PRS, one_of(103, 107), culprit_config())
    assert state.phase == bs.FOUND
    assert set(bs.leaving(state)) == {103, 107}


def test_a_pair_that_fails_only_together_is_reported_as_a_pair() -> None:
    state = run(PRS, pair(102, 105), culprit_config())
    assert state.culprits == ((102, 105),)
    assert bs.leaving(state) == (105,)  # #102 passes alone and still ships
    assert bs.partners(state) == {105: 102}


def test_a_failure_that_passes_when_rerun_is_flaky_and_nothing_is_bisected() -> None:
    config = culprit_config()
    state = bs.on_rerun(bs.start(PRS, config, NOW), bs.PASS, config, NOW)
    assert (state.phase, state.rounds, state.pending, state.tried) == (bs.FLAKY, 0, (), ())


def test_rerun_flaky_zero_searches_at_once() -> None:
    state = bs.start(PRS, culprit_config(rerun_flaky=0), NOW)
    assert state.phase == bs.SEARCH and state.pending


def test_two_reruns_before_searching() -> None:
    config = culprit_config(rerun_flaky=2)
    state = bs.on_rerun(bs.start(PRS, config, NOW), bs.FAIL, config, NOW)
    assert state.phase == bs.RERUN
    assert bs.on_rerun(state, bs.FAIL, config, NOW).phase == bs.SEARCH


def test_ci_that_never_reports_times_out_and_the_train_goes_on() -> None:
    config = culprit_config(timeout=timedelta(minutes=30))
    state = bs.on_rerun(bs.start(PRS, config, NOW), bs.FAIL, config, NOW)
    waiting = bs.advance(state, {}, config, NOW + timedelta(minutes=29))
    assert waiting == state
    ended = bs.advance(state, {}, config, NOW + timedelta(minutes=30))
    assert (ended.phase, ended.detail) == (bs.TIMED_OUT, "CI did not report on try-1")
    assert bs.leaving(ended) == ()


def test_the_deadline_mid_bisection_stops_it_and_builds_nothing_more() -> None:
    config = culprit_config()
    state = bs.on_rerun(bs.start(PRS, config, NOW), bs.FAIL, config, NOW)
    stopped = bs.stop(state, "deadline")
    assert (stopped.phase, stopped.pending, stopped.detail) == (bs.STOPPED, (), "deadline")
    assert bs.advance(stopped, {1: bs.FAIL}, config, NOW) == stopped


def test_max_rounds_gives_up() -> None:
    state = run(tuple(range(1, 65)), one_of(40), culprit_config(max_rounds=3))
    assert (state.phase, state.rounds) == (bs.GAVE_UP, 3)
    assert "3 CI rounds" in state.detail


def test_parallel_candidates_split_the_window_evenly() -> None:
    assert bs.split(0, 8, 1) == (4,)
    assert bs.split(0, 8, 3) == (2, 4, 6)
    assert bs.split(0, 3, 4) == (1, 2)
    config = culprit_config(parallel=3)
    state = bs.on_rerun(bs.start(PRS, config, NOW), bs.FAIL, config, NOW)
    assert [len(c.prs) for c in state.pending] == [2, 4, 6]
    assert [c.key for c in state.pending] == [1, 2, 3]


def test_the_state_survives_the_ledger() -> None:
    state = run(PRS, pair(102, 105), culprit_config(), recut=False)
    extra = bs.store({"other": 1}, state)
    assert extra["other"] == 1 and bs.load(extra) == state
    assert bs.load({}) is None


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=200),
    data=st.data(),
    parallel=st.integers(min_value=1, max_value=8),
)
def test_one_culprit_takes_at_most_log_n_plus_one_rounds(
    n: int, data: st.DataObject, parallel: int
) -> None:
    prs = tuple(range(1, n + 1))
    bad = data.draw(st.sampled_from(prs))
    state = run(prs, one_of(bad), culprit_config(parallel=parallel))
    assert state.culprits == ((bad,),)
    assert state.rounds <= log_ceil(n, parallel + 1) + 1
    if parallel == 1:
        assert state.rounds <= log2_ceil(n) + 1


@settings(max_examples=200, deadline=None)
@given(n=st.integers(min_value=2, max_value=100), data=st.data())
def test_any_pair_is_found_and_only_the_later_leaves(n: int, data: st.DataObject) -> None:
    prs = tuple(range(1, n + 1))
    a, b = sorted(data.draw(st.lists(st.sampled_from(prs), min_size=2, max_size=2, unique=True)))
    state = run(prs, pair(a, b), culprit_config())
    assert state.culprits == ((a, b),)
    assert bs.leaving(state) == (b,)
    assert state.rounds <= 2 * log2_ceil(n) + 1


@settings(max_examples=100, deadline=None)
@given(n=st.integers(min_value=2, max_value=64), data=st.data())
def test_any_culprits_leave_and_the_rest_passes(n: int, data: st.DataObject) -> None:
    prs = tuple(range(1, n + 1))
    bad = data.draw(st.sets(st.sampled_from(prs), min_size=1, max_size=4))
    state = run(prs, one_of(*bad), culprit_config())
    assert state.phase == bs.FOUND
    assert set(bs.leaving(state)) == bad


def test_a_round_waiting_on_ci_wakes_the_bot_at_its_timeout() -> None:
    from dataclasses import replace as with_

    from bot.config.model import Config, Train
    from bot.core.culprit import wake_at
    from bot.core.ledger import TrainRecord

    culprit = culprit_config(timeout=timedelta(minutes=30))
    config = Config(trains=(Train("web"),), culprit=culprit)
    state = bs.on_rerun(bs.start(PRS, culprit, NOW), bs.FAIL, culprit, NOW)
    record = TrainRecord(id="web-1", train="web", extra=bs.store({}, state))
    assert wake_at(config, record) == NOW + timedelta(minutes=30)
    found = TrainRecord(id="web-1", train="web", extra=bs.store({}, with_(state, phase=bs.FOUND)))
    assert wake_at(config, found) is None
