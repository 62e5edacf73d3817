"""Commit statuses: create, list for a ref, and the combined status of a ref.

The combined state is GitHub's: ``failure`` if the latest status of any context is
``error`` or ``failure``, ``pending`` if any is ``pending`` or there are none, else
``success``. Creating a status emits the ``status`` webhook.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import webhooks
from bot.sandbox.api.repos import repo_json, user_or_none
from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    invalid_field,
    missing_field,
    paginate,
)

STATES = ("error", "failure", "pending", "success")
MAX_PER_CONTEXT = 1000


def _repo(ctx: RequestContext, role: str = "read") -> str:
    full = f"{ctx.params['owner']}/{ctx.params['repo']}"
    ctx.require(full, role)
    return full


def _sha(ctx: RequestContext, full: str, ref: str) -> str:
    sha = ctx.git.resolve(full, ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}")
    return sha


def status_json(ctx: RequestContext, status: dict[str, Any]) -> dict[str, Any]:
    creator = user_or_none(ctx, status.get("creator"))
    return {
        "url": f"{ctx.base_url}/repos/{status['repo']}/statuses/{status['sha']}",
        "avatar_url": (creator or {}).get("avatar_url"),
        "id": status["id"],
        "node_id": status["node_id"],
        "state": status["state"],
        "description": status.get("description") or None,
        "target_url": status.get("target_url"),
        "context": status["context"],
        "created_at": status["created_at"],
        "updated_at": status["updated_at"],
        "creator": creator,
    }


def statuses_for(ctx: RequestContext, full: str, sha: str) -> list[dict[str, Any]]:
    """Every status of a commit, newest first."""
    rows = [s for s in ctx.store.data["statuses"].values() if s["repo"] == full and s["sha"] == sha]
    return sorted(rows, key=lambda s: s["id"], reverse=True)


def combined_state(latest: list[str]) -> str:
    """GitHub's combined state from the latest state of each context (pure)."""
    if any(s in ("error", "failure") for s in latest):
        return "failure"
    if not latest or any(s == "pending" for s in latest):
        return "pending"
    return "success"


def create_status(ctx: RequestContext) -> Response:
    full = _repo(ctx, "write")
    sha = _sha(ctx, full, ctx.params["sha"])
    body = ctx.json()
    state = body.get("state")
    if state is None:
        raise missing_field("Status", "state")
    if state not in STATES:
        raise invalid_field("Status", "state")
    context = str(body.get("context") or "default")
    same = [s for s in statuses_for(ctx, full, sha) if s["context"] == context]
    if len(same) >= MAX_PER_CONTEXT:
        raise ApiError(422, "Validation Failed", [{"resource": "Status", "code": "custom",
                       "message": "This SHA and context has reached the maximum number of "
                       "statuses."}])  # fmt: skip
    now = ctx.now()
    record = ctx.store.insert(
        "statuses",
        {"repo": full, "sha": sha, "state": state, "context": context,
         "description": body.get("description"), "target_url": body.get("target_url"),
         "creator": ctx.user.login if ctx.user else None, "created_at": now,
         "updated_at": now},
    )  # fmt: skip
    out = status_json(ctx, record)
    _emit(ctx, full, sha, out)
    return Response(201, out)


def _emit(ctx: RequestContext, full: str, sha: str, status: dict[str, Any]) -> None:
    from bot.sandbox.api.compare import commit_json

    commit = ctx.git.read_commit(full, sha)
    if commit is None or ctx.deliver is None:
        return
    branches = [
        {"name": ref.removeprefix("refs/heads/"),
         "commit": {"sha": s, "url": f"{ctx.base_url}/repos/{full}/commits/{s}"},
         "protected": False}
        for ref, s, _ in ctx.git.refs(full, "refs/heads/") if s == sha
    ]  # fmt: skip
    payload = webhooks.status_payload(
        status, commit_json(ctx, full, commit), repo_json(ctx, ctx.store.repo(full) or {}),
        None, ctx.store.installation_for(full), branches=branches, name=full,
    )  # fmt: skip
    ctx.emit("status", payload, full)


def list_statuses(ctx: RequestContext) -> Response:
    full = _repo(ctx)
    sha = _sha(ctx, full, ctx.params["ref"])
    return paginate(ctx, [status_json(ctx, s) for s in statuses_for(ctx, full, sha)])


def combined_status(ctx: RequestContext) -> Response:
    full = _repo(ctx)
    sha = _sha(ctx, full, ctx.params["ref"])
    latest: dict[str, dict[str, Any]] = {}
    for status in statuses_for(ctx, full, sha):
        latest.setdefault(status["context"], status)
    rows = sorted(latest.values(), key=lambda s: s["id"])
    statuses = [
        {k: v for k, v in status_json(ctx, s).items() if k != "creator"} | {"required": False}
        for s in rows
    ]
    repository = repo_json(ctx, ctx.store.repo(full) or {})
    page = paginate(ctx, statuses, default=100)
    page.body = {
        "state": combined_state([s["state"] for s in rows]),
        "statuses": page.body,
        "sha": sha,
        "total_count": len(statuses),
        "repository": repository,
        "commit_url": f"{ctx.base_url}/repos/{full}/commits/{sha}",
        "url": f"{ctx.base_url}/repos/{full}/commits/{sha}/status",
    }
    return page


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}"
    router.add("POST", f"{base}/statuses/{{sha}}", create_status)
    router.add("GET", f"{base}/commits/{{ref+}}/statuses", list_statuses)
    router.add("GET", f"{base}/commits/{{ref+}}/status", combined_status)
