"""Reviews, collaborator permission, teams, private repositories and the App's bot."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.runner import Sandbox

R = "/repos/acme/app"


@pytest.fixture(autouse=True)
def repo(sandbox: Sandbox) -> str:
    return sandbox.scenario.create_repo("acme/app", {"README.md": "hi\n"})


def test_submit_list_and_dismiss_reviews(sandbox: Sandbox, api: Any) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="f")
    gh = api.client("rev-carol")
    review = gh.rest.pulls.create_review("acme", "app", n, event="APPROVE").parsed_data
    assert review.state == "APPROVED"
    changes = api(
        "dev-bob",
        "POST",
        f"{R}/pulls/{n}/reviews",
        {"event": "REQUEST_CHANGES", "body": "please fix"},
    )
    assert changes.json["state"] == "CHANGES_REQUESTED"
    comment = api(
        "reader-erin", "POST", f"{R}/pulls/{n}/reviews", {"event": "COMMENT", "body": "looks fine"}
    )
    assert comment.json["state"] == "COMMENTED"
    own = api("dev-alice", "POST", f"{R}/pulls/{n}/reviews", {"event": "APPROVE"})
    assert own.status == 422
    empty = api("dev-bob", "POST", f"{R}/pulls/{n}/reviews", {"event": "REQUEST_CHANGES"})
    assert empty.status == 422
    bad = api("dev-bob", "POST", f"{R}/pulls/{n}/reviews", {"event": "LGTM"})
    assert bad.status == 422
    listed = api("rm-dave", "GET", f"{R}/pulls/{n}/reviews").json
    assert [(r["user"]["login"], r["state"]) for r in listed] == [
        ("rev-carol", "APPROVED"),
        ("dev-bob", "CHANGES_REQUESTED"),
        ("reader-erin", "COMMENTED"),
    ]
    head = api("rm-dave", "GET", f"{R}/pulls/{n}").json["head"]["sha"]
    assert listed[0]["commit_id"] == head
    dismissed = api(
        "rm-dave",
        "PUT",
        f"{R}/pulls/{n}/reviews/{changes.json['id']}/dismissals",
        {"message": "addressed"},
    )
    assert dismissed.json["state"] == "DISMISSED"
    no_message = api("rm-dave", "PUT", f"{R}/pulls/{n}/reviews/{review.id}/dismissals", {})
    assert no_message.status == 422
    assert (
        api(
            "reader-erin", "PUT", f"{R}/pulls/{n}/reviews/{review.id}/dismissals", {"message": "x"}
        ).status
        == 403
    )
    assert api("rm-dave", "GET", f"{R}/pulls/{n}/reviews/{review.id}").json["state"] == "APPROVED"


def test_collaborator_permission(sandbox: Sandbox, api: Any) -> None:
    expected = {
        "dev-alice": ("write", "write"),
        "rm-dave": ("write", "maintain"),
        "reader-erin": ("read", "read"),
        "acme": ("admin", "admin"),
    }
    for login, (permission, role) in expected.items():
        r = api("release-train[bot]", "GET", f"{R}/collaborators/{login}/permission")
        assert r.status == 200, login
        assert (r.json["permission"], r.json["role_name"]) == (permission, role), login
    sandbox.scenario.add_user("outsider")
    r = api("release-train[bot]", "GET", f"{R}/collaborators/outsider/permission")
    assert (r.json["permission"], r.json["role_name"]) == ("read", "read")
    assert api("release-train[bot]", "GET", f"{R}/collaborators/outsider").status == 404
    assert api("release-train[bot]", "GET", f"{R}/collaborators/dev-alice").status == 204
    typed = (
        api.client("rm-dave")
        .rest.repos.get_collaborator_permission_level("acme", "app", "rm-dave")
        .parsed_data
    )
    assert typed.role_name == "maintain"


def test_team_roles_and_membership(sandbox: Sandbox, api: Any) -> None:
    sandbox.scenario.add_user("ops-frank", teams=["acme/platform"])
    sandbox.scenario.add_team("acme/platform", repos={"acme/app": "admin"})
    r = api("rm-dave", "GET", f"{R}/collaborators/ops-frank/permission")
    assert r.json["role_name"] == "admin"
    member = api("release-train[bot]", "GET", "/orgs/acme/teams/platform/memberships/ops-frank")
    assert member.status == 200
    assert (member.json["role"], member.json["state"]) == ("member", "active")
    assert (
        api("release-train[bot]", "GET", "/orgs/acme/teams/platform/memberships/dev-bob").status
        == 404
    )
    members = api("rm-dave", "GET", "/orgs/acme/teams/developers/members").json
    assert {m["login"] for m in members} == {"dev-alice", "dev-bob"}
    assert api("rm-dave", "GET", "/orgs/acme/teams/nope/members").status == 404


def test_private_repository_reads_and_writes(sandbox: Sandbox, api: Any) -> None:
    sandbox.scenario.create_repo("dev-alice/secret", {"a": "1"}, private=True)
    sandbox.scenario.add_user("guest", {"dev-alice/secret": "read"})
    assert api("dev-alice", "GET", "/repos/dev-alice/secret").status == 200
    hidden = api("dev-bob", "GET", "/repos/dev-alice/secret")
    assert hidden.status == 404
    assert hidden.json["message"] == "Not Found"
    assert api("dev-bob", "GET", "/repos/dev-alice/secret/contents/a").status == 404
    assert api("guest", "GET", "/repos/dev-alice/secret/contents/a").status == 200
    denied = api(
        "guest",
        "POST",
        "/repos/dev-alice/secret/git/refs",
        {"ref": "refs/heads/x", "sha": "0" * 40},
    )
    assert denied.status == 403
    assert denied.json["message"] == "Must have push access to repository."


def test_bot_acts_with_installation_token(sandbox: Sandbox, api: Any) -> None:
    me = api("release-train[bot]", "GET", "/users/release-train[bot]").json
    assert me["type"] == "Bot"
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="f")
    made = api("release-train[bot]", "POST", f"{R}/issues/{n}/comments", {"body": "boarded"})
    assert made.json["user"]["login"] == "release-train[bot]"
    assert api("release-train[bot]", "GET", "/user").status == 403
    sandbox.scenario.create_repo("dev-bob/elsewhere", {"a": "1"}, private=True)
    with sandbox.store.transaction() as data:
        data["installations"]["1"]["repositories"] = None
    assert api("release-train[bot]", "GET", "/repos/dev-bob/elsewhere").status == 404
    with sandbox.store.transaction() as data:
        data["installations"]["1"]["role"] = "read"
    refused = api("release-train[bot]", "POST", f"{R}/issues/{n}/labels", {"labels": ["x"]})
    assert refused.status == 403
    assert refused.json["message"] == "Resource not accessible by integration"
