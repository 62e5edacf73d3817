"""The departure opens the train PR in the same step as the merges (one ledger commit);
when every PR fails to merge, no train PR is opened and the history does not claim one."""

from __future__ import annotations

from datetime import timedelta

from lifecycle.lifecycle_sandbox import REPO, new_story, start_time


def _pulls(story) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    return list(story.kit.call("GET", f"/repos/{REPO}/pulls?state=all", as_user="rm-dave"))


def test_a_departure_where_every_merge_conflicts_opens_no_train_pr(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    kit = story.kit
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"app.txt": "ONE\n"}, title="Add A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    kit.push(REPO, "main", {"app.txt": "uno\n"}, "conflicting change", "rm-dave")
    story.reconcile(t0 + timedelta(minutes=2))
    assert not [p for p in _pulls(story) if p["head"]["ref"].startswith("release/")]
    listing = sandbox.git.out(
        REPO, "ls-tree", "--name-only", "refs/heads/release-train/ledger", "trains/"
    )
    records = [story.ledger(line.split("/")[-1].removesuffix(".json")) for line in listing.split()]
    record = next(r for r in records if r["missed"])
    assert record["state"] == "aborted" and record["end_reason"] == "no pull request could ride"
    assert [m["reason"] for m in record["missed"]] == ["conflict"]
    assert "open-pr" not in [e["event"] for e in record["history"]]
    departed = [e for e in story.ledger_log() if "\x00depart: " in e]
    assert departed and "Event: open-pr" not in departed[0]


def test_a_departure_opens_the_train_pr_in_the_same_ledger_commit(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    kit = story.kit
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    story.reconcile(t0 + timedelta(minutes=2))
    train_pr = story.open_train_pr()
    departed = [e for e in story.ledger_log() if "\x00depart: " in e]
    assert len(departed) == 1
    assert "Event: open-pr" in departed[0] and f"Train-PR: #{train_pr['number']}" in departed[0]


def test_a_round_that_only_wrote_the_ledger_is_not_followed_by_a_re_read(sandbox) -> None:  # type: ignore[no-untyped-def]
    t0 = start_time()
    story = new_story(sandbox, t0)
    kit = story.kit
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    story.green(story.pull(number)["head"]["sha"])
    kit.label(REPO, number, "train:next", actor="dev-alice")
    story.reconcile(t0)
    mark = story.log_mark()
    # round 1 departs and opens the train PR; round 2 publishes the gates and records
    # their conclusions (ledger only): its outcome is known, so no third read
    result = story.reconcile(t0 + timedelta(minutes=2))
    assert result.rounds == 2 and result.problems == ()
    ledger_reads = [
        r for r in sandbox.server.request_log[mark:]
        if r[0] == "GET" and r[1].endswith("/git/ref/heads/release-train/ledger")
    ]  # fmt: skip
    assert len(ledger_reads) == 2
    again = story.log_mark()
    story.reconcile(t0 + timedelta(minutes=2, seconds=5))
    assert story.writes_since(again) == []  # and indeed nothing was left to do
