"""Issue and pull request comments, and their reactions."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.issues import (
    REACTIONS,
    association,
    find_issue,
    is_author_or,
    issue_json,
    reactions_summary,
    via_app,
)
from bot.sandbox.api.repos import repo_json, repo_name, user_or_none
from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    invalid_field,
    missing_field,
    paginate,
)


def comment_json(ctx: RequestContext, comment: dict[str, Any]) -> dict[str, Any]:
    repo = comment["repo"]
    api = f"{ctx.base_url}/repos/{repo}"
    url = f"{api}/issues/comments/{comment['id']}"
    rows = ctx.store.where("reactions", comment_id=comment["id"])
    return {
        "id": comment["id"],
        "node_id": comment["node_id"],
        "url": url,
        "html_url": f"{ctx.base_url}/{repo}/issues/{comment['issue_number']}"
        f"#issuecomment-{comment['id']}",
        "body": comment["body"],
        "user": user_or_none(ctx, comment["user"]),
        "created_at": comment["created_at"],
        "updated_at": comment["updated_at"],
        "issue_url": f"{api}/issues/{comment['issue_number']}",
        "author_association": association(ctx, repo, comment["user"]),
        "reactions": reactions_summary(ctx, url, rows),
        "performed_via_github_app": via_app(ctx, comment),
    }


def find_comment(ctx: RequestContext, repo: str) -> dict[str, Any]:
    comment = ctx.store.get("comments", ctx.params["comment_id"])
    if comment is None or comment["repo"] != repo:
        raise ApiError(404, "Not Found")
    return comment


# -- comments ------------------------------------------------------------------------------


def list_comments(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    find_issue(ctx, repo, ctx.params["number"])
    rows = ctx.store.where("comments", repo=repo, issue_number=int(ctx.params["number"]))
    since = ctx.arg("since")
    rows = [c for c in rows if since is None or c["updated_at"] >= since]
    return paginate(ctx, [comment_json(ctx, c) for c in rows])


def list_repo_comments(ctx: RequestContext) -> Response:
    """Every comment of the repository; `since`, `sort` (created|updated), `direction`."""
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    since = ctx.arg("since")
    rows = [
        c
        for c in ctx.store.where("comments", repo=repo)
        if since is None or c["updated_at"] >= since
    ]
    key = "updated_at" if ctx.arg("sort") == "updated" else "created_at"
    rows.sort(key=lambda c: (c[key], c["id"]), reverse=ctx.arg("direction") == "desc")
    return paginate(ctx, [comment_json(ctx, c) for c in rows])


def _body_text(body: dict[str, Any]) -> str:
    text = body.get("body")
    if not isinstance(text, str) or not text:
        raise missing_field("IssueComment", "body")
    if len(text) > 65536:
        raise invalid_field(
            "IssueComment", "body", "body is too long (maximum is 65536 characters)"
        )
    return text


def create_comment(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    record = ctx.require(repo, "read")
    issue = find_issue(ctx, repo, ctx.params["number"])
    assert ctx.user is not None
    text = _body_text(ctx.json())
    now = ctx.now()
    comment = ctx.store.insert(
        "comments",
        {
            "repo": repo,
            "issue_number": issue["number"],
            "user": ctx.user.login,
            "body": text,
            "via_app": ctx.installation_id is not None,
            "created_at": now,
            "updated_at": now,
        },
    )
    issue["updated_at"] = now
    _emit_comment(ctx, repo, record, issue, comment, "created")
    return Response(201, comment_json(ctx, comment))


def _emit_comment(
    ctx: RequestContext,
    repo: str,
    record: dict[str, Any],
    issue: dict[str, Any],
    comment: dict[str, Any],
    action: str,
    changes: dict[str, Any] | None = None,
) -> None:
    if ctx.deliver is None:
        return
    from bot.sandbox import webhooks

    payload = webhooks.issue_comment_payload(
        action,
        comment_json(ctx, comment),
        issue_json(ctx, repo, issue),
        repo_json(ctx, record),
        None,
        ctx.store.installation_for(repo),
        changes=changes,
    )
    ctx.emit("issue_comment", payload, repo)


def get_comment(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    return Response(200, comment_json(ctx, find_comment(ctx, repo)))


def update_comment(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    record = ctx.require(repo, "read")
    comment = find_comment(ctx, repo)
    is_author_or(ctx, repo, comment["user"], "triage")
    text = _body_text(ctx.json())
    old = comment["body"]
    comment["body"], comment["updated_at"] = text, ctx.now()
    issue = find_issue(ctx, repo, comment["issue_number"])
    _emit_comment(ctx, repo, record, issue, comment, "edited", {"body": {"from": old}})
    return Response(200, comment_json(ctx, comment))


def delete_comment(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    comment = find_comment(ctx, repo)
    is_author_or(ctx, repo, comment["user"], "triage")
    del ctx.store.data["comments"][str(comment["id"])]
    return Response(204)


# -- reactions -----------------------------------------------------------------------------


def reaction_json(ctx: RequestContext, reaction: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": reaction["id"],
        "node_id": reaction["node_id"],
        "user": user_or_none(ctx, reaction["user"]),
        "content": reaction["content"],
        "created_at": reaction["created_at"],
    }


def create_reaction(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    comment = find_comment(ctx, repo)
    assert ctx.user is not None
    content = ctx.json().get("content")
    if content is None:
        raise missing_field("Reaction", "content")
    if content not in REACTIONS:
        raise invalid_field("Reaction", "content")
    for row in ctx.store.where(
        "reactions", comment_id=comment["id"], user=ctx.user.login, content=content
    ):
        return Response(200, reaction_json(ctx, row))
    row = ctx.store.insert(
        "reactions",
        {
            "repo": repo,
            "comment_id": comment["id"],
            "user": ctx.user.login,
            "content": content,
            "created_at": ctx.now(),
        },
    )
    return Response(201, reaction_json(ctx, row))


def list_reactions(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    comment = find_comment(ctx, repo)
    content = ctx.arg("content")
    rows = [
        r
        for r in ctx.store.where("reactions", comment_id=comment["id"])
        if content in (None, r["content"])
    ]
    return paginate(ctx, [reaction_json(ctx, r) for r in rows])


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}"
    router.add("GET", base + "/issues/{number}/comments", list_comments)
    router.add("POST", base + "/issues/{number}/comments", create_comment)
    router.add("GET", base + "/issues/comments", list_repo_comments)
    router.add("GET", base + "/issues/comments/{comment_id}", get_comment)
    router.add("PATCH", base + "/issues/comments/{comment_id}", update_comment)
    router.add("DELETE", base + "/issues/comments/{comment_id}", delete_comment)
    router.add("POST", base + "/issues/comments/{comment_id}/reactions", create_reaction)
    router.add("GET", base + "/issues/comments/{comment_id}/reactions", list_reactions)
