"""The bridge from the lifecycle's World to the gates, with plain values."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

from bot.config.model import (
    ApprovalRule,
    Config,
    Cutover,
    CutoverWindow,
    Freeze,
    Gates,
    Train,
)
from bot.core.gates.lifecycle import departed_at, gate_verdict
from bot.core.gates.security import SecurityFacts
from bot.core.ledger import Boarded, Event, TrainRecord
from bot.core.world import CheckRun, PullRequest, Review, World

DEPARTED = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # a Monday
NOW = DEPARTED + timedelta(hours=1)
HEAD = "c0ffee" * 6 + "abcd"
GATES = Gates(
    ci={"required": ["build"]},
    approvals=ApprovalRule(required=1),
    allow_neutral=("security", "manifests", "error_budget"),
)
CONFIG = Config(trains=(Train("shop"),), gates=GATES)
RECORD = TrainRecord(
    id="shop-2026-11-02",
    train="shop",
    state="departed",
    created_at=DEPARTED - timedelta(days=1),
    state_since=DEPARTED,
    boarded=(Boarded(7, DEPARTED, author="dev-ann"),),
    history=(Event("departed", DEPARTED),),
    train_pr=42,
)
PR = PullRequest(number=42, author="release-train[bot]", head_sha=HEAD)


def world(
    *reviews: Review,
    checks: tuple[CheckRun, ...] = (CheckRun("build", "completed", "success"),),
    **kw: object,
) -> World:
    return World(pulls={42: PR}, reviews={42: reviews}, checks={HEAD: checks}, **kw)  # type: ignore[arg-type]


def approval(who: str, minutes: int = 30, role: str = "write") -> Review:
    """An approval on the head, its author's role as the adapter read it."""
    at = DEPARTED + timedelta(minutes=minutes)
    return Review(who, "APPROVED", HEAD, at, permission=role)


def test_departed_at_comes_from_the_history() -> None:
    assert departed_at(RECORD, NOW) == DEPARTED


def test_full_green_merges_with_trailer_and_approvers() -> None:
    result = gate_verdict(CONFIG, RECORD, PR, world(approval("rel-mgr")), NOW)
    assert result.verdict.may_merge, result.verdict.blocking
    assert result.approved_by == ("rel-mgr",)
    assert result.verdict.trailer == (
        "ci=success, security=neutral, manifests=neutral, policy=success, error-budget=neutral"
    )


def test_self_approval_and_red_ci_block() -> None:
    red = (CheckRun("build", "completed", "failure"),)
    result = gate_verdict(CONFIG, RECORD, PR, world(approval("dev-ann"), checks=red), NOW)
    assert not result.verdict.may_merge
    assert result.verdict.blocking == ("ci", "policy")


def test_neutral_blocks_unless_allowed() -> None:
    strict = Config(trains=(Train("shop"),), gates=Gates(ci={"required": ["build"]}))
    result = gate_verdict(strict, RECORD, PR, world(approval("rel-mgr")), NOW)
    assert result.verdict.blocking == ("security", "manifests", "error-budget")


def test_extra_facts_replace_the_defaults() -> None:
    result = gate_verdict(
        CONFIG,
        RECORD,
        PR,
        world(approval("rel-mgr")),
        NOW,
        extra={"security": SecurityFacts(ref="release/shop")},
    )
    assert result.results[1].conclusion == "success"


def test_freeze_and_closed_cutover_hold_the_merge() -> None:
    frozen = Config(
        trains=(Train("shop"),),
        gates=GATES,
        freezes=(Freeze("november", date(2026, 11, 1), date(2026, 11, 3)),),
    )
    held = gate_verdict(frozen, RECORD, PR, world(approval("rel-mgr")), NOW)
    policy = held.results[3]
    assert policy.conclusion == "in_progress" and "november" in policy.title
    assert policy.recheck_after == datetime(2026, 11, 4, tzinfo=UTC) - NOW
    windows = Cutover(windows=(CutoverWindow((1, 2, 3), time(9), time(17)),))  # Tue-Thu
    closed = Config(trains=(Train("shop"),), gates=GATES, cutover=windows)
    waiting = gate_verdict(closed, RECORD, PR, world(approval("rel-mgr")), NOW)
    assert waiting.results[3].conclusion == "in_progress"
    assert waiting.results[3].recheck_after == datetime(2026, 11, 3, 9, tzinfo=UTC) - NOW


def test_permissions_from_the_world_limit_who_counts() -> None:
    w = world(approval("drive-by"), permissions={"rel-mgr": "write", "drive-by": "read"})
    result = gate_verdict(CONFIG, RECORD, PR, w, NOW)
    assert not result.verdict.may_merge and result.approved_by == ()


def test_approvals_fail_closed_on_unread_roles_and_old_commits() -> None:
    unread = gate_verdict(CONFIG, RECORD, PR, world(approval("rel-mgr", role="")), NOW)
    assert not unread.verdict.may_merge and unread.approved_by == ()
    old = replace(approval("rel-mgr"), commit_id="0" * 40)
    stale = gate_verdict(CONFIG, RECORD, PR, world(old), NOW)
    assert not stale.verdict.may_merge and stale.approved_by == ()
    policy = next(r for r in stale.results if r.gate == "policy")
    assert "stale: given on commit 0000000" in policy.summary


def test_bot_login_from_the_world() -> None:
    w = world(approval("my-train[bot]"), bot_login="my-train[bot]")
    assert gate_verdict(CONFIG, RECORD, PR, w, NOW).approved_by == ()


def test_a_gate_config_error_blocks_with_its_own_result() -> None:
    broken = Config(trains=(Train("shop"),), gates=Gates(ci={"required": 3}))
    result = gate_verdict(broken, RECORD, PR, world(approval("rel-mgr")), NOW)
    assert "ci" in result.verdict.blocking
    assert result.results[0].title == "Gate configuration invalid"
