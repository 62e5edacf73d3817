"""Repositories, users and the git database through githubkit against the sandbox."""

from __future__ import annotations

import base64
from typing import Any

from bot.sandbox.runner import Sandbox

R = "/repos/acme/app"


def make_repo(sandbox: Sandbox, files: dict[str, Any] | None = None) -> str:
    return sandbox.scenario.create_repo(
        "acme/app", files or {"README.md": "hello\n", "src/app.py": "print('hi')\n"}
    )


def test_githubkit_typed_calls_work(sandbox: Sandbox, api: Any) -> None:
    make_repo(sandbox)
    gh = api.client("dev-alice")
    repo = gh.rest.repos.get("acme", "app").parsed_data
    assert repo.full_name == "acme/app"
    assert repo.default_branch == "main"
    me = gh.rest.users.get_authenticated().parsed_data
    assert me.login == "dev-alice"


def test_create_repo_for_user_and_org(sandbox: Sandbox, api: Any) -> None:
    r = api("dev-alice", "POST", "/user/repos", {"name": "tool", "auto_init": True})
    assert r.status == 201
    assert r.json["full_name"] == "dev-alice/tool"
    assert r.json["owner"]["login"] == "dev-alice"
    assert api("dev-alice", "GET", "/repos/dev-alice/tool/git/ref/heads/main").status == 200
    dup = api("dev-alice", "POST", "/user/repos", {"name": "tool"})
    assert dup.status == 422
    assert dup.json["errors"][0]["field"] == "name"
    missing = api("dev-alice", "POST", "/user/repos", {})
    assert missing.status == 422
    assert missing.json["errors"][0]["code"] == "missing_field"
    org = api("rm-dave", "POST", "/orgs/acme/repos", {"name": "infra", "private": True})
    assert org.status == 201
    assert org.json["private"] is True
    assert api("reader-erin", "POST", "/orgs/acme/repos", {"name": "x"}).status == 403


def test_users(sandbox: Sandbox, api: Any) -> None:
    r = api("dev-bob", "GET", "/users/rev-carol")
    assert r.status == 200
    assert r.json["login"] == "rev-carol"
    assert r.json["type"] == "User"
    bot = api("dev-bob", "GET", "/users/release-train[bot]")
    assert bot.json["type"] == "Bot"
    assert api("dev-bob", "GET", "/users/nobody").status == 404


def test_refs_get_matching_create_update_delete(sandbox: Sandbox, api: Any) -> None:
    first = make_repo(sandbox)
    got = api("dev-alice", "GET", f"{R}/git/ref/heads/main")
    assert got.json["object"]["sha"] == first
    created = api(
        "dev-alice", "POST", f"{R}/git/refs", {"ref": "refs/heads/release/2024-01", "sha": first}
    )
    assert created.status == 201
    nested = api("dev-alice", "GET", f"{R}/git/ref/heads/release/2024-01")
    assert nested.status == 200
    matching = api("dev-alice", "GET", f"{R}/git/matching-refs/heads/release/")
    assert [m["ref"] for m in matching.json] == ["refs/heads/release/2024-01"]
    again = api(
        "dev-alice", "POST", f"{R}/git/refs", {"ref": "refs/heads/release/2024-01", "sha": first}
    )
    assert again.status == 422
    assert again.json["message"] == "Reference already exists"
    second = sandbox.scenario.push("acme/app", "main", {"a.txt": "a"}, "add a", "dev-alice")
    ff = api("dev-alice", "PATCH", f"{R}/git/refs/heads/release/2024-01", {"sha": second})
    assert ff.status == 200
    back = api(
        "dev-alice", "PATCH", f"{R}/git/refs/heads/release/2024-01", {"sha": first, "force": False}
    )
    assert back.status == 422
    assert back.json["message"] == "Update is not a fast forward"
    forced = api(
        "dev-alice", "PATCH", f"{R}/git/refs/heads/release/2024-01", {"sha": first, "force": True}
    )
    assert forced.status == 200
    assert api("dev-alice", "DELETE", f"{R}/git/refs/heads/release/2024-01").status == 204
    assert api("dev-alice", "GET", f"{R}/git/ref/heads/release/2024-01").status == 404
    assert api("dev-alice", "DELETE", f"{R}/git/refs/heads/release/2024-01").status == 422


def test_blobs_trees_commits_build_a_commit(sandbox: Sandbox, api: Any) -> None:
    first = make_repo(sandbox)
    text = api("dev-alice", "POST", f"{R}/git/blobs", {"content": "v2\n", "encoding": "utf-8"})
    assert text.status == 201
    binary = api(
        "dev-alice",
        "POST",
        f"{R}/git/blobs",
        {"content": base64.b64encode(b"\x00\x01").decode(), "encoding": "base64"},
    )
    blob = api("dev-alice", "GET", f"{R}/git/blobs/{binary.json['sha']}")
    assert base64.b64decode(blob.json["content"]) == b"\x00\x01"
    base_tree = api("dev-alice", "GET", f"{R}/git/commits/{first}").json["tree"]["sha"]
    tree = api(
        "dev-alice",
        "POST",
        f"{R}/git/trees",
        {
            "base_tree": base_tree,
            "tree": [
                {"path": "README.md", "mode": "100644", "type": "blob", "sha": text.json["sha"]},
                {"path": "src/app.py", "mode": "100644", "type": "blob", "sha": None},
                {"path": "docs/new.md", "mode": "100644", "type": "blob", "content": "# new\n"},
                {"path": "bin/data", "mode": "100644", "type": "blob", "sha": binary.json["sha"]},
            ],
        },
    )
    assert tree.status == 201
    paths = {
        e["path"]
        for e in api("dev-alice", "GET", f"{R}/git/trees/{tree.json['sha']}?recursive=1").json[
            "tree"
        ]
    }
    assert paths == {"README.md", "docs", "docs/new.md", "bin", "bin/data"}
    commit = api(
        "dev-alice",
        "POST",
        f"{R}/git/commits",
        {
            "message": "rewrite",
            "tree": tree.json["sha"],
            "parents": [first],
            "author": {
                "name": "Alice",
                "email": "alice@example.com",
                "date": "2024-03-01T10:00:00Z",
            },
        },
    )
    assert commit.status == 201
    assert commit.json["author"]["date"] == "2024-03-01T10:00:00Z"
    assert commit.json["parents"][0]["sha"] == first
    got = api("dev-alice", "GET", f"{R}/git/commits/{commit.json['sha']}")
    assert got.json["message"] == "rewrite"
    assert got.json["tree"]["sha"] == tree.json["sha"]


def test_tree_paths_that_escape_are_refused(sandbox: Sandbox, api: Any) -> None:
    make_repo(sandbox)
    for bad in ("../evil", "a/../../evil", "/etc/passwd", ".git/config", "a/.GIT/x"):
        r = api(
            "dev-alice",
            "POST",
            f"{R}/git/trees",
            {"tree": [{"path": bad, "mode": "100644", "type": "blob", "content": "x"}]},
        )
        assert r.status == 422, bad
    outside = sandbox.data_dir.parent
    assert not (outside / "evil").exists()


def test_missing_and_malformed_input(sandbox: Sandbox, api: Any) -> None:
    first = make_repo(sandbox)
    bad = api(
        "dev-alice",
        "POST",
        f"{R}/git/refs",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert bad.status == 400
    assert bad.json["message"] == "Problems parsing JSON"
    missing = api("dev-alice", "POST", f"{R}/git/refs", {"sha": "0" * 40})
    assert missing.status == 422
    assert missing.json["errors"] == [
        {"resource": "Reference", "field": "ref", "code": "missing_field"}
    ]
    for bad_name in ("refs/heads/a..b", "refs/heads/x.lock", "heads/x", "refs/heads/a b"):
        r = api("dev-alice", "POST", f"{R}/git/refs", {"ref": bad_name, "sha": first})
        assert (r.status, r.json["message"]) == (422, "Reference name is not valid"), bad_name
    ghost = api("dev-alice", "POST", f"{R}/git/refs", {"ref": "refs/heads/x", "sha": "1" * 40})
    assert ghost.status == 422
    assert api("dev-alice", "POST", f"{R}/git/commits", {"message": "m"}).status == 422
