"""Pull requests through githubkit: create, get, list, update, files, commits, merge."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox.runner import Sandbox

R = "/repos/acme/app"


@pytest.fixture
def repo(sandbox: Sandbox) -> str:
    return sandbox.scenario.create_repo(
        "acme/app", {"README.md": "hello\n", "conf.txt": "a=1\nb=2\nc=3\n"}
    )


def test_typed_create_and_get(sandbox: Sandbox, api: Any, repo: str) -> None:
    sandbox.scenario.push("acme/app", "feat", {"new.txt": "x\n"}, "add new", "dev-alice")
    gh = api.client("dev-alice")
    pr = gh.rest.pulls.create("acme", "app", title="Add new", head="feat", base="main").parsed_data
    assert pr.number == 1
    got = gh.rest.pulls.get("acme", "app", 1).parsed_data
    assert got.mergeable is True
    assert got.mergeable_state == "clean"
    assert got.merged is False
    assert got.head.ref == "feat"


def test_create_validation(sandbox: Sandbox, api: Any, repo: str) -> None:
    sandbox.scenario.push("acme/app", "feat", {"new.txt": "x\n"}, "add new", "dev-alice")
    body = {"title": "t", "head": "feat", "base": "main"}
    assert api("dev-alice", "POST", f"{R}/pulls", body).status == 201
    dup = api("dev-alice", "POST", f"{R}/pulls", body)
    assert dup.status == 422
    assert "already exists" in dup.json["errors"][0]["message"]
    missing = api("dev-alice", "POST", f"{R}/pulls", {"head": "feat", "base": "main"})
    assert missing.status == 422
    assert missing.json["errors"][0] == {
        "resource": "PullRequest",
        "field": "title",
        "code": "missing_field",
    }
    nobranch = api("dev-alice", "POST", f"{R}/pulls", {**body, "head": "nope"})
    assert nobranch.status == 422
    sandbox.scenario.push("acme/app", "same", {}, "empty", "dev-alice")
    nothing = api("dev-alice", "POST", f"{R}/pulls", {**body, "head": "main", "base": "main"})
    assert nothing.status == 422


def test_prs_and_issues_share_numbers(sandbox: Sandbox, api: Any, repo: str) -> None:
    issue = api("dev-bob", "POST", f"{R}/issues", {"title": "bug"})
    assert issue.json["number"] == 1
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="feat")
    assert n == 2
    as_issue = api("dev-bob", "GET", f"{R}/issues/2")
    assert as_issue.json["pull_request"]["url"].endswith("/pulls/2")


def test_push_to_head_branch_moves_head_sha(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="feat")
    before = api("dev-alice", "GET", f"{R}/pulls/{n}").json["head"]["sha"]
    after = sandbox.scenario.push("acme/app", "feat", {"x": "2"}, "again", "dev-alice")
    assert after != before
    assert api("dev-alice", "GET", f"{R}/pulls/{n}").json["head"]["sha"] == after
    commits = api("dev-alice", "GET", f"{R}/pulls/{n}/commits").json
    assert [c["sha"] for c in commits][-1] == after
    assert len(commits) == 2


def test_list_filters_and_pagination(sandbox: Sandbox, api: Any, repo: str) -> None:
    for i in range(5):
        sandbox.scenario.open_pr("acme/app", "dev-alice", f"b{i}", {f"f{i}": "x"}, title=f"t{i}")
    api("dev-alice", "PATCH", f"{R}/pulls/1", {"state": "closed"})
    open_ = api("dev-alice", "GET", f"{R}/pulls", params={"per_page": 2})
    assert len(open_.json) == 2
    assert 'rel="next"' in open_.headers["link"]
    assert 'rel="last"' in open_.headers["link"]
    everything = list(
        api.client("dev-alice").rest.paginate(
            api.client("dev-alice").rest.pulls.list,
            owner="acme",
            repo="app",
            state="all",
            per_page=2,
        )
    )
    assert sorted(p.number for p in everything) == [1, 2, 3, 4, 5]
    closed = api("dev-alice", "GET", f"{R}/pulls", params={"state": "closed"})
    assert [p["number"] for p in closed.json] == [1]
    by_head = api("dev-alice", "GET", f"{R}/pulls", params={"head": "acme:b3"})
    assert [p["number"] for p in by_head.json] == [4]
    by_base = api("dev-alice", "GET", f"{R}/pulls", params={"base": "other"})
    assert by_base.json == []


def test_update_title_body_state_base(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"x": "1"}, title="feat")
    sandbox.scenario.push("acme/app", "release/1", {}, "branch", "rm-dave")
    r = api(
        "dev-alice",
        "PATCH",
        f"{R}/pulls/{n}",
        {"title": "better", "body": "why", "base": "release/1"},
    )
    assert (r.json["title"], r.json["body"], r.json["base"]["ref"]) == (
        "better",
        "why",
        "release/1",
    )
    closed = api("dev-alice", "PATCH", f"{R}/pulls/{n}", {"state": "closed"})
    assert closed.json["state"] == "closed"
    assert api("reader-erin", "PATCH", f"{R}/pulls/{n}", {"title": "x"}).status == 403


def test_files(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr(
        "acme/app",
        "dev-alice",
        "feat",
        {"conf.txt": "a=1\nb=20\nc=3\n", "README.md": None, "new.txt": "n\n"},
        title="f",
    )
    files = {f["filename"]: f for f in api("dev-alice", "GET", f"{R}/pulls/{n}/files").json}
    assert files["conf.txt"]["status"] == "modified"
    assert (files["conf.txt"]["additions"], files["conf.txt"]["deletions"]) == (1, 1)
    assert "+b=20" in files["conf.txt"]["patch"]
    assert files["README.md"]["status"] == "removed"
    assert files["new.txt"]["status"] == "added"


def test_merge_commit_and_squash(sandbox: Sandbox, api: Any, repo: str) -> None:
    a = sandbox.scenario.open_pr("acme/app", "dev-alice", "a", {"a": "1"}, title="A")
    b = sandbox.scenario.open_pr("acme/app", "dev-bob", "b", {"b": "1"}, title="B")
    merged = api("rm-dave", "PUT", f"{R}/pulls/{a}/merge", {"merge_method": "merge"})
    assert merged.status == 200
    assert merged.json["merged"] is True
    commit = api("rm-dave", "GET", f"{R}/git/commits/{merged.json['sha']}").json
    assert len(commit["parents"]) == 2
    squashed = api("rm-dave", "PUT", f"{R}/pulls/{b}/merge", {"merge_method": "squash"})
    commit = api("rm-dave", "GET", f"{R}/git/commits/{squashed.json['sha']}").json
    assert len(commit["parents"]) == 1
    assert commit["message"].startswith("B (#2)")
    pr = api("rm-dave", "GET", f"{R}/pulls/{a}").json
    assert (pr["merged"], pr["state"], pr["merge_commit_sha"]) == (
        True,
        "closed",
        merged.json["sha"],
    )
    assert api("rm-dave", "GET", f"{R}/pulls/{a}/merge").status == 204
    again = api("rm-dave", "PUT", f"{R}/pulls/{a}/merge", {})
    assert again.status == 405
    main = api("rm-dave", "GET", f"{R}/git/ref/heads/main").json["object"]["sha"]
    assert main == squashed.json["sha"]


def test_rebase_merge_when_linear(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "a", {"a": "1"}, title="A")
    r = api("rm-dave", "PUT", f"{R}/pulls/{n}/merge", {"merge_method": "rebase"})
    assert r.status == 200
    commit = api("rm-dave", "GET", f"{R}/git/commits/{r.json['sha']}").json
    assert len(commit["parents"]) == 1


def test_rebase_merge_replays_commits_on_a_moved_base(
    sandbox: Sandbox, api: Any, repo: str
) -> None:
    sc = sandbox.scenario
    n = sc.open_pr("acme/app", "dev-alice", "a", {"a": "1"}, title="A", message="first")
    sc.push("acme/app", "a", {"conf.txt": "a=A\nb=2\nc=3\n"}, "second", "dev-alice")
    main = sc.push("acme/app", "main", {"conf.txt": "a=1\nb=2\nc=C\n"}, "main", "rm-dave")
    r = api("rm-dave", "PUT", f"{R}/pulls/{n}/merge", {"merge_method": "rebase"})
    assert r.status == 200
    log = api("rm-dave", "GET", f"{R}/commits").json
    assert [c["commit"]["message"] for c in log[:3]] == ["second", "first", "main"]
    assert log[2]["sha"] == main
    assert log[0]["commit"]["author"]["name"] == "dev-alice"
    assert log[0]["commit"]["committer"]["name"] == "rm-dave"
    conf = api(
        "rm-dave", "GET", f"{R}/contents/conf.txt", headers={"Accept": "application/vnd.github.raw"}
    )
    assert conf.json == b"a=A\nb=2\nc=C\n"


def test_merge_with_stale_sha_is_409(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "a", {"a": "1"}, title="A")
    old = api("rm-dave", "GET", f"{R}/pulls/{n}").json["head"]["sha"]
    sandbox.scenario.push("acme/app", "a", {"a": "2"}, "more", "dev-alice")
    r = api("rm-dave", "PUT", f"{R}/pulls/{n}/merge", {"sha": old})
    assert r.status == 409
    assert r.json["message"].startswith("Head branch was modified")


def test_conflicting_pr_is_dirty_and_405(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr(
        "acme/app", "dev-alice", "a", {"conf.txt": "a=1\nb=A\nc=3\n"}, title="A"
    )
    sandbox.scenario.push("acme/app", "main", {"conf.txt": "a=1\nb=MAIN\nc=3\n"}, "m", "rm-dave")
    pr = api("rm-dave", "GET", f"{R}/pulls/{n}").json
    assert (pr["mergeable"], pr["mergeable_state"]) == (False, "dirty")
    r = api("rm-dave", "PUT", f"{R}/pulls/{n}/merge", {})
    assert r.status == 405
    assert r.json["message"] == "Pull Request is not mergeable"


def test_non_conflicting_divergence_merges(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr(
        "acme/app", "dev-alice", "a", {"conf.txt": "a=A\nb=2\nc=3\n"}, title="A"
    )
    sandbox.scenario.push("acme/app", "main", {"conf.txt": "a=1\nb=2\nc=C\n"}, "m", "rm-dave")
    r = api("rm-dave", "PUT", f"{R}/pulls/{n}/merge", {})
    assert r.status == 200
    content = api(
        "rm-dave", "GET", f"{R}/contents/conf.txt", headers={"Accept": "application/vnd.github.raw"}
    )
    assert content.json == b"a=A\nb=2\nc=C\n"


def test_failing_check_makes_pr_unstable(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "a", {"a": "1"}, title="A")
    head = api("rm-dave", "GET", f"{R}/pulls/{n}").json["head"]["sha"]
    sandbox.scenario.set_check("acme/app", head, "ci", conclusion="failure")
    assert api("rm-dave", "GET", f"{R}/pulls/{n}").json["mergeable_state"] == "unstable"


def test_requested_reviewers(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "a", {"a": "1"}, title="A")
    r = api("dev-alice", "POST", f"{R}/pulls/{n}/requested_reviewers", {"reviewers": ["rev-carol"]})
    assert r.status == 201
    got = api("dev-alice", "GET", f"{R}/pulls/{n}/requested_reviewers").json
    assert [u["login"] for u in got["users"]] == ["rev-carol"]


def test_write_permission_needed_to_merge(sandbox: Sandbox, api: Any, repo: str) -> None:
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "a", {"a": "1"}, title="A")
    r = api("reader-erin", "PUT", f"{R}/pulls/{n}/merge", {})
    assert r.status == 403
    assert r.json["message"] == "Must have push access to repository."


def test_open_pr_takes_any_mapping_of_text_bytes_and_deletions(
    sandbox: Sandbox, api: Any, repo: str
) -> None:
    from types import MappingProxyType

    files: MappingProxyType[str, str | bytes | None] = MappingProxyType(
        {"new.txt": "x\n", "logo.bin": b"\x00\xff", "conf.txt": None}
    )
    number = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", files, title="Mixed")
    changed = api("dev-alice", "GET", f"{R}/pulls/{number}/files").json
    assert {f["filename"]: f["status"] for f in changed} == {
        "new.txt": "added",
        "logo.bin": "added",
        "conf.txt": "removed",
    }


def test_pr_merged_after_a_train_carried_it_still_lists_its_files(
    sandbox: Sandbox, api: Any, repo: str
) -> None:
    # A release train merges the PR's head into base first; merging the PR afterwards must
    # still show the PR's own change, as GitHub does.
    n = sandbox.scenario.open_pr("acme/app", "dev-alice", "feat", {"new.txt": "x\n"}, title="f")
    merged = api("dev-alice", "POST", f"{R}/merges", {"base": "main", "head": "feat"})
    assert merged.status == 201
    assert api("dev-alice", "PUT", f"{R}/pulls/{n}/merge", {}).status == 200
    files = api("dev-alice", "GET", f"{R}/pulls/{n}/files")
    assert [f["filename"] for f in files.json] == ["new.txt"]
