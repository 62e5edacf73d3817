"""Deployments and deployment statuses.

Create checks ``required_contexts`` like GitHub: by default every commit-status context
on the ref must be ``success`` (409 otherwise); ``required_contexts: []`` skips the check.
``auto_merge`` is accepted and ignored (the sandbox never merges the default branch into
the ref). A ``success`` status with ``auto_inactive`` (default true) marks the earlier
non-transient deployments of the same environment ``inactive``. Emits ``deployment``
and ``deployment_status`` webhooks.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import webhooks
from bot.sandbox.api.repos import repo_json, user_or_none
from bot.sandbox.api.statuses import statuses_for
from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    invalid_field,
    missing_field,
    paginate,
)

STATES = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")


def _repo(ctx: RequestContext, role: str = "read") -> str:
    full = f"{ctx.params['owner']}/{ctx.params['repo']}"
    ctx.require(full, role)
    return full


def _app_json(ctx: RequestContext, record: dict[str, Any]) -> dict[str, Any] | None:
    if not record.get("via_app"):
        return None
    from bot.sandbox import appauth
    from bot.sandbox.api.apps import app_json

    return app_json(ctx, appauth.ensure_app(ctx.store))


def deployment_json(ctx: RequestContext, dep: dict[str, Any]) -> dict[str, Any]:
    api = f"{ctx.base_url}/repos/{dep['repo']}"
    return {
        "url": f"{api}/deployments/{dep['id']}",
        "id": dep["id"],
        "node_id": dep["node_id"],
        "sha": dep["sha"],
        "ref": dep["ref"],
        "task": dep["task"],
        "payload": dep.get("payload") if dep.get("payload") is not None else {},
        "original_environment": dep["environment"],
        "environment": dep["environment"],
        "description": dep.get("description"),
        "creator": user_or_none(ctx, dep.get("creator")),
        "created_at": dep["created_at"],
        "updated_at": dep["updated_at"],
        "statuses_url": f"{api}/deployments/{dep['id']}/statuses",
        "repository_url": api,
        "transient_environment": bool(dep.get("transient_environment")),
        "production_environment": bool(dep.get("production_environment")),
        "performed_via_github_app": _app_json(ctx, dep),
    }


def deployment_status_json(ctx: RequestContext, status: dict[str, Any]) -> dict[str, Any]:
    api = f"{ctx.base_url}/repos/{status['repo']}"
    dep_url = f"{api}/deployments/{status['deployment_id']}"
    return {
        "url": f"{dep_url}/statuses/{status['id']}",
        "id": status["id"],
        "node_id": status["node_id"],
        "state": status["state"],
        "creator": user_or_none(ctx, status.get("creator")),
        "description": status.get("description") or "",
        "environment": status.get("environment") or "",
        "target_url": status.get("log_url") or "",
        "log_url": status.get("log_url") or "",
        "environment_url": status.get("environment_url") or "",
        "created_at": status["created_at"],
        "updated_at": status["updated_at"],
        "deployment_url": dep_url,
        "repository_url": api,
        "performed_via_github_app": _app_json(ctx, status),
    }


def _failing_contexts(
    ctx: RequestContext, full: str, sha: str, required: list[str] | None
) -> list[str]:
    latest: dict[str, str] = {}
    for status in statuses_for(ctx, full, sha):
        latest.setdefault(status["context"], status["state"])
    wanted = list(latest) if required is None else required
    return [c for c in wanted if latest.get(c) != "success"]


def create_deployment(ctx: RequestContext) -> Response:
    full = _repo(ctx, "write")
    body = ctx.json()
    ref = body.get("ref")
    if not ref:
        raise missing_field("Deployment", "ref")
    sha = ctx.git.resolve(full, str(ref))
    if sha is None:
        raise ApiError(422, f"No ref found for: {ref}")
    required = body.get("required_contexts")
    if required is not None and not isinstance(required, list):
        raise invalid_field("Deployment", "required_contexts")
    failing = _failing_contexts(ctx, full, sha, required)
    if failing:
        raise ApiError(409, f"Conflict: Commit status checks failed for {ref}.",
                       [{"contexts": [{"context": c, "state": "missing"} for c in failing],
                         "resource": "Deployment", "field": "required_contexts",
                         "code": "invalid"}])  # fmt: skip
    environment = str(body.get("environment") or "production")
    now = ctx.now()
    record = ctx.store.insert(
        "deployments",
        {"repo": full, "sha": sha, "ref": str(ref), "task": str(body.get("task") or "deploy"),
         "environment": environment, "payload": body.get("payload"),
         "description": body.get("description"),
         "creator": ctx.user.login if ctx.user else None,
         "transient_environment": bool(body.get("transient_environment", False)),
         "production_environment": bool(body.get("production_environment",
                                                 environment == "production")),
         "via_app": ctx.installation_id is not None, "created_at": now, "updated_at": now},
    )  # fmt: skip
    out = deployment_json(ctx, record)
    payload = webhooks.deployment_payload(
        out, repo_json(ctx, ctx.store.repo(full) or {}), None, ctx.store.installation_for(full)
    )
    ctx.emit("deployment", payload, full)
    return Response(201, out)


def _matches(dep: dict[str, Any], ctx: RequestContext, full: str) -> bool:
    if dep["repo"] != full:
        return False
    for name in ("sha", "ref", "task", "environment"):
        wanted = ctx.arg(name)
        if wanted not in (None, "", "none") and dep.get(name) != wanted:
            return False
    return True


def list_deployments(ctx: RequestContext) -> Response:
    full = _repo(ctx)
    rows = [d for d in ctx.store.data["deployments"].values() if _matches(d, ctx, full)]
    rows.sort(key=lambda d: d["id"], reverse=True)
    return paginate(ctx, [deployment_json(ctx, d) for d in rows])


def _deployment(ctx: RequestContext, full: str) -> dict[str, Any]:
    dep = ctx.store.get("deployments", ctx.params["deployment_id"])
    if dep is None or dep["repo"] != full:
        raise ApiError(404, "Not Found")
    return dep


def get_deployment(ctx: RequestContext) -> Response:
    full = _repo(ctx)
    return Response(200, deployment_json(ctx, _deployment(ctx, full)))


def _add_status(ctx: RequestContext, dep: dict[str, Any], fields: dict[str, Any]) -> dict:
    now = ctx.now()
    record = {"repo": dep["repo"], "deployment_id": dep["id"], "environment": dep["environment"],
              "creator": ctx.user.login if ctx.user else None,
              "via_app": ctx.installation_id is not None, "created_at": now,
              "updated_at": now, **fields}  # fmt: skip
    dep["updated_at"] = now
    return ctx.store.insert("deployment_statuses", record)


def _deactivate_others(ctx: RequestContext, dep: dict[str, Any]) -> None:
    for other in ctx.store.data["deployments"].values():
        if (other["repo"], other["environment"]) != (dep["repo"], dep["environment"]):
            continue
        if other["id"] == dep["id"] or other.get("transient_environment"):
            continue
        latest = _latest_state(ctx, other)
        if latest not in (None, "inactive"):
            _add_status(ctx, other, {"state": "inactive", "description": ""})


def _latest_state(ctx: RequestContext, dep: dict[str, Any]) -> str | None:
    rows = [s for s in ctx.store.data["deployment_statuses"].values()
            if s["deployment_id"] == dep["id"]]  # fmt: skip
    return max(rows, key=lambda s: s["id"])["state"] if rows else None


def create_deployment_status(ctx: RequestContext) -> Response:
    full = _repo(ctx, "write")
    dep = _deployment(ctx, full)
    body = ctx.json()
    state = body.get("state")
    if state is None:
        raise missing_field("DeploymentStatus", "state")
    if state not in STATES:
        raise invalid_field("DeploymentStatus", "state")
    if body.get("environment"):
        dep["environment"] = str(body["environment"])
    fields = {
        "state": state,
        "description": str(body.get("description") or "")[:140],
        "log_url": body.get("log_url") or body.get("target_url") or "",
        "environment_url": body.get("environment_url") or "",
        "environment": dep["environment"],
    }
    record = _add_status(ctx, dep, fields)
    if state == "success" and body.get("auto_inactive", True):
        _deactivate_others(ctx, dep)
    out = deployment_status_json(ctx, record)
    payload = webhooks.deployment_status_payload(
        out, deployment_json(ctx, dep), repo_json(ctx, ctx.store.repo(full) or {}), None,
        ctx.store.installation_for(full),
    )  # fmt: skip
    ctx.emit("deployment_status", payload, full)
    return Response(201, out)


def list_deployment_statuses(ctx: RequestContext) -> Response:
    full = _repo(ctx)
    dep = _deployment(ctx, full)
    rows = [s for s in ctx.store.data["deployment_statuses"].values()
            if s["deployment_id"] == dep["id"]]  # fmt: skip
    rows.sort(key=lambda s: s["id"], reverse=True)
    return paginate(ctx, [deployment_status_json(ctx, s) for s in rows])


def get_deployment_status(ctx: RequestContext) -> Response:
    full = _repo(ctx)
    dep = _deployment(ctx, full)
    status = ctx.store.get("deployment_statuses", ctx.params["status_id"])
    if status is None or status["deployment_id"] != dep["id"]:
        raise ApiError(404, "Not Found")
    return Response(200, deployment_status_json(ctx, status))


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/deployments"
    router.add("POST", base, create_deployment)
    router.add("GET", base, list_deployments)
    router.add("GET", f"{base}/{{deployment_id}}", get_deployment)
    router.add("POST", f"{base}/{{deployment_id}}/statuses", create_deployment_status)
    router.add("GET", f"{base}/{{deployment_id}}/statuses", list_deployment_statuses)
    router.add("GET", f"{base}/{{deployment_id}}/statuses/{{status_id}}", get_deployment_status)
