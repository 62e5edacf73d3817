"""Pure unit tests: ledger encoding, trailers, ids, boarding order, notes, ChatOps parsing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from lifecycle_builders import T0, pr, world

from bot.config.model import BoardingRules, NoteCategory, Train
from bot.core import chatops
from bot.core.boarding import describe_delta, miss_reason, sync_boarding
from bot.core.ledger import (
    Boarded,
    Missed,
    TrainRecord,
    commit_message,
    decode,
    encode,
    parse_commit_message,
    transition_trailers,
)
from bot.core.notes import (
    BEGIN,
    END,
    categorize,
    generated_region,
    render_body,
    train_id_from_body,
)
from bot.core.train import (
    ABORTED,
    BOARDING,
    DEPARTED,
    MERGED,
    TrainId,
    can_transition,
    new_train_id,
    parse_train_id,
)
from bot.core.world import CheckRun, Comment, LabelEvent, Review


def _record() -> TrainRecord:
    return TrainRecord(
        id="web-2026-03-03",
        train="web",
        state=DEPARTED,
        created_at=T0,
        state_since=T0 + timedelta(hours=5),
        boarded=(Boarded(12, T0, "Add cart", "ana", ("feature",), "a" * 40),),
        missed=(Missed(14, "conflict", "merge conflict"),),
        notified=(12,),
        train_pr=40,
        handled_comments=(7, 9),
        extra={"promotion": {"stage": "canary", "bumps": [["web", "abc"]]}},
    ).with_event("create", T0)


def test_ledger_round_trip_is_exact_and_stable() -> None:
    record = _record()
    text = encode(record)
    assert decode(text) == record
    assert encode(decode(text)) == text
    assert text.endswith("}\n") and text.startswith('{\n  "approved_by"')
    assert list(json.loads(text)) == sorted(json.loads(text))


def test_ledger_decode_ignores_unknown_keys() -> None:
    raw = json.loads(encode(_record()))
    raw["from_the_future"] = 1
    assert decode(json.dumps(raw)) == _record()


def test_commit_message_and_trailers_round_trip() -> None:
    record = _record()
    trailers = transition_trailers(["depart", "notify"], record, actor="ana", delivery="d-1")
    message = commit_message("depart", record.id, trailers)
    assert message.startswith("depart: web-2026-03-03\n\nTrain-Id: web-2026-03-03\n")
    event, train_id, parsed = parse_commit_message(message)
    assert (event, train_id) == ("depart", record.id)
    assert ("Event", "notify") in parsed and ("Delivery", "d-1") in parsed
    assert ("Boarded", "#12") in parsed and ("Missed", "#14 conflict") in parsed
    assert ("Actor", "ana") in parsed


def test_train_ids() -> None:
    day = T0.date()
    assert new_train_id("web", day, set()) == "web-2026-03-03"
    assert new_train_id("web", day, {"web-2026-03-03"}) == "web-2026-03-03.2"
    assert new_train_id("web", day, set(), emergency=True) == "web-2026-03-03.2"
    assert parse_train_id("api-v2-2026-03-03.3") == TrainId("api-v2", day, 3)
    assert str(parse_train_id("web-2026-03-03")) == "web-2026-03-03"
    with pytest.raises(ValueError):
        parse_train_id("web-tuesday")


def test_transitions() -> None:
    assert can_transition(BOARDING, DEPARTED) and can_transition(DEPARTED, MERGED)
    assert can_transition(BOARDING, ABORTED) and can_transition(DEPARTED, ABORTED)
    # merged and promoting end aborted at their deadline; an ended train never restarts
    assert can_transition(MERGED, ABORTED) and not can_transition(ABORTED, BOARDING)


def test_boarding_follows_label_time_not_pr_number() -> None:
    train = Train("web")
    events = tuple(
        LabelEvent(n, "train:next", "labeled", T0 + timedelta(minutes=m))
        for n, m in ((5, 30), (3, 10), (9, 20))
    )
    w = world(pr(5), pr(3), pr(9), pr(11, labels=()), label_events=events)
    record, change = sync_boarding(TrainRecord("web-x", "web"), train, w, set(), T0)
    assert record.boarded_numbers() == (3, 9, 5)
    assert change.boarded == (3, 9, 5)


def test_boarding_keeps_place_follows_new_head_and_deboards() -> None:
    train = Train("web")
    record = TrainRecord("web-x", "web", boarded=(Boarded(3, T0), Boarded(5, T0)))
    moved = pr(3)
    moved = type(moved)(**{**moved.__dict__, "head_sha": "c" * 40, "title": "Renamed"})
    w = world(moved, pr(5, labels=()), pr(6), pr(7))
    record, change = sync_boarding(record, train, w, riding_elsewhere={7}, now=T0)
    assert record.boarded_numbers() == (3, 6)
    assert record.boarded[0].title == "Renamed"  # the head is taken at departure
    assert change.deboarded == ((5, "label removed"),)


def test_miss_reasons() -> None:
    rules = BoardingRules()
    p = pr(4)
    red = {p.head_sha: (CheckRun("ci", "completed", "failure"),)}
    self_review = {4: (Review("dev", "APPROVED", p.head_sha, permission="write"),)}
    good = {4: (Review("rev", "APPROVED", p.head_sha, permission="write"),)}
    assert miss_reason(pr(4, draft=True), rules, good, {}) == Missed(
        4, "draft", "the pull request is a draft"
    )
    assert miss_reason(p, rules, good, red) == Missed(4, "checks", "failing checks: ci")
    assert miss_reason(p, rules, self_review, {}) == Missed(
        4, "approval", "no approving review that counts (@dev: the pull request's author)"
    )
    assert miss_reason(p, rules, {}, {}) == Missed(4, "approval", "no approving review")
    assert miss_reason(p, rules, good, {}) is None
    assert miss_reason(p, BoardingRules(require_approval=False), {}, {}) is None


def test_boarding_counts_only_writers_on_the_head() -> None:
    """Issue 27: an outsider's, an unread, or a stale approval never boards a PR; a search
    answer (`approved`) does not stand in for reading who approved."""
    p = pr(4)
    rules = BoardingRules(require_checks=False)
    cases = {
        "read": (p.head_sha, "no write access to the repository (role: read)"),
        "": (p.head_sha, "write access unknown (the bot could not read it)"),
        "write": ("b" * 40, "stale: given on commit bbbbbbb, not on the head 0000000"),
    }
    for role, (commit, why) in cases.items():
        reviews = {4: (Review("rev", "APPROVED", commit, permission=role),)}
        missed = miss_reason(p, rules, reviews, {}, approved={4})
        assert missed == Missed(4, "approval", f"no approving review that counts (@rev: {why})")
    mixed = {
        4: (
            Review("outsider", "APPROVED", p.head_sha, permission="read"),
            Review("rev", "APPROVED", p.head_sha, permission="maintain"),
        )
    }
    assert miss_reason(p, rules, mixed, {}) is None


def test_later_changes_requested_cancels_approval() -> None:
    reviews = {4: (Review("rev", "APPROVED"), Review("rev", "CHANGES_REQUESTED"))}
    missed = miss_reason(pr(4), BoardingRules(), reviews, {})
    assert missed is not None and missed.reason == "approval"


def test_soak_durations_read_like_people_write_them() -> None:
    from bot.core.notes import duration

    assert duration(timedelta(minutes=90)) == "1h 30m"
    assert duration(timedelta(days=2)) == "2d"
    assert duration(timedelta(0)) == "0s"


def test_describe_delta() -> None:
    assert describe_delta(timedelta(hours=3, minutes=5)) == "in 3h 5m"
    assert describe_delta(timedelta(days=2, hours=1)) == "in 2d 1h"
    assert describe_delta(timedelta(0)) == "now"


def test_notes_group_by_label_categories() -> None:
    cats = (NoteCategory("Features", ("feature",)), NoteCategory("Fixes", ("bug",)))
    boarded = [
        Boarded(1, T0, labels=("bug",)),
        Boarded(2, T0, labels=("feature", "bug")),
        Boarded(3, T0, labels=()),
    ]
    groups = [(title, [b.number for b in entries]) for title, entries in categorize(boarded, cats)]
    assert groups == [("Features", [2]), ("Fixes", [1]), ("Other", [3])]


def test_body_regeneration_keeps_human_edits_outside_the_region() -> None:
    body = render_body("web-1", "v1 notes")
    assert train_id_from_body(body) == "web-1"
    edited = "Please test checkout!\n\n" + body + "\nSigned off by QA.\n"
    again = render_body("web-1", "v2 notes", edited)
    assert generated_region(again) == "v2 notes"
    assert again.startswith("Please test checkout!") and again.endswith("Signed off by QA.\n")
    assert again.count(BEGIN) == 1 and again.count(END) == 1
    assert render_body("web-1", "x", "human only").startswith("<!-- release-train:train-id=web-1")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("/train hold flaky canary", [("hold", "flaky canary")]),
        ("LGTM\n/train depart\n", [("depart", "")]),
        ("/train board #12", [("board", "#12")]),
        ("/train dance", [("unknown", "")]),
        ("/train", [("help", "")]),
        ("```\n/train abort\n```\n", []),
        ("~~~\n/train abort\n~~~\n/train status", [("status", "")]),
        ("> /train abort\nquoted", []),
        ("    /train abort", []),
        ("use `/train hold` to hold", []),
        ("/trainee", []),
    ],
)
def test_chatops_parsing(body: str, expected: list[tuple[str, str]]) -> None:
    assert [(c.name, c.arg) for c in chatops.parse_commands(body)] == expected


@pytest.mark.parametrize(
    ("command", "permission", "team", "allowed"),
    [
        ("status", "write", False, True),
        ("board", "write", False, True),
        ("deboard", "read", False, False),
        ("hold", "write", False, False),
        ("hold", "write", True, True),
        ("depart", "maintain", False, True),
        ("abort", "admin", False, True),
        ("rollback", "triage", False, False),
        ("help", "none", False, True),
    ],
)
def test_permission_table(command: str, permission: str, team: bool, allowed: bool) -> None:
    assert chatops.permitted(command, permission, team) is allowed


def test_denial_names_the_permission() -> None:
    text = chatops.denial("abort", "write", "release")
    assert "maintain or admin" in text and "`release`" in text and "`write`" in text


def test_pending_commands_skip_edited_bot_and_handled() -> None:
    record = TrainRecord("web-1", "web", created_at=T0, train_pr=40, handled_comments=(3,))
    later = T0 + timedelta(minutes=1)
    comments = (
        Comment(1, 40, "ana", "/train hold", later, later),
        Comment(2, 40, "ana", "/train hold", later, later + timedelta(seconds=5)),  # edited
        Comment(3, 40, "ana", "/train hold", later, later),  # handled
        Comment(4, 40, "release-train[bot]", "/train hold", later, later),
        Comment(5, 41, "ana", "/train hold", later, later),  # not a train PR
        Comment(6, 40, "ana", "/train hold", T0 - timedelta(days=1), T0 - timedelta(days=1)),
    )
    found = chatops.pending_commands([record], world(comments=comments))
    assert [tc.comment.id for tc in found["web-1"]] == [1]


def test_required_checks_must_have_passed() -> None:
    p = pr(4)
    good = {4: (Review("rev", "APPROVED", p.head_sha, permission="write"),)}
    runs = {p.head_sha: (CheckRun("lint", "completed", "success"),)}
    missed = miss_reason(p, BoardingRules(), good, runs, ("ci/*",))
    assert missed is not None and missed.detail == "required checks have not passed: `ci/*`"
    runs = {p.head_sha: (CheckRun("ci/unit", "completed", "success"),)}
    assert miss_reason(p, BoardingRules(), good, runs, ("ci/*",)) is None
    pending = {p.head_sha: (CheckRun("ci/unit", "in_progress"),)}
    assert miss_reason(p, BoardingRules(), good, pending, ("ci/*",)) is not None
