"""Properties that must hold for any input, not just the examples."""

from __future__ import annotations

import contextlib
import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config.model import ApprovalRule
from bot.core.gates.ci import GATE as CI
from bot.core.gates.ci import CheckRun, CIFacts, CISettings
from bot.core.gates.codeowners import compile_pattern, parse_codeowners
from bot.core.gates.policy import PolicyFacts, Review, judge_approvals
from bot.core.gates.security import SarifError, parse_sarif

T0 = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
SEGMENT = st.text(alphabet="abcxyz.-_", min_size=1, max_size=4)
PATHS = st.lists(SEGMENT, min_size=1, max_size=4).map("/".join)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400), PATHS)
def test_any_codeowners_text_parses_without_raising(text: str, path: str) -> None:
    co = parse_codeowners(text)
    assert all(p.line >= 1 and p.col >= 1 for p in co.problems)
    assert isinstance(co.owners_of(path), tuple)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet="ab/*?.\\ ", min_size=1, max_size=12), PATHS)
def test_any_pattern_compiles(pattern: str, path: str) -> None:
    compile_pattern(pattern).match(path)


@settings(max_examples=150, deadline=None)
@given(st.lists(SEGMENT, min_size=1, max_size=3).map("/".join), PATHS)
def test_anchored_literal_owns_itself_and_everything_below(literal: str, path: str) -> None:
    regex = compile_pattern("/" + literal)
    expected = path == literal or path.startswith(literal + "/")
    assert bool(regex.match(path)) is expected


@settings(max_examples=100, deadline=None)
@given(PATHS, PATHS)
def test_unanchored_name_matches_at_any_depth(name_path: str, prefix: str) -> None:
    name = name_path.split("/")[-1]
    assert compile_pattern(name).match(f"{prefix}/{name}")
    assert compile_pattern(name).match(f"{prefix}/{name}/inner.txt")


USERS = st.sampled_from(["ann", "bob", "cat", "dan", "release-train[bot]"])
STATES = st.sampled_from(["APPROVED", "CHANGES_REQUESTED", "DISMISSED", "COMMENTED"])
REVIEWS = st.lists(st.tuples(USERS, STATES), max_size=12).map(
    lambda pairs: tuple(
        Review(u, s, T0 + timedelta(minutes=i), HEAD) for i, (u, s) in enumerate(pairs)
    )
)
HEAD = "e" * 40
# every sampled user may write: these properties are about review order, not permissions
WRITERS = frozenset({"ann", "bob", "cat", "dan", "release-train[bot]"})


@settings(max_examples=100, deadline=None)
@given(REVIEWS, st.integers(0, 3), st.randoms(use_true_random=False))
def test_approvals_are_order_independent_and_never_count_excluded(
    reviews: tuple[Review, ...], required: int, rnd: random.Random
) -> None:
    facts = PolicyFacts(
        reviews=reviews,
        boarded_authors=("ann",),
        branch_changed_at=T0,
        writers=WRITERS,
        head_sha=HEAD,
    )
    rule = ApprovalRule(required=required)
    outcome = judge_approvals(facts, rule, "release-train[bot]")
    shuffled = list(reviews)
    rnd.shuffle(shuffled)
    again = judge_approvals(
        PolicyFacts(
            reviews=tuple(shuffled),
            boarded_authors=("ann",),
            branch_changed_at=T0,
            writers=WRITERS,
            head_sha=HEAD,
        ),
        rule,
        "release-train[bot]",
    )
    assert set(again.counted) == set(outcome.counted)
    assert set(again.changes_requested) == set(outcome.changes_requested)
    assert "ann" not in outcome.counted and "release-train[bot]" not in outcome.counted
    last = {}
    for r in reviews:
        if r.state != "COMMENTED":
            last[r.user] = r.state
    assert set(outcome.counted) == {
        u for u, s in last.items() if s == "APPROVED" and u not in ("ann", "release-train[bot]")
    }
    assert outcome.met == (len(outcome.counted) >= required and not outcome.changes_requested)


@settings(max_examples=100, deadline=None)
@given(REVIEWS, USERS)
def test_a_later_comment_never_removes_an_approval(reviews: tuple[Review, ...], who: str) -> None:
    rule = ApprovalRule(required=1)
    facts = PolicyFacts(reviews=reviews, writers=WRITERS, head_sha=HEAD)
    before = judge_approvals(facts, rule, "release-train[bot]")
    comment = Review(who, "COMMENTED", T0 + timedelta(hours=1), HEAD)
    after = judge_approvals(replace(facts, reviews=(*reviews, comment)), rule, "release-train[bot]")
    assert after == before


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda kids: (
        st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=3)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_sarif_parser_only_raises_sarif_error(value: object) -> None:
    for candidate in (
        value,
        {"version": "2.1.0", "runs": value},
        {"version": "2.1.0", "runs": [{"results": value, "tool": value}]},
    ):
        with contextlib.suppress(SarifError):
            parse_sarif(json.dumps(candidate))


NAMES = st.sampled_from(["build", "test", "lint", "e2e"])
RUNS = st.lists(
    st.builds(
        CheckRun,
        name=NAMES,
        status=st.sampled_from(["queued", "in_progress", "completed"]),
        conclusion=st.sampled_from([None, "success", "failure", "neutral", "skipped"]),
    ),
    max_size=6,
)


@settings(max_examples=200, deadline=None)
@given(RUNS, st.lists(NAMES, min_size=1, max_size=3), st.integers(0, 120))
def test_ci_success_means_every_required_check_reported_and_passed(
    runs: list[CheckRun], required: list[str], minutes: int
) -> None:
    result = CI.evaluate(
        CIFacts("sha", T0, tuple(runs)),
        CISettings(required=tuple(required)),
        T0 + timedelta(minutes=minutes),
    )
    if result.conclusion == "success":
        for name in required:
            latest = [r for r in runs if r.name == name][-1:]
            assert latest and latest[0].status == "completed"
            assert latest[0].conclusion in ("success", "neutral", "skipped")
    if result.conclusion == "in_progress":
        assert result.recheck_after is not None and result.recheck_after >= timedelta(0)
