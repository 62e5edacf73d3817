"""Labels: a repository's labels and the labels of an issue or pull request."""

from __future__ import annotations

from bot.sandbox.api.issues import (
    DEFAULT_COLOR,
    change_labels,
    ensure_label,
    find_issue,
    issue_labels,
    label_json,
    label_names,
)
from bot.sandbox.api.repos import repo_name
from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    invalid_field,
    missing_field,
    paginate,
)
from bot.sandbox.rules.labels import canonical as canonical_label


def add_labels(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "triage")
    issue = find_issue(ctx, repo, ctx.params["number"])
    raw = ctx.body.strip()
    import json

    try:
        value = json.loads(raw) if raw else []
    except ValueError:
        raise ApiError(400, "Problems parsing JSON") from None
    names = [canonical_label(ctx, repo, n) for n in label_names(value)]  # case-insensitive
    if not names:
        raise missing_field("Label", "labels")
    gone = [n for n in issue["labels"] if n not in names] if ctx.method == "PUT" else []
    change_labels(ctx, repo, issue, names, gone)
    return Response(200, issue_labels(ctx, repo, issue))


def remove_label(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "triage")
    issue = find_issue(ctx, repo, ctx.params["number"])
    name = canonical_label(ctx, repo, ctx.params["name"])  # case-insensitive
    if name not in issue["labels"]:
        raise ApiError(404, "Label does not exist")
    change_labels(ctx, repo, issue, [], [name])
    return Response(200, issue_labels(ctx, repo, issue))


def remove_all_labels(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "triage")
    issue = find_issue(ctx, repo, ctx.params["number"])
    change_labels(ctx, repo, issue, [], list(issue["labels"]))
    return Response(204)


def list_issue_labels(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    issue = find_issue(ctx, repo, ctx.params["number"])
    return paginate(ctx, issue_labels(ctx, repo, issue))


def list_repo_labels(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    labels = ctx.store.data["labels"].get(repo, {})
    return paginate(ctx, [label_json(ctx, repo, lb) for lb in labels.values()])


def get_repo_label(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    label = ctx.store.data["labels"].get(repo, {}).get(ctx.params["name"])
    if label is None:
        raise ApiError(404, "Not Found")
    return Response(200, label_json(ctx, repo, label))


def create_repo_label(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    body = ctx.json()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise missing_field("Label", "name")
    color = str(body.get("color") or DEFAULT_COLOR).lstrip("#")
    if len(color) != 6 or any(c not in "0123456789abcdefABCDEF" for c in color):
        raise invalid_field("Label", "color")
    labels = ctx.store.data["labels"].setdefault(repo, {})
    if name in labels:
        raise ApiError(
            422,
            "Validation Failed",
            [{"resource": "Label", "code": "already_exists", "field": "name"}],
        )
    ensure_label(ctx, repo, name)
    labels[name].update({"color": color.lower(), "description": body.get("description")})
    return Response(201, label_json(ctx, repo, labels[name]))


def update_repo_label(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    labels = ctx.store.data["labels"].get(repo, {})
    label = labels.get(ctx.params["name"])
    if label is None:
        raise ApiError(404, "Not Found")
    body = ctx.json()
    for key in ("color", "description"):
        if key in body:
            label[key] = body[key]
    return Response(200, label_json(ctx, repo, label))


def delete_repo_label(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    labels = ctx.store.data["labels"].get(repo, {})
    name = ctx.params["name"]
    if name not in labels:
        raise ApiError(404, "Not Found")
    del labels[name]
    for issue in ctx.store.where("issues", repo=repo):
        if name in issue["labels"]:
            issue["labels"].remove(name)
    return Response(204)


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}"
    router.add("GET", base + "/issues/{number}/labels", list_issue_labels)
    router.add("POST", base + "/issues/{number}/labels", add_labels)
    router.add("PUT", base + "/issues/{number}/labels", add_labels)
    router.add("DELETE", base + "/issues/{number}/labels", remove_all_labels)
    router.add("DELETE", base + "/issues/{number}/labels/{name+}", remove_label)
    router.add("GET", base + "/labels", list_repo_labels)
    router.add("POST", base + "/labels", create_repo_label)
    router.add("GET", base + "/labels/{name+}", get_repo_label)
    router.add("PATCH", base + "/labels/{name+}", update_repo_label)
    router.add("DELETE", base + "/labels/{name+}", delete_repo_label)
