"""Departure reads every riding PR's reviews and check runs itself. A search hit does not
stand in for the reads: `review:approved` cannot say who approved or on which commit
(issue 27), and GitHub's index lags, so `status:success` still matches a PR whose CI turned
red a moment ago (issue 23) — with the sandbox's search lag such a PR boarded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, Story, new_story, start_time

from bot.sandbox.rules import state


def _four(story: Story) -> tuple[int, int, int, int]:
    """Two ready PRs, one with red CI, one without approval; labelled in that order."""
    kit = story.kit
    numbers = []
    for i in range(4):
        files = {f"f{i}.txt": f"{i}\n"}
        numbers.append(kit.open_pr(REPO, "dev-alice", f"f{i}", files, title=f"F{i}"))
    ok1, ok2, red, unapproved = numbers
    for n in (ok1, ok2, red):
        kit.review(REPO, n, "rev-carol", "APPROVE")
    for n in numbers:
        conclusion = "failure" if n == red else "success"
        story.kit.set_check(REPO, story.pull(n)["head"]["sha"], "ci", "completed", conclusion)
        kit.label(REPO, n, "train:next", actor="dev-alice")
    return ok1, ok2, red, unapproved


def _depart(sandbox: Any) -> tuple[Story, tuple[int, ...], list[tuple[str, str, int, float]]]:
    t0 = start_time()
    story = new_story(sandbox, t0)
    numbers = _four(story)
    story.reconcile(t0)
    mark = story.log_mark()
    story.reconcile(t0 + timedelta(minutes=2))
    return story, numbers, sandbox.server.request_log[mark:]


def _outcome(story: Story) -> tuple[list[int], dict[int, str]]:
    train = story.open_train_pr()
    tid = train["head"]["ref"].removeprefix("release/")
    record = story.ledger(tid)
    riders = [b["number"] for b in record["boarded"]]
    missed = {m["number"]: m["detail"] for m in record["missed"]}
    return riders, missed


def test_departure_reads_each_pr_and_asks_no_search(sandbox) -> None:  # type: ignore[no-untyped-def]
    story, (ok1, ok2, red, unapproved), log = _depart(sandbox)
    riders, missed = _outcome(story)
    assert riders == [ok1, ok2]
    assert missed == {red: "failing checks: ci", unapproved: "no approving review"}
    assert not [r for r in log if r[1] == "/search/issues"]
    train_pr = story.open_train_pr()["number"]
    reviews = {r[1] for r in log if r[1].endswith("/reviews")}
    assert reviews - {f"/repos/{REPO}/pulls/{train_pr}/reviews"} == {
        f"/repos/{REPO}/pulls/{n}/reviews" for n in (ok1, ok2, red, unapproved)
    }
    heads = {story.pull(n)["head"]["sha"]: n for n in (ok1, ok2, red, unapproved)}
    read = {heads[r[1].split("/")[-2]] for r in log if r[1].endswith("/check-runs")
            and r[0] == "GET" and r[1].split("/")[-2] in heads}  # fmt: skip
    assert read == {ok1, ok2, red, unapproved}


def test_a_pr_whose_ci_turned_red_a_moment_ago_misses_the_train(sandbox, api) -> None:  # type: ignore[no-untyped-def]
    """GitHub's search would still call it green (the sandbox lags 60 s here, as GitHub's
    index does); the bot reads the PR's check runs and leaves it out."""
    t0 = start_time()
    story = new_story(sandbox, t0)
    state.configure(sandbox.store, search_lag_s=60)
    clock = [datetime.now(UTC)]
    sandbox.server.clock = lambda: clock[0]
    ok1, ok2, _red, _unapproved = _four(story)
    story.reconcile(t0)
    clock[0] += timedelta(seconds=61)  # everything indexed: all but the red one are green
    query = f"repo:{REPO} is:pr is:open status:success"
    green = api("rm-dave", "GET", "/search/issues", params={"q": query}).json
    assert ok1 in {i["number"] for i in green["items"]}
    story.kit.set_check(REPO, story.pull(ok1)["head"]["sha"], "ci", "completed", "failure")
    stale = api("rm-dave", "GET", "/search/issues", params={"q": query}).json
    assert ok1 in {i["number"] for i in stale["items"]}  # the index still says green
    story.reconcile(t0 + timedelta(minutes=2))
    riders, missed = _outcome(story)
    assert riders == [ok2]
    assert missed[ok1] == "failing checks: ci"
