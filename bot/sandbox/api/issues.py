"""Issues (which pull requests also are), comments, reactions and labels."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.sandbox.api.repos import repo_json, repo_name, user_or_none
from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    invalid_field,
    missing_field,
    paginate,
    role_rank,
)

REACTIONS = ("+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes")
DEFAULT_COLOR = "ededed"


# -- serializers ---------------------------------------------------------------------------


def label_json(ctx: RequestContext, repo: str, label: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": label["id"],
        "node_id": label["node_id"],
        "url": f"{ctx.base_url}/repos/{repo}/labels/{quote(label['name'])}",
        "name": label["name"],
        "color": label["color"],
        "default": label.get("default", False),
        "description": label.get("description"),
        "archived_by": None,
        "archived_at": None,
    }


def issue_labels(ctx: RequestContext, repo: str, issue: dict[str, Any]) -> list[dict]:
    labels = ctx.store.data["labels"].get(repo, {})
    return [label_json(ctx, repo, labels[n]) for n in issue["labels"] if n in labels]


def association(ctx: RequestContext, repo: str, login: str | None) -> str:
    record = ctx.store.repo(repo)
    if record is not None and record["owner"] == login:
        return "OWNER"
    if login and ctx.store.data["collaborators"].get(repo, {}).get(login):
        return "COLLABORATOR"
    if login and any(login in t["members"] for t in ctx.store.data["teams"].values()):
        return "MEMBER"
    return "NONE"


def reactions_summary(ctx: RequestContext, url: str, rows: list[dict]) -> dict[str, Any]:
    out: dict[str, Any] = {"url": f"{url}/reactions", "total_count": len(rows)}
    for content in REACTIONS:
        out[content] = sum(1 for r in rows if r["content"] == content)
    return out


def issue_json(ctx: RequestContext, repo: str, issue: dict[str, Any]) -> dict[str, Any]:
    api = f"{ctx.base_url}/repos/{repo}"
    number = issue["number"]
    url = f"{api}/issues/{number}"
    kind = "pull" if issue.get("is_pull") else "issues"
    comments = ctx.store.where("comments", repo=repo, issue_number=number)
    assignees = [user_or_none(ctx, a) for a in issue.get("assignees", [])]
    out: dict[str, Any] = {
        "id": issue["id"],
        "node_id": issue["node_id"],
        "url": url,
        "repository_url": api,
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "html_url": f"{ctx.base_url}/{repo}/{kind}/{number}",
        "number": number,
        "state": issue["state"],
        "state_reason": issue.get("state_reason"),
        "title": issue["title"],
        "body": issue.get("body"),
        "user": user_or_none(ctx, issue["user"]),
        "labels": issue_labels(ctx, repo, issue),
        "assignee": assignees[0] if assignees else None,
        "assignees": assignees,
        "milestone": None,
        "locked": issue.get("locked", False),
        "active_lock_reason": None,
        "comments": len(comments),
        "closed_at": issue.get("closed_at"),
        "created_at": issue["created_at"],
        "updated_at": issue["updated_at"],
        "closed_by": user_or_none(ctx, issue.get("closed_by")),
        "author_association": association(ctx, repo, issue["user"]),
        "reactions": reactions_summary(ctx, url, []),
        "performed_via_github_app": via_app(ctx, issue),
    }
    if issue.get("is_pull"):
        pull = ctx.store.get("pulls", f"{repo}#{number}") or {}
        html = f"{ctx.base_url}/{repo}/pull/{number}"
        out["pull_request"] = {
            "url": f"{api}/pulls/{number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": pull.get("merged_at"),
        }
        out["draft"] = bool(pull.get("draft"))
    return out


def via_app(ctx: RequestContext, record: dict[str, Any]) -> dict[str, Any] | None:
    from bot.sandbox.api.apps import via_app_json

    return via_app_json(ctx, record)


# -- lookups and events -------------------------------------------------------------------


def find_issue(ctx: RequestContext, repo: str, number: str | int) -> dict[str, Any]:
    issue = ctx.store.get("issues", f"{repo}#{number}")
    if issue is None:
        raise ApiError(404, "Not Found")
    return issue


def emit_issue_event(
    ctx: RequestContext, repo: str, issue: dict[str, Any], action: str, **extra: Any
) -> None:
    """An `issues` event, or a `pull_request` event when the issue is a PR."""
    if issue.get("is_pull"):  # GitHub Actions' workflows (bot.sandbox.rules.workflows)
        from bot.sandbox.rules import workflows

        pull = ctx.store.get("pulls", f"{repo}#{issue['number']}") or {}
        workflows.triggered(ctx, repo, "pull_request", action, str(pull.get("head_sha") or ""))
    if ctx.deliver is None:
        return
    record = ctx.store.repo(repo)
    assert record is not None
    inst = ctx.store.installation_for(repo)
    if issue.get("is_pull"):
        from bot.sandbox import webhooks
        from bot.sandbox.api.pulls import pull_json

        payload = webhooks.pull_request_payload(
            action,
            pull_json(ctx, repo, issue["number"]),
            repo_json(ctx, record),
            None,
            inst,
            **extra,
        )
        ctx.emit("pull_request", payload, repo)
        return
    from bot.sandbox import webhooks

    payload = {
        "action": action,
        "issue": issue_json(ctx, repo, issue),
        "repository": repo_json(ctx, record),
        **extra,
    }
    payload.update(webhooks.installation_ref(inst))
    ctx.emit("issues", payload, repo)


def is_author_or(ctx: RequestContext, repo: str, login: str, role: str) -> None:
    if ctx.user is not None and ctx.user.login == login:
        return
    if role_rank(ctx.role(repo)) < role_rank(role):
        from bot.sandbox.http import forbidden

        raise forbidden(role, ctx.installation_id is not None)


def change_labels(
    ctx: RequestContext,
    repo: str,
    issue: dict[str, Any],
    add: list[str],
    remove: list[str],
    *,
    emit: bool = True,
) -> None:
    """Add and remove labels on an issue or PR: record `labeled`/`unlabeled` events, fire
    the webhooks. Labels new to the repository are created, as GitHub does."""
    for name in remove:
        if name in issue["labels"]:
            issue["labels"].remove(name)
            _label_changed(ctx, repo, issue, name, "unlabeled", emit)
    for name in dict.fromkeys(add):
        ensure_label(ctx, repo, name)
        if name not in issue["labels"]:
            issue["labels"].append(name)
            _label_changed(ctx, repo, issue, name, "labeled", emit)


def _label_changed(
    ctx: RequestContext, repo: str, issue: dict[str, Any], name: str, action: str, emit: bool
) -> None:
    issue["updated_at"] = ctx.now()
    label = ctx.store.data["labels"].get(repo, {}).get(name)
    shape = label_json(ctx, repo, label) if label else {"name": name, "color": DEFAULT_COLOR}
    record_event(ctx, repo, issue, action, label={"name": name, "color": shape["color"]})
    if emit:
        emit_issue_event(ctx, repo, issue, action, label=shape)


def record_event(
    ctx: RequestContext,
    repo: str,
    issue: dict[str, Any],
    event: str,
    *,
    label: dict[str, Any] | None = None,
    commit_id: str | None = None,
) -> None:
    """An entry of the issue's timeline (``GET .../issues/{number}/events``)."""
    record: dict[str, Any] = {
        "repo": repo,
        "issue_number": issue["number"],
        "event": event,
        "actor": ctx.user.login if ctx.user else None,
        "created_at": ctx.now(),
        "commit_id": commit_id,
    }
    if label is not None:
        record["label"] = label
    ctx.store.insert("issue_events", record)


def event_json(ctx: RequestContext, event: dict[str, Any]) -> dict[str, Any]:
    api = f"{ctx.base_url}/repos/{event['repo']}"
    out = {
        "id": event["id"],
        "node_id": event["node_id"],
        "url": f"{api}/issues/events/{event['id']}",
        "actor": user_or_none(ctx, event.get("actor")),
        "event": event["event"],
        "commit_id": event.get("commit_id"),
        "commit_url": f"{api}/commits/{event['commit_id']}" if event.get("commit_id") else None,
        "created_at": event["created_at"],
        "performed_via_github_app": None,
    }
    if "label" in event:
        out["label"] = event["label"]
    return out


def list_events(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    issue = find_issue(ctx, repo, ctx.params["number"])
    rows = ctx.store.where("issue_events", repo=repo, issue_number=issue["number"])
    return paginate(ctx, [event_json(ctx, e) for e in rows])


# -- issues ----------------------------------------------------------------------------------


def new_issue(
    ctx: RequestContext, repo: str, title: str, body: str | None, *, is_pull: bool = False
) -> dict[str, Any]:
    assert ctx.user is not None
    number = ctx.store.next_number(repo)
    now = ctx.now()
    record = {
        "number": number,
        "repo": repo,
        "title": title,
        "body": body,
        "user": ctx.user.login,
        "state": "open",
        "state_reason": None,
        "labels": [],
        "assignees": [],
        "locked": False,
        "created_at": now,
        "updated_at": now,
        "closed_at": None,
        "closed_by": None,
        "is_pull": is_pull,
        "via_app": ctx.installation_id is not None,
    }
    return ctx.store.insert("issues", record, key=f"{repo}#{number}")


def create_issue(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    body = ctx.json()
    title = body.get("title")
    if not isinstance(title, str) or not title.strip():
        raise missing_field("Issue", "title")
    issue = new_issue(ctx, repo, title, body.get("body"))
    if role_rank(ctx.role(repo)) >= role_rank("triage"):
        change_labels(ctx, repo, issue, label_names(body.get("labels") or []), [], emit=False)
        issue["assignees"] = [a for a in body.get("assignees") or [] if ctx.store.user(a)]
    emit_issue_event(ctx, repo, issue, "opened")
    return Response(201, issue_json(ctx, repo, issue))


def get_issue(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    return Response(200, issue_json(ctx, repo, find_issue(ctx, repo, ctx.params["number"])))


def set_state(
    ctx: RequestContext, repo: str, issue: dict[str, Any], state: str, reason: str | None = None
) -> None:
    """Open or close an issue (or a PR's issue side) and fire the event."""
    if state not in ("open", "closed"):
        raise invalid_field("Issue", "state")
    if state == issue["state"]:
        return
    now = ctx.now()
    issue["state"], issue["updated_at"] = state, now
    if state == "closed":
        issue["closed_at"] = now
        issue["closed_by"] = ctx.user.login if ctx.user else None
        issue["state_reason"] = reason or "completed"
    else:
        issue["closed_at"], issue["closed_by"] = None, None
        issue["state_reason"] = "reopened"
    record_event(ctx, repo, issue, "closed" if state == "closed" else "reopened")
    emit_issue_event(ctx, repo, issue, "closed" if state == "closed" else "reopened")


def update_issue(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    issue = find_issue(ctx, repo, ctx.params["number"])
    body = ctx.json()
    is_author_or(ctx, repo, issue["user"], "triage")
    for key in ("title", "body"):
        if key in body:
            if key == "title" and (not isinstance(body[key], str) or not body[key]):
                raise invalid_field("Issue", "title")
            issue[key] = body[key]
    if "labels" in body:
        names = label_names(body["labels"] or [])
        gone = [n for n in issue["labels"] if n not in names]
        change_labels(ctx, repo, issue, names, gone)
    if "assignees" in body:
        issue["assignees"] = [a for a in body["assignees"] or [] if ctx.store.user(a)]
    issue["updated_at"] = ctx.now()
    if "state" in body:
        set_state(ctx, repo, issue, str(body["state"]), body.get("state_reason"))
    return Response(200, issue_json(ctx, repo, issue))


def list_issues(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    state = ctx.arg("state", "open")
    if state not in ("open", "closed", "all"):
        raise invalid_field("Issue", "state")
    wanted = [n.strip() for n in (ctx.arg("labels") or "").split(",") if n.strip()]
    rows = [
        i
        for i in ctx.store.where("issues", repo=repo)
        if (state == "all" or i["state"] == state)
        and all(n in i["labels"] for n in wanted)
        and (ctx.arg("creator") in (None, i["user"]))
        and (ctx.arg("assignee") in (None, "*") or ctx.arg("assignee") in i["assignees"])
    ]
    reverse = ctx.arg("direction", "desc") != "asc"
    key = "updated_at" if ctx.arg("sort") == "updated" else "number"
    rows.sort(key=lambda i: (i[key], i["number"]), reverse=reverse)
    return paginate(ctx, [issue_json(ctx, repo, i) for i in rows])


# -- labels ------------------------------------------------------------------------------------


def label_names(value: object) -> list[str]:
    """Label names from ``["a"]``, ``[{"name": "a"}]`` or ``{"labels": [...]}``."""
    if isinstance(value, dict):
        value = value.get("labels", [])
    if not isinstance(value, list):
        raise invalid_field("Label", "labels")
    out = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else item
        if not isinstance(name, str) or not name.strip():
            raise invalid_field("Label", "name")
        out.append(name.strip())
    return out


def ensure_label(ctx: RequestContext, repo: str, name: str) -> dict[str, Any]:
    labels = ctx.store.data["labels"].setdefault(repo, {})
    if name not in labels:
        record = {
            "id": ctx.store.next_id(),
            "name": name,
            "color": DEFAULT_COLOR,
            "description": None,
            "default": False,
        }
        record["node_id"] = f"LA_{record['id']}"
        labels[name] = record
    return dict(labels[name])


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}"
    router.add("GET", base + "/issues", list_issues)
    router.add("POST", base + "/issues", create_issue)
    router.add("GET", base + "/issues/{number}", get_issue)
    router.add("PATCH", base + "/issues/{number}", update_issue)
    router.add("GET", base + "/issues/{number}/events", list_events)
