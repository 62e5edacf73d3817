"""Properties of the pure core, with generated inputs (hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from lifecycle_builders import T0, config, pr, world

from bot.core import actions as act
from bot.core.chatops import parse_commands
from bot.core.decide import decide
from bot.core.ledger import Ledger, TrainRecord, decode, encode
from bot.core.world import CheckRun, Comment, Review

LABELS = st.sampled_from(["train:next", "feature", "bug", "train:emergency", "other"])

prs = st.lists(
    st.tuples(
        st.sets(LABELS, max_size=3),
        st.booleans(),  # draft
        st.booleans(),  # approved
        st.sampled_from(["success", "failure", "none"]),
    ),
    max_size=6,
)


def _world(specs: list[tuple[set[str], bool, bool, str]], comments: tuple[Comment, ...] = ()):  # type: ignore[no-untyped-def]
    pulls = [
        pr(i + 1, labels=tuple(sorted(labels)), draft=draft)
        for i, (labels, draft, _, _) in enumerate(specs)
    ]
    reviews = {
        p.number: (Review("rev", "APPROVED", p.head_sha, permission="write"),) if spec[2] else ()
        for p, spec in zip(pulls, specs, strict=True)
    }
    checks = {
        p.head_sha: () if spec[3] == "none" else (CheckRun("ci", "completed", spec[3]),)
        for p, spec in zip(pulls, specs, strict=True)
    }
    w = world(*pulls, comments=comments, permissions={"lead": "admin", "dev": "write"})
    return replace(w, reviews=reviews, checks=checks)


def _apply(ledger: Ledger, actions: list[act.Action]) -> Ledger:
    records = {r.id: r for r in ledger.records}
    for action in actions:
        if isinstance(action, act.WriteLedger):
            records[action.record.id] = action.record
    return Ledger(tuple(records.values()), frozenset(records))


@settings(max_examples=150, deadline=None)
@given(prs, st.integers(min_value=0, max_value=4 * 60))
def test_a_second_decision_right_after_does_nothing_while_boarding(specs, minutes) -> None:  # type: ignore[no-untyped-def]
    now = T0 + timedelta(minutes=minutes)  # before the 14:00 departure
    w = _world(specs)
    first = decide(config(), Ledger(), w, now)
    ledger = _apply(Ledger(), first)
    # an emergency train departs at once: that is a next step, not a repeat
    if any(r.state != "boarding" for r in ledger.records):
        return
    assert decide(config(), ledger, w, now + timedelta(seconds=30)) == []


@settings(max_examples=100, deadline=None)
@given(prs, st.lists(st.sampled_from(["hold", "resume", "status", "dance", "help"]), max_size=4))
def test_each_command_is_answered_once(specs, words) -> None:  # type: ignore[no-untyped-def]
    specs = [({"train:next"}, False, True, "success"), *specs]
    at = T0 + timedelta(minutes=1)
    comments = tuple(
        Comment(100 + i, 1, "lead", f"/train {word}", at, at) for i, word in enumerate(words)
    )
    ledger = _apply(Ledger(), decide(config(), Ledger(), _world(specs), T0))
    if any(r.state != "boarding" for r in ledger.records):
        return  # an emergency train departed: its next steps need the side effects done
    w = _world(specs, comments)
    first = decide(config(), ledger, w, T0 + timedelta(minutes=2))
    replies = [a for a in first if isinstance(a, act.PostComment) and a.key.startswith("reply:")]
    assert len(replies) == len(words)
    again = decide(config(), _apply(ledger, first), w, T0 + timedelta(minutes=3))
    assert not [a for a in again if isinstance(a, act.PostComment | act.React)]


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_parsing_any_comment_never_fails(body: str) -> None:
    for command in parse_commands(body):
        assert command.raw.startswith("/train")


@settings(max_examples=100, deadline=None)
@given(prs)
def test_ledger_records_round_trip(specs) -> None:  # type: ignore[no-untyped-def]
    for action in decide(config(), Ledger(), _world(specs), T0):
        if isinstance(action, act.WriteLedger):
            record: TrainRecord = action.record
            assert decode(encode(record)) == record
