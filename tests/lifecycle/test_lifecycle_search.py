"""The sandbox's search qualifiers `review:` and `status:` (GitHub's semantics), through the
GitHub adapter's `search_pulls`: the batch answers the departure uses."""

from __future__ import annotations

import time

from lifecycle.lifecycle_sandbox import REPO, new_story, start_time

from bot.sandbox.api.search import parse_query, review_state, run_state
from bot.sandbox.api.statuses import combined_state


def test_review_decision_and_run_states_are_githubs() -> None:
    assert review_state({}) == "none"
    assert review_state({"a": "APPROVED", "b": "DISMISSED"}) == "approved"
    assert review_state({"a": "APPROVED", "b": "CHANGES_REQUESTED"}) == "changes_requested"
    assert review_state({"a": "DISMISSED"}) == "none"
    assert run_state("completed", "skipped") == "success"
    assert run_state("completed", "timed_out") == "failure"
    assert run_state("in_progress", None) == "pending"
    assert combined_state([]) == "pending"  # nothing reported is not success
    query = parse_query('repo:o/r is:pr label:"train:next" review:approved -status:failure')
    assert query.include["review"] == ("approved",) and query.exclude["status"] == ("failure",)


def test_search_finds_approved_and_green_pull_requests(sandbox) -> None:  # type: ignore[no-untyped-def]
    story = new_story(sandbox, start_time())
    kit = story.kit
    numbers = [
        kit.open_pr(REPO, "dev-alice", f"f{i}", {f"f{i}.txt": f"{i}\n"}, labels=["train:next"])
        for i in range(6)
    ]
    approved, changes, none, red, pending, status_red = numbers
    for n in (approved, changes, red, pending, status_red):
        kit.review(REPO, n, "rev-carol", "APPROVE")
    kit.review(REPO, changes, "rm-dave", "REQUEST_CHANGES", "please split")
    heads = {n: story.pull(n)["head"]["sha"] for n in numbers}
    for n in (approved, changes, none, status_red):
        kit.set_check(REPO, heads[n], "ci", "completed", "success")
    kit.set_check(REPO, heads[red], "ci", "completed", "failure")
    kit.set_check(REPO, heads[pending], "ci", "in_progress", None)
    kit.set_status(REPO, heads[status_red], "deploy/preview", "error")  # a status, not a run
    base = f'repo:{REPO} is:pr is:open label:"train:next"'
    with story.client() as client:
        assert client.search_pulls(f"{base} review:approved") == {
            approved,
            red,
            pending,
            status_red,
        }
        assert client.search_pulls(f"{base} review:changes_requested") == {changes}
        assert client.search_pulls(f"{base} review:none") == {none}
        assert client.search_pulls(f"{base} status:success") == {approved, changes, none}
        assert client.search_pulls(f"{base} status:failure") == {red, status_red}
        assert client.search_pulls(f"{base} status:pending") == {pending}
        assert client.search_pulls(f"{base} review:approved status:success") == {approved}


def _client(story, limiter):  # type: ignore[no-untyped-def]
    from bot.adapters.github import GitHubClient, ResponseCache

    return GitHubClient(
        REPO,
        story.sandbox.bot_token(),
        api_url=story.sandbox.base_url,
        cache=ResponseCache(),
        bot_login="release-train[bot]",
        limiter=limiter,
    )


def test_a_spent_search_limit_is_no_answer_and_blocks_nothing_else(sandbox) -> None:  # type: ignore[no-untyped-def]
    from bot.adapters.ratelimit import RateLimiter
    from bot.sandbox import faults
    from bot.sandbox.faults import FaultPlan

    story = new_story(sandbox, start_time())
    slept: list[float] = []
    limiter = RateLimiter(sleep=slept.append)
    plan = FaultPlan(per_endpoint={"GET /search/issues": 1.0}, kinds=("secondary_rate_limit",))
    faults.install(sandbox.server, plan)
    try:
        with _client(story, limiter) as client:
            assert client.search_pulls(f"repo:{REPO} is:pr review:approved") is None
            assert client.read_file("README.md") is not None  # the core window is not blocked
    finally:
        faults.uninstall(sandbox.server)
    assert limiter.refused == 0 and limiter.blocked_until() is None and slept == []


def test_search_rate_headers_are_not_taken_for_the_core_budget(sandbox) -> None:  # type: ignore[no-untyped-def]
    from bot.adapters.ratelimit import RateLimiter
    from bot.sandbox.http import RequestContext, Response

    story = new_story(sandbox, start_time())

    def search_window(ctx: RequestContext) -> Response | None:
        if ctx.path != "/search/issues":
            return None
        headers = {
            "X-RateLimit-Resource": "search",
            "X-RateLimit-Limit": "30",
            "X-RateLimit-Remaining": "3",
            "X-RateLimit-Reset": str(int(time.time()) + 50),
        }
        items = {"total_count": 0, "incomplete_results": False, "items": []}
        return Response(200, items, headers)

    slept: list[float] = []
    limiter = RateLimiter(sleep=slept.append)
    before, sandbox.server.before_request = sandbox.server.before_request, search_window
    try:
        with _client(story, limiter) as client:
            assert client.search_pulls(f"repo:{REPO} is:pr status:success") == frozenset()
            for _ in range(3):
                client.read_file("README.md")
    finally:
        sandbox.server.before_request = before
    assert slept == []  # no pacing as if 3 core requests were left
