"""Issues, comments, reactions and labels through githubkit."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.runner import Sandbox

R = "/repos/acme/app"


@pytest.fixture(autouse=True)
def repo(sandbox: Sandbox) -> str:
    return sandbox.scenario.create_repo("acme/app", {"README.md": "hi\n"})


def test_create_get_update_list(api: Any) -> None:
    gh = api.client("dev-bob")
    made = gh.rest.issues.create(
        "acme", "app", title="Broken", body="details", labels=["bug"]
    ).parsed_data
    assert made.number == 1
    assert [lb.name for lb in made.labels] == ["bug"]
    api("dev-bob", "POST", f"{R}/issues", {"title": "Second"})
    upd = api("dev-bob", "PATCH", f"{R}/issues/1", {"title": "Broken badly", "state": "closed"})
    assert (upd.json["title"], upd.json["state"]) == ("Broken badly", "closed")
    assert upd.json["closed_by"]["login"] == "dev-bob"
    open_ = api("dev-bob", "GET", f"{R}/issues").json
    assert [i["number"] for i in open_] == [2]
    closed = api("dev-bob", "GET", f"{R}/issues", params={"state": "closed", "labels": "bug"})
    assert [i["number"] for i in closed.json] == [1]
    assert api("dev-bob", "GET", f"{R}/issues", params={"state": "all"}).json[0]["number"] == 2
    assert api("dev-bob", "GET", f"{R}/issues/99").status == 404
    missing = api("dev-bob", "POST", f"{R}/issues", {"body": "no title"})
    assert missing.status == 422
    assert missing.json["errors"][0]["field"] == "title"


def test_comments_and_reactions(sandbox: Sandbox, api: Any) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="f")
    made = api("rm-dave", "POST", f"{R}/issues/{n}/comments", {"body": "/train board"})
    assert made.status == 201
    cid = made.json["id"]
    api("dev-bob", "POST", f"{R}/issues/{n}/comments", {"body": "+1"})
    listed = api("rm-dave", "GET", f"{R}/issues/{n}/comments").json
    assert [c["body"] for c in listed] == ["/train board", "+1"]
    edited = api("rm-dave", "PATCH", f"{R}/issues/comments/{cid}", {"body": "/train status"})
    assert edited.json["body"] == "/train status"
    assert api("reader-erin", "PATCH", f"{R}/issues/comments/{cid}", {"body": "x"}).status == 403
    react = api(
        "release-train[bot]", "POST", f"{R}/issues/comments/{cid}/reactions", {"content": "rocket"}
    )
    assert react.status == 201
    again = api(
        "release-train[bot]", "POST", f"{R}/issues/comments/{cid}/reactions", {"content": "rocket"}
    )
    assert again.status == 200
    assert again.json["id"] == react.json["id"]
    bad = api(
        "release-train[bot]", "POST", f"{R}/issues/comments/{cid}/reactions", {"content": "party"}
    )
    assert bad.status == 422
    got = api("rm-dave", "GET", f"{R}/issues/comments/{cid}").json
    assert got["reactions"]["rocket"] == 1
    assert api("rm-dave", "GET", f"{R}/issues/{n}").json["comments"] == 2
    assert api("dev-bob", "POST", f"{R}/issues/{n}/comments", {}).status == 422


def test_labels_on_issues_and_repository(sandbox: Sandbox, api: Any) -> None:
    made = api(
        "rm-dave",
        "POST",
        f"{R}/labels",
        {"name": "train:next", "color": "0e8a16", "description": "board"},
    )
    assert made.status == 201
    dup = api("rm-dave", "POST", f"{R}/labels", {"name": "train:next"})
    assert dup.status == 422
    assert dup.json["errors"][0]["code"] == "already_exists"
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="f")
    added = api("rm-dave", "POST", f"{R}/issues/{n}/labels", {"labels": ["train:next", "risky"]})
    assert [lb["name"] for lb in added.json] == ["train:next", "risky"]
    assert api("rm-dave", "GET", f"{R}/labels/risky").json["color"] == "ededed"
    pr = api("rm-dave", "GET", f"{R}/pulls/{n}").json
    assert {lb["name"] for lb in pr["labels"]} == {"train:next", "risky"}
    removed = api("rm-dave", "DELETE", f"{R}/issues/{n}/labels/risky")
    assert [lb["name"] for lb in removed.json] == ["train:next"]
    assert api("rm-dave", "DELETE", f"{R}/issues/{n}/labels/risky").status == 404
    listed = api("rm-dave", "GET", f"{R}/issues/{n}/labels").json
    assert [lb["name"] for lb in listed] == ["train:next"]
    assert {lb["name"] for lb in api("rm-dave", "GET", f"{R}/labels").json} == {
        "train:next",
        "risky",
    }
    assert api("reader-erin", "POST", f"{R}/issues/{n}/labels", {"labels": ["x"]}).status == 403
    assert api("rm-dave", "DELETE", f"{R}/labels/train:next").status == 204
    assert api("rm-dave", "GET", f"{R}/issues/{n}/labels").json == []


def test_label_names_with_slashes(sandbox: Sandbox, api: Any) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="f")
    api("rm-dave", "POST", f"{R}/issues/{n}/labels", ["area/payments"])
    r = api("rm-dave", "DELETE", f"{R}/issues/{n}/labels/area%2Fpayments")
    assert r.status == 200
    assert r.json == []


def test_issue_events_record_labels_and_merges(sandbox: Sandbox, api: Any) -> None:
    sc = sandbox.scenario
    n = sc.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="f", labels=["train:next"])
    sc.unlabel("acme/app", n, "train:next", actor="rm-dave")
    api("rm-dave", "PUT", f"{R}/issues/{n}/labels", {"labels": ["a", "b"]})
    api("rm-dave", "PATCH", f"{R}/issues/{n}", {"labels": ["b"]})
    sha = sc.merge("acme/app", n, "rm-dave")
    events = api("release-train[bot]", "GET", f"{R}/issues/{n}/events").json
    seen = [(e["event"], (e.get("label") or {}).get("name"), e["actor"]["login"]) for e in events]
    assert seen == [
        ("labeled", "train:next", "dev-alice"),
        ("unlabeled", "train:next", "rm-dave"),
        ("labeled", "a", "rm-dave"),
        ("labeled", "b", "rm-dave"),
        ("unlabeled", "a", "rm-dave"),
        ("merged", None, "rm-dave"),
        ("closed", None, "rm-dave"),
    ]
    assert events[-1]["commit_id"] == sha
    assert {e["actor"]["type"] for e in events} == {"User"}


def test_repository_comments_since_and_order(sandbox: Sandbox, api: Any) -> None:
    from datetime import UTC, datetime

    now = [datetime(2026, 1, 1, 10, 0, tzinfo=UTC)]
    sandbox.server.clock = lambda: now[0]
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="f")
    first = sandbox.scenario.comment("acme/app", n, "dev-bob", "one")
    now[0] = datetime(2026, 1, 1, 11, 0, tzinfo=UTC)
    sandbox.scenario.comment("acme/app", n, "dev-bob", "two")
    now[0] = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    api("dev-bob", "PATCH", f"{R}/issues/comments/{first}", {"body": "one, edited"})
    rows = api(
        "dev-bob",
        "GET",
        f"{R}/issues/comments",
        params={"since": "2026-01-01T10:30:00Z", "sort": "updated", "direction": "asc"},
    ).json
    assert [c["body"] for c in rows] == ["two", "one, edited"]
    everything = api("dev-bob", "GET", f"{R}/issues/comments").json
    assert [c["body"] for c in everything] == ["one, edited", "two"]
