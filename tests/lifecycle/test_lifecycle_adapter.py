"""Adapter details that need no server: git object ids, link headers, permissions."""

from __future__ import annotations

import subprocess

from bot.adapters.github import _next_link, blob_sha
from bot.core.world import Comment, PullRequest, permission_at_least


def test_blob_sha_matches_git() -> None:
    text = '{\n  "id": "web-2026-03-03 🚆"\n}\n'
    out = subprocess.run(
        ["git", "hash-object", "--stdin"], input=text.encode(), capture_output=True, check=True
    )
    assert blob_sha(text) == out.stdout.decode().strip()


def test_next_link() -> None:
    link = '<https://x/y?page=2>; rel="next", <https://x/y?page=5>; rel="last"'
    assert _next_link(link) == "https://x/y?page=2"
    assert _next_link('<https://x/y?page=1>; rel="prev"') == ""


def test_permission_order() -> None:
    assert permission_at_least("admin", "maintain")
    assert not permission_at_least("write", "maintain")
    assert permission_at_least("triage", "read")
    assert not permission_at_least("nonsense", "read")


def test_parsing_tolerates_sparse_payloads() -> None:
    pr = PullRequest.from_json({"number": 3, "user": None, "labels": [{"name": "x"}]})
    assert (pr.number, pr.author, pr.labels, pr.state) == (3, "", ("x",), "open")
    fork = PullRequest.from_json(
        {
            "number": 4,
            "head": {"repo": {"full_name": "evil/shop"}, "ref": "main", "sha": "a"},
            "base": {"repo": {"full_name": "acme/shop"}, "ref": "main"},
        }
    )
    assert fork.fork
    comment = Comment.from_json(
        {
            "id": 9,
            "issue_url": "https://api/repos/a/b/issues/12",
            "body": None,
            "created_at": "2026-03-03T10:00:00Z",
            "updated_at": "2026-03-03T10:00:05Z",
        }
    )
    assert comment.issue == 12 and comment.edited and comment.body == ""


def test_writes_are_paced_under_the_content_creation_limit() -> None:
    from bot.adapters.github import GitHubClient

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    client = GitHubClient("a/b", "t", writes_per_minute=80, clock=lambda: now[0], sleep=sleep)
    for _ in range(80):
        client._pace()
        now[0] += 0.1
    assert slept == []
    client._pace()  # the 81st write inside a minute waits for the first to age out
    assert len(slept) == 1 and 51 < slept[0] <= 60
    assert client.writes == 81
