"""GitHub's organic secondary limit on content creation, in the sandbox: past the limit a
comment or a pull request is refused with 403, GitHub's message and `Retry-After`; the
bot waits it out and sends the refused request again — every comment lands once, no
problem is reported."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import httpx
from lifecycle.lifecycle_sandbox import REPO, board_three, new_story, start_time

from bot.sandbox.rules import content_limit, state


def test_the_sandbox_refuses_content_past_the_limit_with_retry_after(sandbox: Any) -> None:
    new_story(sandbox, start_time())
    state.configure(sandbox.store, content_per_minute=2, content_window_s=30)
    number = sandbox.scenario.open_pr(REPO, "dev-alice", "feat-x", {"x.txt": "x\n"}, title="X")
    url = f"{sandbox.base_url}/repos/{REPO}/issues/{number}/comments"
    token = sandbox.token("dev-bob")
    statuses = []
    for i in range(3):
        r = httpx.post(url, json={"body": f"c{i}"}, headers={"Authorization": f"token {token}"})
        statuses.append(r.status_code)
    assert statuses == [201, 201, 403]
    assert r.json()["message"] == content_limit.MESSAGE
    assert 1 <= int(r.headers["retry-after"]) <= 30
    # another identity has its own window; reads are never counted
    other = sandbox.token("dev-alice")
    assert httpx.get(url, headers={"Authorization": f"token {token}"}).status_code == 200
    posted = httpx.post(url, json={"body": "a"}, headers={"Authorization": f"token {other}"})
    assert posted.status_code == 201
    assert content_limit.creates_content("POST", f"/repos/{REPO}/pulls")
    assert not content_limit.creates_content("PATCH", f"/repos/{REPO}/pulls/1")


def test_the_bot_backs_off_and_every_comment_lands_once(sandbox: Any) -> None:
    t0 = start_time() - timedelta(minutes=10)
    story = new_story(sandbox, t0)
    a, b, c = board_three(story)
    state.configure(sandbox.store, content_per_minute=2, content_window_s=2)
    mark = story.log_mark()
    started = time.monotonic()
    result = story.reconcile(t0)
    assert result.problems == ()
    refused = [r for r in story.writes_since(mark) if r[2] == 403]
    assert refused and all(r[0] == "POST" for r in refused)  # the limit was met ...
    assert time.monotonic() - started >= 1.0  # ... and waited out (Retry-After), not skipped
    for number in (a, b, c):
        mine = [x for x in story.comments(number) if x["user"]["login"].endswith("[bot]")]
        keys = [x["body"].split("key=", 1)[1].split(" ", 1)[0] for x in mine if "key=" in x["body"]]
        assert mine and len(keys) == len(set(keys))  # each of the bot's comments once
