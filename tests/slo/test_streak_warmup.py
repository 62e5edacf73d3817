"""Failing checks in a row (`failure_limit`, `interval`) and the warm-up (`initial_delay`),
pure: the streak a soaking stage keeps, what it makes the stage do, and the verdict while
the SLO warms up (nothing asked, a pass that says until when, and only data after it)."""

from __future__ import annotations

from datetime import timedelta

from bot.config.model import SLO
from bot.core import promotion as pm
from bot.core.slo import SLOResult, Verdict, judge, plan_queries
from bot.core.slo.hold import stage_action
from bot.core.slo.streak import Streak, count, failing_text

from .helpers import AT, M, by_window, run

PATIENT = SLO(name="a", failure_limit=3)  # interval: the default 1m
SPACED = SLO(name="b", failure_limit=2, interval=5 * M)
SLOS = {s.name: s for s in (PATIENT, SPACED)}
H30 = 30 * M


def result(slo: SLO, verdict: Verdict, service: str = "web") -> SLOResult:
    return SLOResult(slo.name, "canary", service, verdict, "")


def checks(slo: SLO, verdicts: str, every: timedelta = M) -> list[tuple[int, str]]:
    """Fold `verdicts` (f, p, i, e: one check each, `every` apart) into the streak; after
    each check, (its count, the stage's action)."""
    names = {"f": Verdict.FAIL, "p": Verdict.PASS, "i": Verdict.INCONCLUSIVE, "e": Verdict.ERROR}
    streaks: tuple[Streak, ...] = ()
    out = []
    for n, letter in enumerate(verdicts):
        now = AT + n * every
        results = [result(slo, names[letter])]
        streaks = count(streaks, results, {slo.name: slo}, now)
        action = stage_action(results, [slo], None, now, streaks)
        out.append((streaks[0].count if streaks else 0, action))
    return out


def test_fails_in_a_row_revert_at_the_limit_and_a_pass_resets() -> None:
    assert checks(PATIENT, "ffpfff") == [
        (1, "failing"),
        (2, "failing"),
        (0, "ok"),
        (1, "failing"),
        (2, "failing"),
        (3, "revert"),
    ]


def test_unsure_checks_leave_the_streak_as_it_is() -> None:
    assert [c for c, _ in checks(PATIENT, "fifef")] == [1, 1, 2, 2, 3]
    assert checks(PATIENT, "fifef")[-1][1] == "revert"
    assert checks(PATIENT, "fi")[-1][1] == "hold"  # unsure, failing under the limit: held


def test_checks_closer_than_the_interval_count_once() -> None:
    per_minute = checks(SPACED, "ffffff")
    assert [c for c, _ in per_minute] == [1, 1, 1, 1, 1, 2]
    assert per_minute[-1][1] == "revert"  # five minutes after the first counted fail
    assert [c for c, _ in checks(SPACED, "ff", every=5 * M)] == [1, 2]


def test_the_same_instant_judged_twice_counts_once_even_without_an_interval() -> None:
    eager = SLO(name="e", failure_limit=2, interval=0 * M)
    fail = [result(eager, Verdict.FAIL)]
    once = count((), fail, {"e": eager}, AT)
    assert count(once, fail, {"e": eager}, AT) == once  # a retried round at the same `now`
    assert count(once, fail, {"e": eager}, AT + M)[0].count == 2


def test_the_default_limit_reverts_on_the_first_fail_as_before() -> None:
    plain = SLO(name="plain")
    assert checks(plain, "f") == [(1, "revert")]
    assert stage_action([result(plain, Verdict.FAIL)], [plain], None, AT) == "revert"


def test_streaks_are_per_slo_and_service_and_observe_only_never_counts() -> None:
    watched = SLO(name="w", mode="observe")
    results = [
        result(PATIENT, Verdict.FAIL, "web"),
        result(PATIENT, Verdict.PASS, "api"),
        SLOResult("w", "canary", "web", Verdict.FAIL, "", observe=True),
    ]
    streaks = count((), results, {**SLOS, "w": watched}, AT)
    assert streaks == (Streak("a", "web", 1, AT),)
    assert failing_text(streaks, SLOS) == "a/web failing 1 of 3 checks in a row"


def test_a_stronger_unsure_action_wins_over_failing() -> None:
    aborting = SLO(name="c", inconclusive_after=30 * M, on_inconclusive="abort")
    results = [result(PATIENT, Verdict.FAIL), result(aborting, Verdict.INCONCLUSIVE)]
    streaks = count((), results, {"a": PATIENT, "c": aborting}, AT + H30)
    assert stage_action(results, [PATIENT, aborting], AT, AT + H30, streaks) == "abort"


def test_the_streak_survives_the_ledger_round_trip() -> None:
    state = pm.StepState("canary", pm.SOAKING, failures=(Streak("a", "web", 2, AT),))
    promotion = pm.Promotion(tags={"web": "1.2.3"}, steps=(state,))
    assert pm.Promotion.from_json(promotion.to_json()) == promotion
    old = promotion.to_json()
    del old["steps"][0]["failures"]  # a record written before streaks were kept
    assert pm.Promotion.from_json(old).steps[0].failures == ()


def test_a_failing_hold_never_passes_the_stage_even_after_the_soak() -> None:
    plan = (pm.StepPlan("canary", "canary", (), 10 * M),)
    state = pm.StepState("canary", pm.SOAKING, started=AT)
    promotion = pm.Promotion(tags={"web": "1"}, steps=(state,))
    move = pm.next_move(plan, promotion, AT + H30, slo_action="failing")
    assert move.kind == pm.MoveKind.HOLD and "failure_limit" in move.reason
    assert pm.next_move(plan, promotion, AT + H30).kind == pm.MoveKind.PASS


# -- warm-up ----------------------------------------------------------------------------------

WARM = SLO(name="warm", error_ratio="e[{window}]", initial_delay=10 * M)


def test_while_warming_up_nothing_is_asked_and_the_verdict_says_until_when() -> None:
    since = AT - 4 * M
    assert plan_queries(WARM, "canary", "web", AT, since) == []
    got = judge(WARM, {}, "canary", "web", AT, since)
    assert got.verdict == Verdict.PASS
    assert got.reason == "warming up until 12:06:00 UTC"
    assert got.numbers == {"warming_up_until": "2026-11-26T12:06:00+00:00"}
    assert stage_action([got], [WARM], None, AT) == "ok"


def test_after_the_warm_up_only_its_end_counts_as_the_bump() -> None:
    since = AT - 15 * M  # warmed up 5 minutes ago: windows cut to 5m, not 15m
    windows = {s.window for s in plan_queries(WARM, "canary", "web", AT, since)}
    assert max(w for w in windows if w is not None) == 5 * M
    # 50 % errors over the five minutes after the warm-up: a breach of the 5m-cut rule
    got = run(WARM, by_window({5 * M: 0.5}), since=since)
    assert got.verdict == Verdict.FAIL, got.reason


def test_just_after_the_warm_up_is_inconclusive_and_says_so() -> None:
    got = judge(WARM, {}, "canary", "web", AT, AT - 10 * M)
    assert got.verdict == Verdict.INCONCLUSIVE
    assert got.reason == "the warm-up ended less than a second ago"


def test_observe_only_warm_up_says_both() -> None:
    watched = SLO(name="w", initial_delay=10 * M, mode="observe")
    got = judge(watched, {}, "canary", "web", AT, AT - M)
    assert got.observe and got.reason.startswith("observe only: warming up until ")
