"""Search lags behind changes (on the sandbox's clock) when configured; labels are
case-insensitive, as on GitHub."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from bot.sandbox.rules import state

REPO = "acme/svc"


def _numbers(api: Any, q: str) -> list[int]:
    found = api("rm-dave", "GET", "/search/issues", params={"q": q}).json
    return sorted(i["number"] for i in found["items"])


def test_a_new_label_and_a_withdrawn_approval_reach_search_late(sandbox: Any, api: Any) -> None:
    sc = sandbox.scenario
    sc.create_repo(REPO, {"a.txt": "a\n"}, author="rm-dave")
    state.configure(sandbox.store, search_lag_s=5)
    now = [datetime.now(UTC)]
    sandbox.server.clock = lambda: now[0]
    number = sc.open_pr(REPO, "dev-alice", "feat", {"b.txt": "b\n"}, title="B")
    q = f"repo:{REPO} is:pr label:train:next review:approved"
    assert _numbers(api, f"repo:{REPO} is:pr") == []  # not indexed yet
    now[0] += timedelta(seconds=6)
    assert _numbers(api, f"repo:{REPO} is:pr") == [number]

    sc.label(REPO, number, "train:next")
    sc.review(REPO, number, "rev-carol")
    assert _numbers(api, q) == []  # labelled and approved a moment ago: missing
    now[0] += timedelta(seconds=6)
    assert _numbers(api, q) == [number]

    sc.review(REPO, number, "rev-carol", "REQUEST_CHANGES", "not yet")
    assert _numbers(api, q) == [number]  # withdrawn a moment ago: still "approved"
    now[0] += timedelta(seconds=6)
    assert _numbers(api, q) == []


def test_without_lag_search_is_synchronous(sandbox: Any, api: Any) -> None:
    sc = sandbox.scenario
    sc.create_repo(REPO, {"a.txt": "a\n"}, author="rm-dave")
    number = sc.open_pr(REPO, "dev-alice", "feat", {"b.txt": "b\n"}, title="B")
    sc.label(REPO, number, "train:next")
    assert _numbers(api, f"repo:{REPO} label:train:next") == [number]


def test_labels_are_case_insensitive(sandbox: Any, api: Any) -> None:
    sc = sandbox.scenario
    sc.create_repo(REPO, {"a.txt": "a\n"}, author="rm-dave")
    number = sc.open_pr(REPO, "dev-alice", "feat", {"b.txt": "b\n"}, title="B")
    sc.label(REPO, number, "train:next")
    again = api("rm-dave", "POST", f"/repos/{REPO}/issues/{number}/labels",
                json={"labels": ["Train:Next"]})  # fmt: skip
    assert [label["name"] for label in again.json] == ["train:next"]
    gone = api("rm-dave", "DELETE", f"/repos/{REPO}/issues/{number}/labels/TRAIN:NEXT")
    assert gone.status == 200 and gone.json == []


def test_search_has_its_own_rate_limit_per_minute(sandbox: Any, api: Any) -> None:
    sandbox.scenario.create_repo(REPO, {"a.txt": "a\n"}, author="rm-dave")
    state.configure(sandbox.store, search_per_minute=3)
    minute = datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC)
    sandbox.server.clock = lambda: minute
    answers = [api("rm-dave", "GET", "/search/issues", params={"q": f"repo:{REPO}"})
               for _ in range(4)]  # fmt: skip
    assert [a.status for a in answers] == [200, 200, 200, 403]
    assert answers[3].headers["x-ratelimit-resource"] == "search"
    assert answers[3].headers["x-ratelimit-remaining"] == "0"
    minute += timedelta(minutes=1)
    assert api("rm-dave", "GET", "/search/issues", params={"q": f"repo:{REPO}"}).status == 200
    assert api("dev-alice", "GET", "/search/issues", params={"q": f"repo:{REPO}"}).status == 200
