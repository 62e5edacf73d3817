"""Crash between side effects and the ledger commit: the next reconcile reaches the same
decision, adopts what exists and duplicates nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from lifecycle_sandbox import REPO, Story, board_three, new_story, start_time

from bot.core import actions as act
from bot.core.decide import decide
from bot.core.release import PublishRelease
from bot.shell import release_io
from bot.shell.reconcile import load_repo_config, perform, read_world


def _crash_before_ledger(story: Story, now: datetime) -> list[str]:
    """Plan like reconcile does, do every side effect, then 'crash' before any ledger write."""
    done = []
    with story.client() as client:
        config = load_repo_config(client)
        assert config is not None
        snap = read_world(config, client, client.ledger_tip(config.ledger_branch), now)
        decided = decide(config, snap.ledger, snap.world, now)
        for i, action in enumerate(decided):
            if isinstance(action, act.WriteLedger):
                continue
            if isinstance(action, PublishRelease):  # rendered from the record it precedes
                write = next(a for a in decided[i:] if isinstance(a, act.WriteLedger))
                release_io.perform(client, config, write.record, action)
            else:
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
    releases = story.kit.call("GET", f"/repos/{REPO}/releases", as_user="rm-dave")
    assert [r["draft"] for r in releases] == [True]  # the draft made before the crash, adopted
    assert sum("missed train" in x["body"] for x in story.comments(c)) == 1
    train_pr = story.open_train_pr()
    files = story.kit.call(
        "GET", f"/repos/{REPO}/pulls/{train_pr['number']}/files", as_user="rm-dave"
    )
    assert {f["filename"] for f in files} == {"app.txt", "a.txt", "b.txt"}


@pytest.mark.parametrize("seed", [11, 47])
def test_the_story_survives_injected_faults(sandbox, seed: int) -> None:  # type: ignore[no-untyped-def]
    """5xx before and after writes, secondary rate limits: retried now or next reconcile,
    and the end is the same as without faults, with nothing said twice."""
    from bot.sandbox.faults import FaultPlan, install, uninstall

    t0 = start_time()
    story = new_story(sandbox, t0)
    a, b, c = board_three(story)
    plan = FaultPlan(seed=seed, probability=0.12, kinds=(500, 502, "after", "secondary_rate_limit"))
    injector = install(sandbox.server, plan)

    def settle(at: datetime) -> None:
        for _ in range(12):
            if not story.reconcile(at).problems:
                return
        raise AssertionError("still failing after 12 reconciles")

    settle(t0)
    settle(t0 + timedelta(minutes=2))
    uninstall(sandbox.server)
    train_pr = story.open_train_pr()
    story.green(train_pr["head"]["sha"])
    story.approve(train_pr["number"], "rm-dave", t0 + timedelta(minutes=3))
    install(sandbox.server, plan)
    settle(t0 + timedelta(minutes=3))
    settle(t0 + timedelta(minutes=4))
    uninstall(sandbox.server)

    assert injector.injected, "the plan injected no fault"
    assert story.pull(train_pr["number"])["merged"] is True
    keys = [
        body.rsplit("release-train:key=", 1)[1]
        for number in (a, b, c, train_pr["number"])
        for body in (x["body"] for x in story.comments(number))
        if "release-train:key=" in body
    ]
    assert len(keys) == len(set(keys)), sorted(keys)
    for number in (a, b):
        bodies = [x["body"] for x in story.comments(number)]
        assert sum("boarded train" in body for body in bodies) == 1
        assert sum("Shipped in release train" in body for body in bodies) == 1
    assert sum("missed train" in x["body"] for x in story.comments(c)) == 1
    parents = [e.split("\x00")[0].split()[1:] for e in story.ledger_log()]
    assert all(len(p) <= 1 for p in parents)
