"""Pull request reviews: list, get, submit (APPROVE, REQUEST_CHANGES, COMMENT), dismiss."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.issues import association
from bot.sandbox.api.pulls import find_pull, head_sha, pull_json
from bot.sandbox.api.repos import repo_json, repo_name, user_or_none
from bot.sandbox.http import ApiError, RequestContext, Response, Router, invalid_field, paginate

EVENTS = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


def review_json(ctx: RequestContext, review: dict[str, Any]) -> dict[str, Any]:
    repo, number = review["repo"], review["pull_number"]
    html = f"{ctx.base_url}/{repo}/pull/{number}#pullrequestreview-{review['id']}"
    pull_url = f"{ctx.base_url}/repos/{repo}/pulls/{number}"
    return {
        "id": review["id"],
        "node_id": review["node_id"],
        "user": user_or_none(ctx, review["user"]),
        "body": review.get("body") or "",
        "state": review["state"],
        "html_url": html,
        "pull_request_url": pull_url,
        "author_association": association(ctx, repo, review["user"]),
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        "submitted_at": review.get("submitted_at"),
        "commit_id": review.get("commit_id"),
    }


def _emit(ctx: RequestContext, review: dict[str, Any], action: str) -> None:
    if ctx.deliver is None:
        return
    from bot.sandbox import webhooks

    repo = review["repo"]
    record = ctx.store.repo(repo)
    assert record is not None
    shown = review_json(ctx, review)
    shown["state"] = shown["state"].lower()  # webhooks say "approved"; REST says "APPROVED"
    payload = webhooks.pull_request_review_payload(
        action,
        shown,
        pull_json(ctx, repo, review["pull_number"]),
        repo_json(ctx, record),
        None,
        ctx.store.installation_for(repo),
    )
    ctx.emit("pull_request_review", payload, repo)


def _number(ctx: RequestContext) -> int:
    try:
        return int(ctx.params["pull_number"])
    except ValueError:
        raise ApiError(404, "Not Found") from None


def list_reviews(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    number = _number(ctx)
    find_pull(ctx, repo, number)
    rows = [
        r
        for r in ctx.store.where("reviews", repo=repo, pull_number=number)
        if r["state"] != "PENDING" or (ctx.user and r["user"] == ctx.user.login)
    ]
    return paginate(ctx, [review_json(ctx, r) for r in rows])


def _find_review(ctx: RequestContext, repo: str, number: int) -> dict[str, Any]:
    review = ctx.store.get("reviews", ctx.params["review_id"])
    if review is None or review["repo"] != repo or review["pull_number"] != number:
        raise ApiError(404, "Not Found")
    return review


def get_review(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    return Response(200, review_json(ctx, _find_review(ctx, repo, _number(ctx))))


def submit_review(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    number = _number(ctx)
    pull = find_pull(ctx, repo, number)
    issue = ctx.store.get("issues", f"{repo}#{number}")
    assert issue is not None and ctx.user is not None
    body = ctx.json()
    event = body.get("event")
    if event is not None and event not in EVENTS:
        raise invalid_field("PullRequestReview", "event")
    text = body.get("body") or ""
    if event in ("REQUEST_CHANGES", "COMMENT") and not text:
        raise ApiError(
            422, "Unprocessable Entity", [f"Review Body is required when the event is {event}."]
        )
    if event in ("APPROVE", "REQUEST_CHANGES") and issue["user"] == ctx.user.login:
        verb = "approve" if event == "APPROVE" else "request changes on"
        raise ApiError(422, "Unprocessable Entity", [f"Can not {verb} your own pull request"])
    if issue["state"] != "open" and event in ("APPROVE", "REQUEST_CHANGES"):
        raise ApiError(422, "Unprocessable Entity", ["Pull request is closed"])
    commit = body.get("commit_id") or head_sha(ctx, repo, pull)
    review = ctx.store.insert(
        "reviews",
        {
            "repo": repo,
            "pull_number": number,
            "user": ctx.user.login,
            "body": text,
            "state": EVENTS[event] if event else "PENDING",
            "commit_id": commit,
            "submitted_at": ctx.now() if event else None,
        },
    )
    if ctx.user.login in pull["requested_reviewers"] and event:
        pull["requested_reviewers"].remove(ctx.user.login)
    if event:
        _emit(ctx, review, "submitted")
    return Response(200, review_json(ctx, review))


def dismiss_review(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    review = _find_review(ctx, repo, _number(ctx))
    body = ctx.json()
    if not isinstance(body.get("message"), str) or not body["message"]:
        raise ApiError(
            422,
            "Invalid request.",
            [{"resource": "PullRequestReview", "field": "message", "code": "missing_field"}],
        )
    if review["state"] not in ("APPROVED", "CHANGES_REQUESTED"):
        raise ApiError(422, "Can not dismiss a commented pull request review")
    review["state"] = "DISMISSED"
    review["dismissal_message"] = body["message"]
    _emit(ctx, review, "dismissed")
    return Response(200, review_json(ctx, review))


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/pulls/{pull_number}/reviews"
    router.add("GET", base, list_reviews)
    router.add("POST", base, submit_review)
    router.add("GET", base + "/{review_id}", get_review)
    router.add("PUT", base + "/{review_id}/dismissals", dismiss_review)
