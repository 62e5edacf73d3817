"""The lifecycle's side of culprit isolation, pure (`bot.core.culprit.decide_culprit`): which
actions each step of a bisection decides, from the gate facts and the candidates' results."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.config.model import Config, Culprit, Train
from bot.core import actions as act
from bot.core import bisect as bs
from bot.core import culprit_actions as ca
from bot.core.culprit import MERGES, CandidateResult, decide_culprit
from bot.core.decide_base import Ctx
from bot.core.gates.ci import CheckRun, CIFacts
from bot.core.ledger import Boarded, TrainRecord
from bot.core.world import PullRequest, World

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
HEAD = "f" * 40
PRS = (11, 12, 13, 14)


def _record(**extra: Any) -> TrainRecord:
    boarded = tuple(Boarded(n, NOW, head_sha=f"{n}" * 20) for n in PRS)
    merges = {str(n): f"m{n}".ljust(40, "0") for n in PRS}
    return TrainRecord(
        id="web-2026-12-07",
        train="web",
        state="departed",
        boarded=boarded,
        base_sha="b" * 40,
        release_branch="release/web-2026-12-07",
        train_pr=20,
        extra={MERGES: merges, **extra},
    )


def _decide(
    record: TrainRecord,
    runs: tuple[CheckRun, ...],
    results: dict[int, CandidateResult] | None = None,
    *,
    now: datetime = NOW,
    culprit: Culprit | None = None,
) -> tuple[TrainRecord, list[Any], list[str]]:
    config = Config(trains=(Train("web"),), culprit=culprit or Culprit(ci=("test",)))
    pr = PullRequest(20, head_sha=HEAD, head_ref=record.release_branch)
    world = World(pulls={20: pr, **{n: PullRequest(n, author="dev") for n in PRS}})
    facts = {"ci": CIFacts(HEAD, NOW, runs), "culprit": results or {}}
    ctx = Ctx(config, config.trains[0], world, now, {}, {}, {record.id: facts})
    events: list[str] = []
    after, actions = decide_culprit(ctx, record, pr, events)
    return after, actions, events


FAILED = (CheckRun("test", "completed", "failure", id=5), CheckRun("lint", "completed", "success"))


def test_a_failing_check_is_rerun_and_the_train_pr_told() -> None:
    record, actions, events = _decide(_record(), FAILED)
    assert events == ["culprit"]
    assert [type(a) for a in actions] == [act.PostComment, ca.RerunCheck]
    assert actions[1] == ca.RerunCheck(record.id, "test", 5)
    state = bs.load(record.extra)
    assert state is not None and (state.phase, state.head, state.checks) == (
        bs.RERUN,
        HEAD,
        ("test",),
    )


def test_a_green_train_or_bisect_off_decides_nothing() -> None:
    green = (CheckRun("test", "completed", "success", id=5),)
    assert _decide(_record(), green)[1:] == ([], [])
    off = Culprit(bisect=False, ci=("test",))
    assert _decide(_record(), FAILED, culprit=off)[1:] == ([], [])


def test_prefix_candidates_are_refs_to_the_release_branch() -> None:
    record, _, _ = _decide(_record(), FAILED)
    rerun = (*FAILED, CheckRun("test", "completed", "failure", id=9))
    record, actions, _ = _decide(record, rerun)
    (build,) = [a for a in actions if isinstance(a, ca.BuildCandidate)]
    assert build.branch == "release/web-2026-12-07-try-1"
    assert [n for n, _ in build.heads] == [11, 12] and build.at == record.extra[MERGES]["12"]


def test_the_culprit_leaves_and_the_recut_keeps_the_commits_before_it() -> None:
    state = bs.Bisection(prs=PRS, phase=bs.ALONE, pool=PRS, lo=2, hi=3, rounds=2,
                         round_started=NOW.isoformat(), head=HEAD, checks=("test",),
                         pending=(bs.Candidate(3, (13,)),),
                         tried=(bs.Candidate(1, (11, 12), bs.PASS),
                                bs.Candidate(2, (11, 12, 13), bs.FAIL)))  # fmt: skip
    record = _record(culprit=bs.store({}, state)["culprit"])
    failing = {3: CandidateResult(bs.FAIL, (("test", "https://ci.example.test/3"),))}
    after, actions, _ = _decide(record, FAILED, failing)
    assert [b.number for b in after.boarded] == [11, 12, 14]
    assert [(m.number, m.reason) for m in after.missed] == [(13, "culprit")]
    (recut,) = [a for a in actions if isinstance(a, ca.RecutRelease)]
    assert [n for n, _ in recut.kept] == [11, 12] and [n for n, _ in recut.heads] == [14]
    told = [a for a in actions if isinstance(a, act.PostComment) and a.issue == 13]
    assert told and "https://ci.example.test/3" in told[0].body
    deleted = {a.branch for a in actions if isinstance(a, ca.DeleteBranch)}
    assert deleted == {f"release/web-2026-12-07-try-{k}" for k in (1, 2, 3)}


def test_a_round_past_its_timeout_stops_and_cleans_up() -> None:
    state = bs.Bisection(prs=PRS, phase=bs.SEARCH, pool=PRS, lo=0, hi=4, rounds=1,
                         round_started=NOW.isoformat(), head=HEAD, checks=("test",),
                         pending=(bs.Candidate(1, (11, 12)),))  # fmt: skip
    record = _record(culprit=bs.store({}, state)["culprit"])
    later = NOW + timedelta(hours=2)
    after, actions, _ = _decide(record, FAILED, {1: CandidateResult("")}, now=later)
    assert bs.load(after.extra).phase == bs.TIMED_OUT  # type: ignore[union-attr]
    assert [type(a) for a in actions] == [act.PostComment, ca.DeleteBranch]
    assert "goes on without bisecting" in actions[0].body
    assert replace(after, extra={}) == replace(record, extra={})


def test_each_rerun_is_its_own_comment() -> None:
    twice = Culprit(ci=("test",), rerun_flaky=2)
    record, first, _ = _decide(_record(), FAILED, culprit=twice)
    rerun = (*FAILED, CheckRun("test", "completed", "failure", id=9))
    record, second, _ = _decide(record, rerun, culprit=twice)
    assert [type(a) for a in second] == [act.PostComment, ca.RerunCheck]
    assert second[1] == ca.RerunCheck(record.id, "test", 9)
    assert first[0].key != second[0].key
