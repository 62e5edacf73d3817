"""Departure reads checks in batch (GitHub search `status:success`) and per PR only where
the batch answer is not enough; a server without the qualifier (422) gets the per-PR reads,
with the same outcome. Reviews are always read per PR: a search `review:approved` cannot say
who approved or on which commit (issue 27)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lifecycle.lifecycle_sandbox import REPO, Story, new_story, start_time

from bot.sandbox.http import RequestContext, Response


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


def test_departure_asks_search_and_reads_only_what_it_must(sandbox) -> None:  # type: ignore[no-untyped-def]
    story, (ok1, ok2, red, unapproved), log = _depart(sandbox)
    riders, missed = _outcome(story)
    assert riders == [ok1, ok2]
    assert missed == {red: "failing checks: ci", unapproved: "no approving review"}
    searches = [r for r in log if r[1] == "/search/issues"]
    assert len(searches) == 1
    # reviews are read for every PR (and the train PR once it exists), checks only for the
    # red one
    train_pr = story.open_train_pr()["number"]
    reviews = {r[1] for r in log if r[1].endswith("/reviews")}
    assert reviews - {f"/repos/{REPO}/pulls/{train_pr}/reviews"} == {
        f"/repos/{REPO}/pulls/{n}/reviews" for n in (ok1, ok2, red, unapproved)
    }
    heads = {story.pull(n)["head"]["sha"]: n for n in (ok1, ok2, red, unapproved)}
    read = {heads[r[1].split("/")[-2]] for r in log if r[1].endswith("/check-runs")
            and r[0] == "GET" and r[1].split("/")[-2] in heads}  # fmt: skip
    assert read == {red}


def test_without_search_qualifiers_every_pr_is_read_with_the_same_outcome(sandbox) -> None:  # type: ignore[no-untyped-def]
    def refuse(ctx: RequestContext) -> Response | None:
        if ctx.path == "/search/issues":
            return Response(422, {"message": "Validation Failed", "errors": []})
        return None

    before, sandbox.server.before_request = sandbox.server.before_request, refuse
    try:
        story, (ok1, ok2, red, unapproved), log = _depart(sandbox)
    finally:
        sandbox.server.before_request = before
    riders, missed = _outcome(story)
    assert riders == [ok1, ok2]
    assert missed == {red: "failing checks: ci", unapproved: "no approving review"}
    for n in (ok1, ok2, red, unapproved):
        assert any(r[1] == f"/repos/{REPO}/pulls/{n}/reviews" for r in log)
