"""Merging a pull request: merge, squash, and rebase when linear; and whether it is merged."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.issues import find_issue, record_event
from bot.sandbox.api.merges import merge_commit
from bot.sandbox.api.pulls import base_sha, emit_pull, find_pull, head_sha, pull_number
from bot.sandbox.api.refs import move_ref
from bot.sandbox.api.repos import person_of, repo_name
from bot.sandbox.gitstore import RefConflict
from bot.sandbox.http import ApiError, RequestContext, Response, Router, invalid_field
from bot.sandbox.rules import check_merge

MERGE_METHODS = ("merge", "squash", "rebase")


def is_merged(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    pull = find_pull(ctx, repo, pull_number(ctx))
    if not pull["merged"]:
        raise ApiError(404, "Not Found")
    return Response(204)


def _files_base(
    ctx: RequestContext, repo: str, pull: dict[str, Any], base: str, head: str
) -> str | None:
    """Where a merged PR's files and commits are counted from. When its head already reached
    the base (a release train merged it first), the merge base is the head itself; GitHub
    still lists the PR's own changes, so count from the base the PR was opened against."""
    merge_base = ctx.git.merge_base(repo, base, head)
    opened_on = str(pull.get("base_sha") or "")
    if merge_base == head and opened_on:
        return ctx.git.merge_base(repo, opened_on, head) or merge_base
    return merge_base


def merge_pull(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    number = pull_number(ctx)
    pull, issue = find_pull(ctx, repo, number), find_issue(ctx, repo, number)
    body = ctx.json()
    method = body.get("merge_method", "merge")
    if method not in MERGE_METHODS:
        raise invalid_field("PullRequest", "merge_method")
    if pull["merged"] or issue["state"] != "open":
        raise ApiError(405, "Pull Request is not mergeable")
    if pull.get("draft"):
        raise ApiError(405, "Pull Request is still a draft")
    head, base = head_sha(ctx, repo, pull), base_sha(ctx, repo, pull)
    if body.get("sha") and body["sha"] != head:
        raise ApiError(409, "Head branch was modified. Review and try the merge again.")
    check_merge(ctx, repo, pull, head, base, method)  # branch protection and rulesets
    sha = _merge_commit(ctx, repo, pull, issue, method, base, head, body)
    if sha is None:
        raise ApiError(405, "Pull Request is not mergeable")
    try:
        move_ref(ctx, repo, f"refs/heads/{pull['base_ref']}", sha, base)
    except RefConflict:
        raise ApiError(409, "Base branch was modified. Review and try the merge again.") from None
    assert ctx.user is not None
    merge_base = _files_base(ctx, repo, pull, base, head)
    pull.update(
        {
            "merged": True,
            "merged_at": ctx.now(),
            "merged_by": ctx.user.login,
            "merge_commit_sha": sha,
            "head_sha": head,
            "base_sha": base,
            "merge_base": merge_base,
        }
    )
    issue["state"], issue["closed_at"] = "closed", ctx.now()
    issue["closed_by"], issue["updated_at"] = ctx.user.login, ctx.now()
    record_event(ctx, repo, issue, "merged", commit_id=sha)
    record_event(ctx, repo, issue, "closed", commit_id=sha)
    emit_pull(ctx, repo, number, "closed")
    return Response(
        200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}
    )


def _merge_commit(
    ctx: RequestContext,
    repo: str,
    pull: dict[str, Any],
    issue: dict[str, Any],
    method: str,
    base: str,
    head: str,
    body: dict[str, Any],
) -> str | None:
    number = pull["number"]
    title = body.get("commit_title")
    if method == "merge":
        owner = repo.split("/")[0]
        message = title or f"Merge pull request #{number} from {owner}/{pull['head_ref']}"
        message += "\n\n" + (body.get("commit_message") or issue["title"])
        return merge_commit(ctx, repo, base, head, message)
    if method == "squash":
        message = title or f"{issue['title']} (#{number})"
        if body.get("commit_message"):
            message += "\n\n" + body["commit_message"]
        return merge_commit(ctx, repo, base, head, message, squash=True)
    return _rebase(ctx, repo, base, head)


def _rebase(ctx: RequestContext, repo: str, base: str, head: str) -> str | None:
    """Replay the PR's commits one by one on the base (new committer, same author).

    Each replayed commit's tree is git's three-way merge of the base with that commit
    (the fork point as merge base): the base plus the PR's changes up to that commit.
    A merge commit in the PR, or a step that conflicts, makes it not rebaseable."""
    assert ctx.user is not None
    committer = person_of(ctx, ctx.user.login)
    tip = base
    for sha in ctx.git.log(repo, f"{base}..{head}"):
        commit = ctx.git.read_commit(repo, sha)
        assert commit is not None
        if len(commit.parents) > 1:
            raise ApiError(405, "This branch can't be rebased")
        tree, conflicts = ctx.git.merge_tree(repo, base, sha)
        if conflicts:
            raise ApiError(405, "This branch can't be rebased")
        tip = ctx.git.commit_tree(repo, tree, [tip], commit.message, commit.author, committer)
    return tip


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/pulls"
    router.add("GET", base + "/{pull_number}/merge", is_merged)
    router.add("PUT", base + "/{pull_number}/merge", merge_pull)
