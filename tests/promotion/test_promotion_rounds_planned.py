"""`plan` = what reconcile does, for promotion's inner steps, at EVERY round of the promotion
and rollback stories: each story is data (when, what a human does first, which action kinds
the rounds perform), and at each `when` the bot is run one round at a time until it has
nothing left to do; before each round `plan` lists, as data, exactly the actions that round
then performs (the bump commit, the deployment and its statuses, the promotion check run,
the stage table, verdicts, the revert chain, the incident, the holds and their release).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from lifecycle import plan_check
from lifecycle.lifecycle_sandbox import REPO
from promotion.promotion_story import Merged, merged_train

from bot.core import actions as act

M = timedelta(minutes=1)

# the kinds of the rounds that matter, as data: a move's heading, its side effects, the
# ledger commit, then what follows the record (stage table, check run)
START = ["Promote", "BumpStage", "StartDeployment", "WriteLedger", "UpdateStageTable",
         "PublishPromotionCheck"]  # fmt: skip
FIRST_START = ["Promote", "BumpStage", "StartDeployment", "PublishPromotionCheck",
               "WriteLedger", "UpdateStageTable"]  # fmt: skip
PASS = ["Promote", "SetDeploymentStatus", "WriteLedger", "UpdateStageTable",
        "PublishPromotionCheck"]  # fmt: skip
COMPLETE = ["Promote", "PublishRelease", "WriteLedger", "UpdateStageTable",
            "PublishPromotionCheck"]  # fmt: skip
ROLLBACK = ["Promote", "RevertChain", "SetDeploymentStatus", "OpenIncident",
            "AnnounceRollback", "PublishRelease", "WriteLedger", "UpdateStageTable",
            "PublishPromotionCheck"]  # fmt: skip
RELEASE = ["WriteLedger", "PublishPromotionCheck", "PostComment"]  # its PR is not read
STAGE_FAILED = ["Promote", "PostComment", "PublishPromotionCheck", "WriteLedger",
                "UpdateStageTable"]  # fmt: skip


@dataclass(frozen=True)
class At:
    """Minutes after the merge; what a human does first; the kinds a round performs (each
    listed one must be some round's, in order)."""

    minutes: int
    first: Callable[[Merged], Any] | None = None
    rounds: tuple[list[str], ...] = ()


def comment(body: str, who: str = "rm-dave") -> Callable[[Merged], Any]:
    return lambda m: m.kit.comment(REPO, m.train_pr, who, body)


def broken_staging(m: Merged) -> None:
    m.kit.push(REPO, "main", {"deploy/staging/web.yaml": "web:\n  image: [x\n"}, "oops", "dev-bob")


def canary_by_pull_request(text: str) -> str:
    old = '  - name: canary\n    manifests: ["deploy/canary/*"]\n'
    return text.replace(old, old + "    mode: pull_request\n")


STORIES: dict[str, tuple[dict[str, Any], list[At]]] = {
    "promoted to the end": (
        {},
        [
            At(0, rounds=(FIRST_START,)),
            At(5),  # soaking: nothing
            At(10, rounds=([*PASS, *START[:1], *START[1:]],)),
            At(40),
            At(100),
            At(160, rounds=([*PASS, *COMPLETE],)),
            At(170),
        ],
    ),
    "rolled back by hand, then resumed": (
        {},
        [
            At(0, rounds=(FIRST_START,)),
            At(2, comment("/train rollback"), rounds=(ROLLBACK,)),
            At(3, comment("/train resume", "dev-alice")),  # not allowed: nothing released
            At(4, comment("/train resume"), rounds=(RELEASE,)),
            At(5),
        ],
    ),
    "a soak skipped by /train promote": (
        {},
        [At(0), At(2, comment("/train promote checked by hand")), At(12), At(45)],
    ),
    "a manifest that no longer parses": (
        {},
        [At(0, broken_staging, rounds=(STAGE_FAILED,)), At(30)],
    ),
    "a canary taking pull requests": (
        {"edit_config": canary_by_pull_request},
        [At(0), At(10), At(12), At(13, comment("/train rollback")), At(14)],
    ),
}


def settle(m: Merged, minutes: int) -> list[list[str]]:
    rounds = plan_check.settle(m.story, m.merged_at + minutes * M)
    return [plan_check.kinds(r) for r in rounds]


@pytest.mark.parametrize("name", sorted(STORIES))
def test_every_round_of_a_promotion_story_is_planned(sandbox, name: str) -> None:  # type: ignore[no-untyped-def]
    options, steps = STORIES[name]
    m = merged_train(sandbox, **options)
    seen: list[str] = []
    for at in steps:
        if at.first is not None:
            at.first(m)
        rounds = settle(m, at.minutes)
        for expected in at.rounds:
            assert any(plan_check.within(expected, r) for r in rounds), (
                at.minutes,
                expected,
                rounds,
            )
        seen += [k for r in rounds for k in r]
    assert "WriteLedger" in seen and "Promote" in seen


def test_a_rollback_records_the_commits_and_incident_it_made(sandbox) -> None:  # type: ignore[no-untyped-def]
    """The revert round's ledger commit carries what its writes made (folded outcomes): the
    revert commit, the incident; and the incident body names the revert commit."""
    from bot.core.ledger import parse_commit_message

    m = merged_train(sandbox)
    settle(m, 0)
    comment("/train rollback")(m)
    settle(m, 2)
    record = m.record()
    steps = record["extra"]["promotion"]["steps"]
    revert = steps[0]["revert_commit"]
    incident = record["extra"]["promotion"]["incident"]
    assert revert and incident and steps[0]["status"] == "reverted"
    entries = [e.split("\x00", 1)[1] for e in m.story.ledger_log()]
    event, _, trailers = parse_commit_message(next(e for e in entries if "rolled-back" in e))
    assert event == "rolled-back"
    assert ("Commit", revert) in trailers and ("Incident", f"#{incident}") in trailers
    issue = m.kit.call("GET", f"/repos/{REPO}/issues/{incident}", as_user="rm-dave")
    assert revert in issue["body"]


def test_a_planned_round_writes_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    m = merged_train(sandbox)
    settle(m, 0)
    mark = m.story.log_mark()
    planned = m.story.reconcile(m.merged_at + 10 * M, dry_run=True)
    assert m.story.writes_since(mark) == []
    assert [type(a).__name__ for a in planned.planned].count("BumpStage") == 1
    assert any(isinstance(a, act.Promote) for a in planned.planned)
