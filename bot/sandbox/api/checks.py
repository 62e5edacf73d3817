"""Check runs and check suites, with GitHub's limits.

Check runs: create, update (annotations are appended, at most 50 per request, else 422;
output title/summary/text at most 65,535 characters, else 422), get, list for a ref
(``check_name``, ``status``, ``filter=latest|all``, ``app_id``), list annotations,
rerequest. Check suites: one per (repository, head sha, app), created with the first run
or explicitly; get, list for a ref, list runs, rerequest. Webhooks ``check_run`` and
``check_suite`` are emitted through `RequestContext.emit`.

Runs created with an installation token belong to the sandbox App; runs created with a
user's token (how a test plays "CI") belong to a GitHub-Actions-like App.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import appauth, webhooks
from bot.sandbox.api._check_fields import apply_fields
from bot.sandbox.api.apps import app_json
from bot.sandbox.api.repos import repo_json
from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    invalid_field,
    missing_field,
    paginate,
)

CI_APP_ID = 2  # the "CI" App of `Scenario.set_check`; user-created runs belong to it too


def _repo(ctx: RequestContext, role: str = "read") -> tuple[str, dict[str, Any]]:
    full = f"{ctx.params['owner']}/{ctx.params['repo']}"
    return full, ctx.require(full, role)


def _app_id(ctx: RequestContext) -> int:
    if ctx.installation_id is not None:
        return appauth.app_id(ctx.store)
    return CI_APP_ID


def _app(ctx: RequestContext, app_id: int) -> dict[str, Any]:
    """The App owning a run: the sandbox's own App, or a stand-in "CI" App."""
    if app_id == appauth.app_id(ctx.store):
        return app_json(ctx, appauth.ensure_app(ctx.store))
    owner = ctx.store.user_json("acme", ctx.base_url) or ctx.store.user_json(
        appauth.BOT_LOGIN, ctx.base_url
    )
    return {
        "id": app_id, "slug": f"sandbox-ci-{app_id}", "node_id": f"A_sandbox_ci{app_id}",
        "client_id": f"Iv1.ci{app_id:06d}", "owner": owner, "name": f"Sandbox CI {app_id}",
        "description": "Continuous integration", "external_url": f"{ctx.base_url}/ci",
        "html_url": f"{ctx.base_url}/apps/sandbox-ci-{app_id}",
        "created_at": "2018-07-30T09:30:17Z", "updated_at": "2019-12-10T19:04:12Z",
        "permissions": {"checks": "write", "contents": "read", "statuses": "write"},
        "events": ["check_run", "check_suite", "push"],
    }  # fmt: skip


# -- serializers ------------------------------------------------------------------------


def _pull_requests(ctx: RequestContext, full: str, sha: str) -> list[dict[str, Any]]:
    out = []
    for key, pull in ctx.store.data["pulls"].items():
        issue = ctx.store.data["issues"].get(key, {})
        if pull["repo"] != full or pull["head_sha"] != sha or issue.get("state") != "open":
            continue
        repo = ctx.store.repo(full) or {}
        mini_repo = {"id": repo.get("id"), "url": f"{ctx.base_url}/repos/{full}",
                     "name": repo.get("name")}  # fmt: skip
        base_sha = ctx.git.resolve(full, pull["base_ref"]) or ""
        out.append(
            {
                "id": pull["id"],
                "number": pull["number"],
                "url": f"{ctx.base_url}/repos/{full}/pulls/{pull['number']}",
                "head": {"ref": pull["head_ref"], "sha": pull["head_sha"], "repo": mini_repo},
                "base": {"ref": pull["base_ref"], "sha": base_sha, "repo": mini_repo},
            }
        )
    return out


def check_run_json(ctx: RequestContext, run: dict[str, Any]) -> dict[str, Any]:
    full = run["repo"]
    api = f"{ctx.base_url}/repos/{full}/check-runs/{run['id']}"
    output = run["output"]
    return {
        "id": run["id"],
        "head_sha": run["head_sha"],
        "node_id": run["node_id"],
        "external_id": run.get("external_id") or "",
        "url": api,
        "html_url": f"{ctx.base_url}/{full}/runs/{run['id']}",
        "details_url": run.get("details_url") or f"{ctx.base_url}/{full}/runs/{run['id']}",
        "status": run["status"],
        "conclusion": run.get("conclusion"),
        "started_at": run.get("started_at"),
        "completed_at": run.get("completed_at"),
        "output": {
            "title": output.get("title"),
            "summary": output.get("summary"),
            "text": output.get("text"),
            "annotations_count": output.get("annotations_count", 0),
            "annotations_url": f"{api}/annotations",
        },
        "name": run["name"],
        "check_suite": {"id": run["check_suite_id"]} if run.get("check_suite_id") else None,
        "app": _app(ctx, run["app_id"]),
        "pull_requests": _pull_requests(ctx, full, run["head_sha"]),
    }


def check_suite_json(ctx: RequestContext, suite: dict[str, Any]) -> dict[str, Any]:
    full = suite["repo"]
    runs = [r for r in ctx.store.data["check_runs"].values() if r["check_suite_id"] == suite["id"]]
    status, conclusion = _suite_state(runs, suite)
    commit = ctx.git.read_commit(full, suite["head_sha"])
    head_commit = None
    if commit is not None:
        head_commit = {
            "id": commit.sha,
            "tree_id": commit.tree,
            "message": commit.message,
            "timestamp": _iso(commit.committer.date),
            "author": {"name": commit.author.name, "email": commit.author.email},
            "committer": {"name": commit.committer.name, "email": commit.committer.email},
        }
    repo = repo_json(ctx, ctx.store.repo(full) or {})
    return {
        "id": suite["id"],
        "node_id": suite["node_id"],
        "head_branch": suite.get("head_branch"),
        "head_sha": suite["head_sha"],
        "status": status,
        "conclusion": conclusion,
        "url": f"{ctx.base_url}/repos/{full}/check-suites/{suite['id']}",
        "before": None,
        "after": suite["head_sha"],
        "pull_requests": _pull_requests(ctx, full, suite["head_sha"]),
        "app": _app(ctx, suite["app_id"]),
        "repository": repo,
        "created_at": suite["created_at"],
        "updated_at": suite["updated_at"],
        "head_commit": head_commit,
        "latest_check_runs_count": len(runs),
        "check_runs_url": f"{ctx.base_url}/repos/{full}/check-suites/{suite['id']}/check-runs",
        "rerequestable": True,
        "runs_rerequestable": True,
    }


def _iso(git_date: str) -> str:
    """git's ``<epoch> <tz>`` (or an ISO instant) as GitHub's ``...Z`` timestamp."""
    from datetime import UTC, datetime

    head = git_date.split(" ")[0]
    if head.isdigit():
        return datetime.fromtimestamp(int(head), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return git_date


def _suite_state(runs: list[dict[str, Any]], suite: dict[str, Any]) -> tuple[str, str | None]:
    """Status and conclusion of a suite from its runs (worst conclusion wins)."""
    if not runs:
        return str(suite.get("status") or "queued"), suite.get("conclusion")
    if any(r["status"] != "completed" for r in runs):
        active = any(r["status"] == "in_progress" for r in runs)
        return ("in_progress" if active else "queued"), None
    order = ["action_required", "cancelled", "timed_out", "failure", "stale", "neutral",
             "skipped", "success"]  # fmt: skip
    conclusions = [r.get("conclusion") or "neutral" for r in runs]
    return "completed", min(conclusions, key=lambda c: order.index(c) if c in order else 5)


# -- storage helpers ---------------------------------------------------------------------


def _suite_for(ctx: RequestContext, full: str, sha: str, app_id: int) -> dict[str, Any]:
    for suite in ctx.store.data["check_suites"].values():
        if suite["repo"] == full and suite["head_sha"] == sha and suite["app_id"] == app_id:
            return suite
    branch = next(
        (ref.removeprefix("refs/heads/") for ref, s, _ in ctx.git.refs(full, "refs/heads/")
         if s == sha),
        None,
    )  # fmt: skip
    record = {"repo": full, "head_sha": sha, "head_branch": branch, "status": "queued",
              "conclusion": None, "app_id": app_id, "created_at": ctx.now(),
              "updated_at": ctx.now()}  # fmt: skip
    return ctx.store.insert("check_suites", record)


def _run(ctx: RequestContext, full: str) -> dict[str, Any]:
    run = ctx.store.get("check_runs", ctx.params["check_run_id"])
    if run is None or run["repo"] != full:
        raise ApiError(404, "Not Found")
    return run


def _head_sha(ctx: RequestContext, full: str, body: dict[str, Any]) -> str:
    sha = body.get("head_sha")
    if not sha:
        raise missing_field("CheckRun", "head_sha")
    if ctx.git.object_type(full, str(sha)) != "commit":
        raise ApiError(422, f"No commit found for SHA: {sha}")
    return str(ctx.git.resolve(full, str(sha)) or sha)


def _emit_run(ctx: RequestContext, action: str, run: dict[str, Any], **extra: Any) -> None:
    full = run["repo"]
    payload = webhooks.check_run_payload(
        action,
        check_run_json(ctx, run) | {"check_suite": _suite_brief(ctx, run)},
        repo_json(ctx, ctx.store.repo(full) or {}),
        None,
        ctx.store.installation_for(full),
        **extra,
    )
    ctx.emit("check_run", payload, full)


def _suite_brief(ctx: RequestContext, run: dict[str, Any]) -> dict[str, Any] | None:
    suite = ctx.store.get("check_suites", run["check_suite_id"] or 0)
    if suite is None:
        return None
    return {k: v for k, v in check_suite_json(ctx, suite).items() if k != "repository"}


def _emit_suite_if_done(ctx: RequestContext, run: dict[str, Any]) -> None:
    suite = ctx.store.get("check_suites", run["check_suite_id"] or 0)
    if suite is None:
        return
    body = check_suite_json(ctx, suite)
    if body["status"] != "completed":
        return
    full = run["repo"]
    repository = body.pop("repository")
    payload = webhooks.check_suite_payload(
        "completed", body, repository, None, ctx.store.installation_for(full)
    )
    ctx.emit("check_suite", payload, full)


# -- handlers ---------------------------------------------------------------------------


def create_run(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx, "write")
    body = ctx.json()
    if not body.get("name"):
        raise missing_field("CheckRun", "name")
    sha = _head_sha(ctx, full, body)
    app_id = _app_id(ctx)
    suite = _suite_for(ctx, full, sha, app_id)
    run: dict[str, Any] = {
        "repo": full, "head_sha": sha, "name": str(body["name"]), "status": "queued",
        "conclusion": None, "started_at": ctx.now(), "completed_at": None,
        "external_id": None, "details_url": None, "app_id": app_id,
        "check_suite_id": suite["id"], "annotations": [], "actions": [],
        "output": {"title": None, "summary": None, "text": None, "annotations_count": 0},
    }  # fmt: skip
    apply_fields(ctx, run, body)
    ctx.store.insert("check_runs", run)
    suite["updated_at"] = ctx.now()
    _emit_run(ctx, "created", run)
    if run["status"] == "completed":
        _emit_suite_if_done(ctx, run)
    return Response(201, check_run_json(ctx, run))


def update_run(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx, "write")
    run = _run(ctx, full)
    body = ctx.json()
    was_completed = run["status"] == "completed"
    apply_fields(ctx, run, body)
    if run["status"] == "completed" and not was_completed:
        _emit_run(ctx, "completed", run)
        _emit_suite_if_done(ctx, run)
    return Response(200, check_run_json(ctx, run))


def get_run(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx)
    return Response(200, check_run_json(ctx, _run(ctx, full)))


def list_annotations(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx)
    run = _run(ctx, full)
    blob = f"{ctx.base_url}/{full}/blob/{run['head_sha']}"
    items = [{**a, "blob_href": f"{blob}/{a['path']}"} for a in run.get("annotations", [])]
    return paginate(ctx, items)


def rerequest_run(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx, "write")
    run = _run(ctx, full)
    _emit_run(ctx, "rerequested", run)
    return Response(201, {})


def _filter_runs(ctx: RequestContext, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    name, status = ctx.arg("check_name"), ctx.arg("status")
    app_id = ctx.arg("app_id")
    if status is not None and status not in ("queued", "in_progress", "completed"):
        raise invalid_field("CheckRun", "status")
    runs = [
        r for r in runs
        if (name is None or r["name"] == name)
        and (status is None or r["status"] == status)
        and (app_id is None or str(r["app_id"]) == app_id)
    ]  # fmt: skip
    if ctx.arg("filter", "latest") == "latest":
        latest: dict[tuple[str, int], dict[str, Any]] = {}
        for run in runs:
            latest[(run["name"], run["app_id"])] = run
        runs = list(latest.values())
    return sorted(runs, key=lambda r: r["id"], reverse=True)


def _wrapped(ctx: RequestContext, key: str, items: list[dict[str, Any]]) -> Response:
    page = paginate(ctx, items)
    page.body = {"total_count": len(items), key: page.body}
    return page


def list_runs_for_ref(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx)
    sha = ctx.git.resolve(full, ctx.params["ref"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ctx.params['ref']}")
    runs = [r for r in ctx.store.data["check_runs"].values()
            if r["repo"] == full and r["head_sha"] == sha]  # fmt: skip
    items = [check_run_json(ctx, r) for r in _filter_runs(ctx, runs)]
    return _wrapped(ctx, "check_runs", items)


def list_runs_in_suite(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx)
    suite = _suite(ctx, full)
    runs = [r for r in ctx.store.data["check_runs"].values()
            if r["check_suite_id"] == suite["id"]]  # fmt: skip
    items = [check_run_json(ctx, r) for r in _filter_runs(ctx, runs)]
    return _wrapped(ctx, "check_runs", items)


def _suite(ctx: RequestContext, full: str) -> dict[str, Any]:
    suite = ctx.store.get("check_suites", ctx.params["check_suite_id"])
    if suite is None or suite["repo"] != full:
        raise ApiError(404, "Not Found")
    return suite


def create_suite(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx, "write")
    body = ctx.json()
    sha = _head_sha(ctx, full, body)
    app_id = _app_id(ctx)
    existing = [
        s
        for s in ctx.store.data["check_suites"].values()
        if s["repo"] == full and s["head_sha"] == sha and s["app_id"] == app_id
    ]
    suite = _suite_for(ctx, full, sha, app_id)
    return Response(200 if existing else 201, check_suite_json(ctx, suite))


def get_suite(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx)
    return Response(200, check_suite_json(ctx, _suite(ctx, full)))


def rerequest_suite(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx, "write")
    body = check_suite_json(ctx, _suite(ctx, full))
    repository = body.pop("repository")
    payload = webhooks.check_suite_payload(
        "rerequested", body, repository, None, ctx.store.installation_for(full)
    )
    ctx.emit("check_suite", payload, full)
    return Response(201, {})


def list_suites_for_ref(ctx: RequestContext) -> Response:
    full, _ = _repo(ctx)
    sha = ctx.git.resolve(full, ctx.params["ref"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ctx.params['ref']}")
    suites = [s for s in ctx.store.data["check_suites"].values()
              if s["repo"] == full and s["head_sha"] == sha]  # fmt: skip
    app_id = ctx.arg("app_id")
    if app_id is not None:
        suites = [s for s in suites if str(s["app_id"]) == app_id]
    return _wrapped(ctx, "check_suites", [check_suite_json(ctx, s) for s in suites])


def request_action(server: Any, check_run_id: int, identifier: str, login: str) -> None:
    """A user pressed one of a check run's action buttons: emit
    ``check_run.requested_action`` as GitHub does (a scenario helper; no HTTP call)."""
    from bot.sandbox.http import User

    ctx = server.context("POST", "/", {}, b"")
    record = server.store.user(login)
    if record is None:
        raise KeyError(f"no sandbox user {login!r}")
    ctx.user = User(record["login"], record["id"], record["type"], record["site_admin"])
    with server.store.read():
        run = ctx.store.get("check_runs", check_run_id)
        if run is None:
            raise ApiError(404, "Not Found")
        known = {a.get("identifier") for a in run.get("actions", [])}
        if identifier not in known:
            raise ApiError(422, f"unknown action {identifier!r}; the run offers {sorted(known)}")
        _emit_run(ctx, "requested_action", run, requested_action={"identifier": identifier})


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}"
    router.add("POST", f"{base}/check-runs", create_run)
    router.add("GET", f"{base}/check-runs/{{check_run_id}}", get_run)
    router.add("PATCH", f"{base}/check-runs/{{check_run_id}}", update_run)
    router.add("GET", f"{base}/check-runs/{{check_run_id}}/annotations", list_annotations)
    router.add("POST", f"{base}/check-runs/{{check_run_id}}/rerequest", rerequest_run)
    router.add("GET", f"{base}/commits/{{ref+}}/check-runs", list_runs_for_ref)
    router.add("POST", f"{base}/check-suites", create_suite)
    router.add("GET", f"{base}/check-suites/{{check_suite_id}}", get_suite)
    router.add("GET", f"{base}/check-suites/{{check_suite_id}}/check-runs", list_runs_in_suite)
    router.add("POST", f"{base}/check-suites/{{check_suite_id}}/rerequest", rerequest_suite)
    router.add("GET", f"{base}/commits/{{ref+}}/check-suites", list_suites_for_ref)
