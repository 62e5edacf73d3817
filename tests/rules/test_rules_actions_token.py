"""The workflow's GITHUB_TOKEN in the sandbox: events it causes start no workflows. A
person's pull request or push starts the repository's `ci` workflow (a queued check run
of the github-actions App); the same made with the workflow token starts nothing — so a
train PR opened with that token never gets CI (the Action's `doctor` says so: see
test_doctor_on_plan). The token cannot read an organization's teams either."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from lifecycle.lifecycle_sandbox import REPO, new_story, start_time

from bot.sandbox.rules import workflows


def _runs(sandbox: Any, sha: str, name: str = "ci") -> list[dict[str, Any]]:
    runs = sandbox.store.where("check_runs", repo=REPO, head_sha=sha, name=name)
    return [r for r in runs if r["app_id"] == workflows.ACTIONS_APP_ID]


def test_events_of_the_workflow_token_start_no_workflows(sandbox: Any) -> None:
    new_story(sandbox, start_time() - timedelta(minutes=10))
    with sandbox.store.transaction():
        workflows.workflows(sandbox.store, REPO).update(ci=["pull_request"], build=["push"])
    kit = sandbox.scenario

    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="A")
    head = kit.call("GET", f"/repos/{REPO}/pulls/{number}", as_user="rm-dave")["head"]["sha"]
    (run,) = _runs(sandbox, head)  # a person's pull request starts CI
    assert run["status"] == "queued" and len(_runs(sandbox, head, "build")) == 1

    token = workflows.actions_token(sandbox.store, REPO)
    auth = {"Authorization": f"token {token}"}
    api = f"{sandbox.base_url}/repos/{REPO}"
    kit.push(REPO, "by-token", {"t.txt": "t\n"}, "a change", "dev-alice", base="main")
    pushed = kit.call("GET", f"/repos/{REPO}/branches/by-token", as_user="rm-dave")
    sha = pushed["commit"]["sha"]
    assert len(_runs(sandbox, sha, "build")) == 1  # the person's push started a build
    opened = httpx.post(
        f"{api}/pulls", headers=auth, json={"head": "by-token", "base": "main", "title": "T"}
    )
    assert opened.status_code == 201
    assert opened.json()["user"]["login"] == workflows.ACTIONS_LOGIN
    assert _runs(sandbox, sha) == []  # opened by the workflow token: no CI

    # a commit the workflow token pushes starts nothing either
    tree = kit.call("GET", f"/repos/{REPO}/git/commits/{sha}", as_user="rm-dave")["tree"]["sha"]
    made = httpx.post(
        f"{api}/git/commits", headers=auth,
        json={"message": "by the token", "tree": tree, "parents": [sha]},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    new = made.json()["sha"]
    moved = httpx.patch(f"{api}/git/refs/heads/by-token", headers=auth, json={"sha": new})
    assert moved.status_code == 200, moved.text
    assert _runs(sandbox, new) == [] == _runs(sandbox, new, "build")  # nor its push
    kit.push(REPO, "by-token", {"u.txt": "u\n"}, "a person again", "dev-alice")
    after = kit.call("GET", f"/repos/{REPO}/branches/by-token", as_user="rm-dave")
    latest = after["commit"]["sha"]
    assert len(_runs(sandbox, latest)) == 1 == len(_runs(sandbox, latest, "build"))

    # GITHUB_TOKEN cannot read an organization's teams (no `members` permission)
    teams = httpx.get(f"{sandbox.base_url}/orgs/acme/teams/release-managers", headers=auth)
    assert teams.status_code == 403
    assert teams.headers["x-accepted-github-permissions"] == "members=read"
