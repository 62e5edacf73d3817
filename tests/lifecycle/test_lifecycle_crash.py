"""Crash between side effects and the ledger commit: the next reconcile reaches the same
decision, adopts what exists and duplicates nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

from lifecycle_sandbox import REPO, Story, board_three, new_story, start_time

from bot.core import actions as act
from bot.core.decide import decide
from bot.shell.reconcile import load_repo_config, perform, read_world


def _crash_before_ledger(story: Story, now: datetime) -> list[str]:
    """Plan like reconcile does, do every side effect, then 'crash' before any ledger write."""
    done = []
    with story.client() as client:
        config = load_repo_config(client)
        assert config is not None
        snap = read_world(config, client, client.ledger_tip(config.ledger_branch), now)
        for action in decide(config, snap.ledger, snap.world, now):
            if not isinstance(action, act.WriteLedger):
                perform(client, action)
                done.append(type(action).__name__)
    return done


def test_crash_after_comments_and_after_departure_side_effects(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    a, b, c = board_three(story)

    assert _crash_before_ledger(story, t0).count("PostComment") == 3
    story.reconcile(t0 + timedelta(seconds=1))
    for number in (a, b, c):
        assert sum("boarded train" in x["body"] for x in story.comments(number)) == 1

    done = _crash_before_ledger(story, t0 + timedelta(minutes=2))
    assert done[:2] == ["CreateBranch", "MergeIntoBranch"]
    result = story.reconcile(t0 + timedelta(minutes=2, seconds=1))
    assert result.problems == ()
    pulls = story.kit.call("GET", f"/repos/{REPO}/pulls?state=all", as_user="rm-dave")
    assert sum(1 for p in pulls if p["head"]["ref"].startswith("release/")) == 1
    assert sum("missed train" in x["body"] for x in story.comments(c)) == 1
    train_pr = story.open_train_pr()
    files = story.kit.call(
        "GET", f"/repos/{REPO}/pulls/{train_pr['number']}/files", as_user="rm-dave"
    )
    assert {f["filename"] for f in files} == {"app.txt", "a.txt", "b.txt"}
