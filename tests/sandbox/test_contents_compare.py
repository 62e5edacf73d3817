"""Contents, compare, commits, branches and `POST /merges` through githubkit."""

from __future__ import annotations

import base64
import http.client
from typing import Any
from urllib.parse import urlsplit

import pytest

from bot.sandbox.runner import Sandbox

R = "/repos/acme/app"


@pytest.fixture
def first(sandbox: Sandbox) -> str:
    return sandbox.scenario.create_repo(
        "acme/app", {"README.md": "hi\n", "deploy/prod/values.yaml": "tag: v1\n"}
    )


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_get_file_dir_and_ref(sandbox: Sandbox, api: Any, first: str) -> None:
    gh = api.client("dev-alice")
    file = gh.rest.repos.get_content("acme", "app", "deploy/prod/values.yaml").json()
    assert file["type"] == "file"
    assert base64.b64decode(file["content"]) == b"tag: v1\n"
    listing = api("dev-alice", "GET", f"{R}/contents/deploy").json
    assert [(e["name"], e["type"]) for e in listing] == [("prod", "dir")]
    root = api("dev-alice", "GET", f"{R}/contents").json
    assert {e["name"] for e in root} == {"README.md", "deploy"}
    sandbox.scenario.push("acme/app", "main", {"README.md": "v2\n"}, "v2", "dev-alice")
    old = api("dev-alice", "GET", f"{R}/contents/README.md", params={"ref": first}).json
    assert base64.b64decode(old["content"]) == b"hi\n"
    assert api("dev-alice", "GET", f"{R}/contents/nope.txt").status == 404
    assert (
        api("dev-alice", "GET", f"{R}/contents/README.md", params={"ref": "nobranch"}).status == 404
    )


def test_put_create_update_and_mismatch(sandbox: Sandbox, api: Any, first: str) -> None:
    made = api(
        "dev-alice",
        "PUT",
        f"{R}/contents/docs/new.md",
        {"message": "add doc", "content": b64("# doc\n")},
    )
    assert made.status == 201
    sha = made.json["content"]["sha"]
    assert made.json["commit"]["parents"][0]["sha"] == first
    no_sha = api(
        "dev-alice", "PUT", f"{R}/contents/docs/new.md", {"message": "x", "content": b64("x")}
    )
    assert no_sha.status == 422
    wrong = api(
        "dev-alice",
        "PUT",
        f"{R}/contents/docs/new.md",
        {"message": "x", "content": b64("x"), "sha": "0" * 40},
    )
    assert wrong.status == 409
    upd = api(
        "dev-alice",
        "PUT",
        f"{R}/contents/docs/new.md",
        {"message": "edit", "content": b64("# doc 2\n"), "sha": sha, "branch": "main"},
    )
    assert upd.status == 200
    assert upd.json["commit"]["message"] == "edit"
    missing = api("dev-alice", "PUT", f"{R}/contents/docs/other.md", {"content": b64("x")})
    assert missing.status == 422
    assert missing.json["errors"][0]["field"] == "message"
    gone = api(
        "dev-alice",
        "DELETE",
        f"{R}/contents/docs/new.md",
        {"message": "rm", "sha": upd.json["content"]["sha"]},
    )
    assert gone.status == 200
    assert api("dev-alice", "GET", f"{R}/contents/docs/new.md").status == 404
    assert (
        api("reader-erin", "PUT", f"{R}/contents/z", {"message": "m", "content": b64("z")}).status
        == 403
    )


def raw_request(sandbox: Sandbox, method: str, path: str, token: str, body: bytes = b"") -> int:
    """A request with the path exactly as given (no client-side dot-segment cleanup)."""
    host = urlsplit(sandbox.base_url)
    conn = http.client.HTTPConnection(host.hostname or "", host.port, timeout=10)
    conn.request(method, path, body=body, headers={"Authorization": f"token {token}"})
    status = conn.getresponse().status
    conn.close()
    return status


def test_traversal_in_contents_is_refused(sandbox: Sandbox, first: str) -> None:
    token = sandbox.token("dev-alice")
    body = b'{"message": "m", "content": "eA=="}'
    for path in (
        "../../../etc/passwd",
        "a/../../x",
        "%2e%2e/%2e%2e/x",
        ".git/config",
        "deploy/..%2F..%2Fx",
    ):
        assert raw_request(sandbox, "GET", f"{R}/contents/{path}", token) == 404, path
        assert raw_request(sandbox, "PUT", f"{R}/contents/{path}", token, body) == 422, path
    assert not (sandbox.data_dir.parent / "x").exists()
    assert sandbox.git.ref("acme/app", "refs/heads/main") == first


def test_compare_statuses_and_files(sandbox: Sandbox, api: Any, first: str) -> None:
    sandbox.scenario.push("acme/app", "feat", {"a.txt": "a\n"}, "one", "dev-alice")
    head = sandbox.scenario.push("acme/app", "feat", {"b.txt": "b\n"}, "two", "dev-alice")
    ahead = api("dev-alice", "GET", f"{R}/compare/main...feat").json
    assert (ahead["status"], ahead["ahead_by"], ahead["behind_by"]) == ("ahead", 2, 0)
    assert [c["commit"]["message"] for c in ahead["commits"]] == ["one", "two"]
    assert {f["filename"] for f in ahead["files"]} == {"a.txt", "b.txt"}
    behind = api("dev-alice", "GET", f"{R}/compare/feat...main").json
    assert (behind["status"], behind["behind_by"]) == ("behind", 2)
    sandbox.scenario.push("acme/app", "main", {"c.txt": "c"}, "three", "rm-dave")
    diverged = api("dev-alice", "GET", f"{R}/compare/main...{head}").json
    assert (diverged["status"], diverged["ahead_by"], diverged["behind_by"]) == ("diverged", 2, 1)
    same = api("dev-alice", "GET", f"{R}/compare/main...main").json
    assert same["status"] == "identical"
    sandbox.scenario.push("acme/app", "release/1.0", {}, "rel", "rm-dave")
    slashes = api("dev-alice", "GET", f"{R}/compare/release/1.0...main")
    assert slashes.status == 200
    typed = api.client("dev-alice").rest.repos.compare_commits("acme", "app", "main...feat")
    assert typed.parsed_data.ahead_by == 2
    assert api("dev-alice", "GET", f"{R}/compare/main...nope").status == 404


def test_commits_and_branches(sandbox: Sandbox, api: Any, first: str) -> None:
    second = sandbox.scenario.push("acme/app", "main", {"README.md": "v2\n"}, "v2", "dev-alice")
    listed = api("dev-alice", "GET", f"{R}/commits").json
    assert [c["sha"] for c in listed] == [second, first]
    assert listed[0]["author"]["login"] == "dev-alice"
    only = api("dev-alice", "GET", f"{R}/commits", params={"path": "deploy"}).json
    assert [c["sha"] for c in only] == [first]
    one = api("dev-alice", "GET", f"{R}/commits/{second}").json
    assert [f["filename"] for f in one["files"]] == ["README.md"]
    assert one["stats"]["total"] == 2
    branch = api.client("dev-alice").rest.repos.get_branch("acme", "app", "main").parsed_data
    assert branch.commit.sha == second
    assert [b["name"] for b in api("dev-alice", "GET", f"{R}/branches").json] == ["main"]


def test_merges_endpoint(sandbox: Sandbox, api: Any, first: str) -> None:
    sandbox.scenario.push("acme/app", "feat", {"README.md": "feat\n"}, "f", "dev-alice")
    merged = api("rm-dave", "POST", f"{R}/merges", {"base": "main", "head": "feat"})
    assert merged.status == 201
    assert len(merged.json["parents"]) == 2
    nothing = api("rm-dave", "POST", f"{R}/merges", {"base": "main", "head": "feat"})
    assert nothing.status == 204
    sandbox.scenario.push("acme/app", "x", {"README.md": "x\n"}, "x", "dev-alice", base=first)
    sandbox.scenario.push("acme/app", "y", {"README.md": "y\n"}, "y", "dev-alice", base=first)
    api("rm-dave", "POST", f"{R}/merges", {"base": "y", "head": "x"})
    conflict = api("rm-dave", "POST", f"{R}/merges", {"base": "main", "head": "x"})
    assert conflict.status == 409
    assert conflict.json["message"] == "Merge conflict"
    assert api("rm-dave", "POST", f"{R}/merges", {"base": "nope", "head": "x"}).status == 404
    assert api("rm-dave", "POST", f"{R}/merges", {"base": "main"}).status == 422
