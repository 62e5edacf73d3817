"""Pure unit tests of `decide`: one scenario per state, plain values in, actions out."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from lifecycle_builders import APPROVED_AT, BASE_SHA, FREEZE, T0, approved, config, pr, world

from bot.core import actions as act
from bot.core.decide import decide, merge_verdict
from bot.core.ledger import Boarded, Ledger, Missed, TrainRecord
from bot.core.notes import render_body
from bot.core.world import CheckRun, Comment, Review, World


def _writes(actions: list[act.Action]) -> list[act.WriteLedger]:
    return [a for a in actions if isinstance(a, act.WriteLedger)]


def _kinds(actions: list[act.Action]) -> list[str]:
    return [type(a).__name__ for a in actions]


def boarding(*numbers: int, **kw: object) -> TrainRecord:
    values: dict[str, object] = {
        "id": "web-2026-03-03",
        "train": "web",
        "created_at": T0,
        "state_since": T0,
        "boarded": tuple(
            Boarded(n, T0 + timedelta(minutes=n), f"Change {n}", "dev", ("train:next",))
            for n in numbers
        ),
        "notified": numbers,
    }
    values.update(kw)
    return TrainRecord(**values)  # type: ignore[arg-type]


def departed(*numbers: int, **kw: object) -> TrainRecord:
    base = boarding(*numbers)
    values: dict[str, object] = {
        "state": "departed",
        "state_since": T0 + timedelta(hours=5),
        "release_branch": "release/web-2026-03-03",
        "base_sha": BASE_SHA,
        "train_pr": 40,
        "boarded": tuple(replace(b, head_sha=f"{b.number:040x}") for b in base.boarded),
    }
    values.update(kw)
    return replace(base, **values)  # type: ignore[arg-type]


def train_pr_world(record: TrainRecord, *prs: object, **kw: object) -> World:
    train_pr = replace(
        pr(40, labels=(), head_ref=record.release_branch, author="release-train[bot]"),
        head_sha="e" * 40,
        body=render_body(record.id, "stale"),
    )
    w = world(*prs, train_pr, **kw)  # type: ignore[arg-type]
    return replace(
        w,
        branches={**w.branches, record.release_branch: "e" * 40},
        reviews={**w.reviews, 40: (Review("boss", "APPROVED", "e" * 40, APPROVED_AT, "admin"),)},
    )


def test_labelled_prs_create_a_train_and_are_told_once() -> None:
    actions = decide(config(), Ledger(), world(pr(1), pr(2)), T0)
    assert _kinds(actions) == ["PostComment", "PostComment", "WriteLedger"]
    record = _writes(actions)[0].record
    assert _writes(actions)[0].events == ("create", "board", "notify")
    assert record.id == "web-2026-03-03" and record.boarded_numbers() == (1, 2)
    assert "14:00 UTC" in actions[0].body and "in 5h" in actions[0].body  # type: ignore[union-attr]
    again = decide(config(), Ledger((record,)), world(pr(1), pr(2)), T0 + timedelta(minutes=1))
    assert again == []


def test_no_labelled_prs_no_train() -> None:
    assert decide(config(), Ledger(), world(pr(1, labels=())), T0) == []


def test_departure_at_cadence_time_cuts_branch_and_merges_in_label_order() -> None:
    record = boarding(2, 1)
    record = replace(record, boarded=tuple(reversed(record.boarded)))
    actions = decide(config(), Ledger((record,)), world(pr(1), pr(2)), T0.replace(hour=14))
    # the train PR opens in the same step, after the merges (one ledger commit for both)
    assert _kinds(actions) == [
        "CreateBranch",
        "MergeIntoBranch",
        "MergeIntoBranch",
        "OpenPullRequest",
        "PublishRelease",  # the train's Release, a draft
        "WriteLedger",
    ]
    assert [a.pr for a in actions if isinstance(a, act.MergeIntoBranch)] == [1, 2]
    written = _writes(actions)[0]
    assert written.record.state == "departed" and written.events == ("depart", "open-pr")
    assert written.record.base_sha == BASE_SHA


def test_not_before_departure_time() -> None:
    assert decide(config(), Ledger((boarding(1),)), world(pr(1)), T0.replace(hour=13)) == []


def test_freeze_skips_the_departure() -> None:
    cfg = config(freezes=(FREEZE,))
    # the freeze covers 3 and 4 March: the train departs on the 5th
    assert decide(cfg, Ledger((boarding(1),)), world(pr(1)), T0.replace(hour=15)) == []
    actions = decide(cfg, Ledger((boarding(1),)), world(pr(1)), T0 + timedelta(days=2, hours=5))
    assert _writes(actions)[0].record.state == "departed"


def test_unready_prs_miss_the_train_with_reasons() -> None:
    red = pr(2)
    w = world(pr(1), red, pr(3, draft=True), pr(4))
    w = replace(
        w,
        checks={**w.checks, red.head_sha: (CheckRun("ci", "completed", "failure"),)},
        reviews={**w.reviews, 4: ()},
    )
    actions = decide(config(), Ledger((boarding(1, 2, 3, 4),)), w, T0.replace(hour=14))
    record = _writes(actions)[0].record
    assert record.boarded_numbers() == (1,)
    assert [(m.number, m.reason) for m in record.missed] == [
        (2, "checks"),
        (3, "draft"),
        (4, "approval"),
    ]


def test_departed_opens_the_train_pr_and_tells_missed() -> None:
    record = departed(1, missed=(Missed(2, "conflict", "merge conflict with main"),), train_pr=0)
    w = world(pr(1), pr(2))
    w = replace(w, branches={**w.branches, record.release_branch: "e" * 40})
    actions = decide(config(), Ledger((record,)), w, T0.replace(hour=14, minute=1))
    kinds = ["PostComment", "OpenPullRequest", "WriteLedger", "PostComment", "WriteLedger"]
    assert _kinds(actions) == kinds
    # the PR that missed keeps its label and boards the next train at once
    assert _writes(actions)[1].record.id == "web-2026-03-04"
    assert _writes(actions)[1].record.boarded_numbers() == (2,)
    opened = actions[1]
    assert isinstance(opened, act.OpenPullRequest)
    assert opened.title == "Release train web-2026-03-03"
    assert "#1 Change 1 (`@dev`)" in opened.body and "#2: merge conflict" in opened.body
    told = actions[0]
    assert isinstance(told, act.PostComment) and told.body.startswith("⚠️ @dev This pull")
    assert "release-train:train-id=web-2026-03-03" in opened.body


def test_merge_when_approved_green_and_in_window() -> None:
    record = departed(1)
    w = train_pr_world(record, pr(1))
    actions = decide(config(), Ledger((record,)), w, T0.replace(hour=15))
    assert _kinds(actions) == ["MergePullRequest", "WriteLedger"]
    merge = actions[0]
    assert isinstance(merge, act.MergePullRequest) and merge.sha == "e" * 40
    assert "Train-Id: web-2026-03-03" in merge.message and "Approved-By: boss" in merge.message
    assert "Boarded: #1" in merge.message
    assert _writes(actions)[0].record.state == "merged"


def test_no_merge_outside_window_or_in_freeze_or_held() -> None:
    record = departed(1)
    w = train_pr_world(record, pr(1))
    night = T0.replace(hour=20)
    assert "MergePullRequest" not in _kinds(decide(config(), Ledger((record,)), w, night))
    frozen = config(freezes=(FREEZE,))
    assert "MergePullRequest" not in _kinds(
        decide(frozen, Ledger((record,)), w, T0.replace(hour=15))
    )
    held = replace(record, held=True)
    assert "MergePullRequest" not in _kinds(
        decide(config(), Ledger((held,)), w, T0.replace(hour=15))
    )


def test_verdict_rejects_author_approval_and_red_checks() -> None:
    record = departed(1)
    w = train_pr_world(record, pr(1))
    train_pr = w.pulls[40]
    author_only = replace(w, reviews={40: (Review("dev", "APPROVED", "", APPROVED_AT),)})
    at = T0.replace(hour=15)
    assert not merge_verdict(config(), record, train_pr, author_only, at).may_merge
    red = replace(w, checks={train_pr.head_sha: (CheckRun("ci", "completed", "failure"),)})
    verdict = merge_verdict(config(), record, train_pr, red, at)
    assert len(verdict.blocking) == 1 and verdict.blocking[0].startswith("gate `ci` is failure")
    green = merge_verdict(config(), record, train_pr, w, at)
    assert green.may_merge and green.approved_by == ("boss",)
    assert "ci=success" in green.trailer and "policy=success" in green.trailer


def test_departed_deadline_aborts_and_closes_the_train_pr() -> None:
    record = departed(1)
    w = train_pr_world(record, pr(1), reviews={})
    w = replace(w, reviews={})
    actions = decide(config(), Ledger((record,)), w, T0 + timedelta(days=3))
    written = _writes(actions)[0].record
    assert written.state == "aborted" and written.end_reason == "deadline"
    assert "ClosePullRequest" in _kinds(actions)
    comment = next(a for a in actions if isinstance(a, act.PostComment))
    assert "deadline" in comment.body


def test_train_pr_closed_by_hand_aborts() -> None:
    record = departed(1)
    w = train_pr_world(record, pr(1))
    w = replace(w, pulls={**w.pulls, 40: replace(w.pulls[40], state="closed")})
    actions = decide(config(), Ledger((record,)), w, T0.replace(hour=15))
    assert _writes(actions)[0].record.end_reason == "train PR closed by hand"


def test_merged_lands_boarded_prs_then_waits() -> None:
    record = replace(departed(1, 2), state="merged", merge_sha="f" * 40)
    actions = decide(config(), Ledger((record,)), world(pr(1), pr(2)), T0.replace(hour=16))
    assert _kinds(actions) == ["LandPullRequest", "LandPullRequest", "WriteLedger"]
    landed = _writes(actions)[0].record
    assert decide(config(), Ledger((landed,)), world(), T0.replace(hour=17)) == []


def _comment(cid: int, issue: int, who: str, body: str) -> Comment:
    at = T0 + timedelta(minutes=30)
    return Comment(cid, issue, who, body, at, at)


def test_chatops_hold_with_and_without_permission() -> None:
    record = boarding(1)
    comments = (_comment(1, 1, "dev", "/train hold"), _comment(2, 1, "lead", "/train hold risky"))
    w = world(pr(1), comments=comments, permissions={"dev": "write", "lead": "maintain"})
    actions = decide(config(), Ledger((record,)), w, T0 + timedelta(hours=1))
    replies = [a for a in actions if isinstance(a, act.PostComment)]
    assert "needs maintain or admin permission" in replies[0].body
    assert "held web-2026-03-03" in replies[1].body
    reactions = [a.content for a in actions if isinstance(a, act.React)]
    assert reactions == ["eyes", "+1"]
    written = _writes(actions)[0].record
    assert written.held and written.hold_reason == "risky" and written.handled_comments == (1, 2)
    # a held train does not depart, and handled comments are not handled again
    later = decide(config(), Ledger((written,)), w, T0.replace(hour=14))
    assert later == []


def test_chatops_depart_deboard_board_and_help() -> None:
    record = boarding(1, 2)
    comments = (
        _comment(1, 1, "dev", "/train deboard"),
        _comment(2, 2, "dev", "/train board #3"),
        _comment(3, 2, "dev", "/train frobnicate"),
        _comment(4, 2, "lead", "/train depart"),
    )
    perms = {"dev": "write", "lead": "admin"}
    w = world(pr(1), pr(2), pr(3, labels=()), comments=comments, permissions=perms)
    actions = decide(config(), Ledger((record,)), w, T0 + timedelta(hours=1))
    assert act.RemoveLabel("web-2026-03-03", 1, "train:next") in actions
    assert act.AddLabel("web-2026-03-03", 3, "train:next") in actions
    help_reply = [a for a in actions if isinstance(a, act.PostComment) and "/train help" in a.body]
    assert help_reply
    written = _writes(actions)[0].record
    assert written.state == "departed" and written.boarded_numbers() == (2, 3)


def test_emergency_label_departs_at_once() -> None:
    urgent = pr(7, labels=("train:emergency",))
    actions = decide(config(), Ledger(), world(urgent), T0)
    record = _writes(actions)[0].record
    assert record.emergency and record.id == "web-2026-03-03.2"
    assert record.state == "departed"


def test_one_pr_rides_one_train_across_lines() -> None:
    from bot.config.model import Train

    cfg = config(trains=(Train("web", label="ship"), Train("api", label="ship")))
    actions = decide(cfg, Ledger(), world(pr(1, labels=("ship",))), T0)
    boarded = [w.record.boarded_numbers() for w in _writes(actions)]
    assert boarded == [(1,)]


def test_deboarded_by_closing() -> None:
    record = boarding(1, 2)
    actions = decide(config(), Ledger((record,)), world(pr(1), pr(2, state="closed")), T0)
    written = _writes(actions)[0]
    assert written.record.boarded_numbers() == (1,) and "deboard" in written.events
    told = [a for a in actions if isinstance(a, act.PostComment)]
    assert [(a.issue, a.key) for a in told] == [(2, "deboarded:web-2026-03-03:2")]
    assert "(closed)" in told[0].body


def test_approvals_from_boarded_author_do_not_count() -> None:
    record = departed(1)
    w = train_pr_world(record, pr(1))
    w = replace(w, reviews={40: approved(40, by="dev")})
    assert "MergePullRequest" not in _kinds(
        decide(config(), Ledger((record,)), w, T0.replace(hour=15))
    )


def test_next_due_is_the_departure_or_the_window_or_the_deadline() -> None:
    from bot.core.decide import next_due

    assert next_due(config(), [boarding(1)], T0) == T0.replace(hour=14)
    record = departed(1)
    # departed at 14:00; window 09-17 is open, so the next thing is the 48h deadline
    assert next_due(config(), [record], T0.replace(hour=15)) == T0.replace(hour=14) + timedelta(
        hours=48
    )
    # at night the window opening at 09:00 comes first
    assert next_due(config(), [record], T0.replace(hour=20)) == T0.replace(hour=9) + timedelta(
        days=1
    )
    assert next_due(config(), [], T0) is None


def test_a_train_nobody_could_ride_ends_after_telling_them() -> None:
    record = departed(missed=(Missed(2, "conflict", "merge conflict"),), train_pr=0)
    w = world(pr(2, labels=()))
    w = replace(w, branches={**w.branches, record.release_branch: BASE_SHA})
    actions = decide(config(), Ledger((record,)), w, T0.replace(hour=14, minute=1))
    assert _kinds(actions) == ["PostComment", "WriteLedger"]
    assert _writes(actions)[0].record.end_reason == "no pull request could ride"
