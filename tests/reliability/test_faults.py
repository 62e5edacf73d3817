"""Fault matrix: the scenario with p=0.2 faults on every bot request ends exactly like the
fault-free run (base tree, ledger, PR/issue states, comments, check runs, deployments,
ledger events), with a linear ledger. CI runs a few seeds; `bench/bench_reliability.py
--seeds 100` runs the full count. Reproduce a seed: `--seed N --plan transient -v`."""

from __future__ import annotations

import os
from typing import Any

import pytest
from lifecycle_sandbox import REPO
from matrix import (
    BUGS,
    CLIENT_TIMEOUT,
    SERVER_STALL,
    Outcome,
    after_write_plan,
    differences,
    explained,
    faulted,
    fresh_sandbox,
    transient_plan,
)
from scenario import (
    MERGED,
    TO_MERGE,
    Knobs,
    Run,
    bot_comment_counts,
    deployments_summary,
    ledger_records,
    play,
)

from bot.sandbox.faults import FaultPlan, install

pytestmark = pytest.mark.reliability

SEEDS = int(os.environ.get("RELIABILITY_SEEDS", "3"))
KNOWN: dict[tuple[str, int], str] = {}  # seeds that fail on a bug reported, not yet fixed


def _seeds(plan: str) -> list[Any]:
    return [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=KNOWN[(plan, s)]))
        if (plan, s) in KNOWN
        else s
        for s in range(SEEDS)
    ]


def _same_as_baseline(outcome: Outcome, baseline: Outcome) -> None:
    assert outcome.injector is not None and outcome.injector.injected, "no fault was injected"
    diffs = differences(baseline.state, outcome.state)
    known = explained(outcome.state, diffs)
    if known:  # each has its own strict-xfail test that pins it down
        pytest.xfail("; ".join(f"bug {b}: {BUGS[b]}" for b in known.split()))
    assert diffs == []
    assert outcome.linear
    counts = bot_comment_counts(outcome.run)
    assert counts == bot_comment_counts(baseline.run)


def test_the_fault_free_run_is_the_story(baseline: Outcome) -> None:
    ledger = baseline.state["ledger"]
    first, second = sorted(ledger)
    assert ledger[first]["state"] == "rolled_back" and ledger[first]["boarded"] == [1, 2]
    assert ledger[first]["missed"] == [(3, "conflict")]
    assert ledger[first]["approved_by"] == ["rm-dave"] and ledger[first]["handled_comments"] == 4
    assert ledger[second]["state"] == "boarding" and ledger[second]["boarded"] == [3]
    assert baseline.linear
    # promoted to staging, then production; rolled back: both reverted, an incident issue
    steps = ledger[first]["promotion"]["steps"]
    assert [(s[0], s[1]) for s in steps] == [("staging", "reverted"), ("production", "reverted")]
    assert ledger[first]["promotion"]["incident"]
    assert baseline.state["holds"] == [("web", first, "rollback requested by @rm-dave")]
    commits = baseline.state["commits"]
    for step in ("staging", "production"):
        assert commits[f"promote {first} to {step}"] == commits[f"revert {first} {step}"] == 1
    assert [e for e, *_ in baseline.state["deployments"]] == ["production", "staging"]
    # each bot comment exactly once: boarded ×3, refusal, status ×2, missed, boarded again,
    # shipped ×2, rollback reply, rolled back
    assert sum(bot_comment_counts(baseline.run).values()) == 12


@pytest.mark.parametrize("seed", _seeds("transient"))
def test_transient_faults_end_like_the_fault_free_run(seed: int, baseline: Outcome) -> None:
    """500/502/503, secondary rate limit (403 + Retry-After), client timeout; p=0.2 each."""
    with fresh_sandbox() as sb:
        outcome = faulted(sb, transient_plan(seed))
    _same_as_baseline(outcome, baseline)
    kinds = {i.kind for i in outcome.injector.injected} if outcome.injector else set()
    retried_secondary = (
        [
            i
            for i in outcome.injector.injected
            if i.kind == "secondary_rate_limit" and i.method == "GET"
        ]
        if outcome.injector
        else []
    )
    if retried_secondary:  # Retry-After: 1 was honoured (back-off recorded, not slept)
        assert any(w >= 1.0 for w in outcome.run.knobs.waits)
    assert kinds  # the plan did inject


@pytest.mark.parametrize("seed", _seeds("after-write"))
def test_writes_applied_then_answered_502_duplicate_nothing(seed: int, baseline: Outcome) -> None:
    """Every write may be applied and then answered 502 (p=0.2): no duplicate comment, PR,
    branch, merge or ledger transition."""
    with fresh_sandbox() as sb:
        outcome = faulted(sb, after_write_plan(seed))
    _same_as_baseline(outcome, baseline)


def _scripted(sb: Any, script: dict[tuple[str, int], Any], phases: Any = None) -> Run:
    plan = FaultPlan(script=script, timeout_s=SERVER_STALL)
    return play(
        sb,
        knobs=Knobs(timeout=CLIENT_TIMEOUT),
        before=lambda run: install(sb.server, plan),
        **({"phases": phases} if phases else {}),
    )


def test_a_failed_label_event_read_keeps_the_boarding_order() -> None:
    from scenario import board

    events = f"GET /repos/{REPO}/issues/3/events"  # c, labelled last, would board first
    with fresh_sandbox() as sb:
        run = _scripted(sb, {(events, n): 503 for n in range(4)}, [("board", board)])
        (record,) = ledger_records(run).values()
    assert [x["number"] for x in record["boarded"]] == [1, 2, 3]


def test_a_lost_merge_answer_keeps_the_approvals_in_the_ledger() -> None:
    with fresh_sandbox() as sb:
        run = _scripted(sb, {(f"PUT /repos/{REPO}/pulls/4/merge", 0): "after"}, TO_MERGE)
        record = next(r for r in ledger_records(run).values() if r["state"] in MERGED)
    assert record["approved_by"] == ["rm-dave"] and len(record["handled_comments"]) == 3


def test_a_lost_deployment_answer_creates_no_second_deployment() -> None:
    with fresh_sandbox() as sb:
        run = _scripted(sb, {(f"POST /repos/{REPO}/deployments", 0): "after"}, TO_MERGE)
        environments = [d[0] for d in deployments_summary(run)]
    assert environments == ["staging"]


def test_a_failed_permission_read_does_not_answer_for_the_commenter() -> None:
    """Bug I: the permission read fails (503 through the retries); the bot must not refuse
    `/train hold` as if dev-bob had no access. Later it answers with his real role."""
    from scenario import board

    permission = f"GET /repos/{REPO}/collaborators/dev-bob/permission"
    with fresh_sandbox() as sb:
        run = _scripted(sb, {(permission, n): 503 for n in range(4)}, [("board", board)])
        replies = [
            c["body"] for c in run.story.comments(run.prs["a"]) if "/train hold" in c["body"]
        ]
    assert replies and all("you have `write`" in r for r in replies if "needs" in r)
