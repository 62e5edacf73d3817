"""Releases and annotated tags, as GitHub's REST API answers them.

- ``POST /git/tags`` writes a real annotated tag object (``git hash-object -t tag``); like
  GitHub it makes no ref: ``POST /git/refs`` with ``refs/tags/<name>`` does. ``GET
  /git/tags/{sha}`` reads one back.
- Releases: create, update (``PATCH``), get by id, get a *published* one by tag (a draft
  answers 404 there, as on GitHub), the latest, and the list (drafts only for users with
  push access). Publishing a release whose tag does not exist creates a lightweight tag at
  ``target_commitish``, as GitHub does; a draft makes no tag.
- **Latest**: publishing a full release (not draft, not prerelease) makes it the latest
  unless ``make_latest`` is ``"false"``; ``"legacy"`` picks the newest full release by
  ``created_at``. A release that stops qualifying (made a draft or a prerelease), or the
  latest one updated with ``make_latest: "false"``, hands "latest" back to the newest other
  full release (the sandbox's reading; GitHub documents only that drafts and prereleases
  cannot be latest).
Releases live in the store's ``extra`` document (``releases``, by id; ``latest_release``,
by repository). Permissions: ``contents: write`` for every write (`bot.sandbox.rules`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.sandbox.api.repos import person_of, repo_name, user_or_none
from bot.sandbox.gitstore import is_sha
from bot.sandbox.http import (
    ApiError,
    RequestContext,
    Response,
    Router,
    invalid_field,
    missing_field,
    paginate,
)
from bot.sandbox.store import node_id

MAKE_LATEST = ("true", "false", "legacy")


# -- annotated tags ------------------------------------------------------------------------


def _epoch(iso: str) -> str:
    return f"{int(datetime.fromisoformat(iso.replace('Z', '+00:00')).timestamp())} +0000"


def tag_json(ctx: RequestContext, repo: str, sha: str) -> dict[str, Any]:
    from bot.sandbox.api.git import iso_date, verification_json

    raw = ctx.git.read_objects(repo, [sha]).get(sha)
    if raw is None or raw[0] != "tag":
        raise ApiError(404, "Not Found")
    head, _, message = raw[1].decode("utf-8", "replace").partition("\n\n")
    fields = dict(line.split(" ", 1) for line in head.splitlines() if " " in line)
    who, _, when = fields.get("tagger", "").rpartition(">")
    name, _, email = who.partition(" <")
    api = f"{ctx.base_url}/repos/{repo}/git"
    kind = fields.get("type", "commit")
    target = fields.get("object", "")
    return {
        "node_id": f"TAG_{sha[:20]}",
        "tag": fields.get("tag", ""),
        "sha": sha,
        "url": f"{api}/tags/{sha}",
        "message": message,
        "tagger": {"name": name, "email": email, "date": iso_date(when.strip())},
        "object": {"type": kind, "sha": target, "url": f"{api}/{kind}s/{target}"},
        "verification": verification_json(ctx, repo, sha),
    }


def create_tag(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    assert ctx.user is not None
    body = ctx.json()
    for name in ("tag", "message", "object", "type"):
        if not isinstance(body.get(name), str):
            raise missing_field("Tag", name)
    tag, obj, kind = str(body["tag"]), str(body["object"]), str(body["type"])
    if kind not in ("commit", "tree", "blob") or not tag:
        raise invalid_field("Tag", "type" if tag else "tag")
    if not ctx.git.valid_ref_name(f"refs/tags/{tag}"):
        raise invalid_field("Tag", "tag")
    if not is_sha(obj) or ctx.git.object_type(repo, obj) != kind:
        raise ApiError(422, "Object does not exist")
    given = body.get("tagger") if isinstance(body.get("tagger"), dict) else None
    who = person_of(ctx, ctx.user.login, given)
    text = (
        f"object {obj}\ntype {kind}\ntag {tag}\ntagger {who.name} <{who.email}> "
        f"{_epoch(who.date)}\n\n{body['message']}"
    )
    sha = ctx.git.out(repo, "hash-object", "-t", "tag", "-w", "--stdin", input=text.encode())
    return Response(201, tag_json(ctx, repo, sha))


def get_tag(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    sha = ctx.params["tag_sha"]
    if not is_sha(sha):
        raise ApiError(404, "Not Found")
    return Response(200, tag_json(ctx, repo, sha))


# -- releases --------------------------------------------------------------------------------


def _all(ctx: RequestContext, repo: str) -> list[dict[str, Any]]:
    rows = ctx.store.data["extra"].get("releases", {}).values()
    return [r for r in rows if r["repo"] == repo]


def release_json(ctx: RequestContext, rel: dict[str, Any]) -> dict[str, Any]:
    api = f"{ctx.base_url}/repos/{rel['repo']}"
    html = f"{ctx.base_url}/{rel['repo']}/releases/tag/{rel['tag_name']}"
    return {
        "url": f"{api}/releases/{rel['id']}",
        "html_url": html,
        "assets_url": f"{api}/releases/{rel['id']}/assets",
        "upload_url": f"{api}/releases/{rel['id']}/assets{{?name,label}}",
        "tarball_url": f"{api}/tarball/{rel['tag_name']}",
        "zipball_url": f"{api}/zipball/{rel['tag_name']}",
        "id": rel["id"],
        "node_id": rel["node_id"],
        "tag_name": rel["tag_name"],
        "target_commitish": rel["target_commitish"],
        "name": rel.get("name"),
        "body": rel.get("body"),
        "draft": rel["draft"],
        "prerelease": rel["prerelease"],
        "immutable": False,
        "created_at": rel["created_at"],
        "published_at": rel.get("published_at"),
        "updated_at": rel["updated_at"],
        "author": user_or_none(ctx, rel["author"]),
        "assets": [],
    }


def _find(ctx: RequestContext, repo: str) -> dict[str, Any]:
    rel = ctx.store.data["extra"].get("releases", {}).get(str(ctx.params["release_id"]))
    if rel is None or rel["repo"] != repo:
        raise ApiError(404, "Not Found")
    if rel["draft"] and not _pushes(ctx, repo):
        raise ApiError(404, "Not Found")
    return rel


def _pushes(ctx: RequestContext, repo: str) -> bool:
    from bot.sandbox.http import role_rank

    return role_rank(ctx.role(repo)) >= role_rank("write")


def _fields(ctx: RequestContext, body: dict[str, Any], rel: dict[str, Any]) -> None:
    """Copy the request's fields onto the release, checking their types."""
    for name in ("tag_name", "target_commitish", "name", "body"):
        if name in body and body[name] is not None:
            if not isinstance(body[name], str):
                raise invalid_field("Release", name)
            rel[name] = body[name]
    for name in ("draft", "prerelease"):
        if name in body:
            if not isinstance(body[name], bool):
                raise invalid_field("Release", name)
            rel[name] = body[name]
    if body.get("make_latest", "true") not in MAKE_LATEST:
        raise invalid_field("Release", "make_latest")
    if not rel.get("tag_name") or not ctx.git.valid_ref_name(f"refs/tags/{rel['tag_name']}"):
        raise invalid_field("Release", "tag_name")


def _publish(ctx: RequestContext, rel: dict[str, Any], make_latest: str, was_draft: bool) -> None:
    """A release just published gets its tag (lightweight, when none exists yet)."""
    repo = rel["repo"]
    if rel["draft"]:
        return
    if was_draft:
        rel["published_at"] = ctx.now()
    ref = f"refs/tags/{rel['tag_name']}"
    if ctx.git.ref(repo, ref) is None:
        sha = ctx.git.resolve(repo, rel["target_commitish"])
        if sha is None:
            raise invalid_field("Release", "target_commitish")
        from bot.sandbox.api.refs import move_ref

        move_ref(ctx, repo, ref, sha, None)
    _latest(ctx, rel, make_latest)


def _latest(ctx: RequestContext, rel: dict[str, Any], make_latest: str) -> None:
    repo = rel["repo"]
    latest = ctx.store.data["extra"].setdefault("latest_release", {})
    full = not rel["draft"] and not rel["prerelease"]
    if full and make_latest == "true":
        latest[repo] = rel["id"]
        return
    if make_latest == "legacy" or (latest.get(repo) == rel["id"] and (not full or make_latest
                                                                     == "false")):  # fmt: skip
        others = [r for r in _all(ctx, repo) if not r["draft"] and not r["prerelease"]
                  and (r["id"] != rel["id"] or make_latest == "legacy")]  # fmt: skip
        best = max(others, key=lambda r: (r["created_at"], r["id"]), default=None)
        latest[repo] = best["id"] if best else None


def create_release(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    record = ctx.require(repo, "write")
    assert ctx.user is not None
    body = ctx.json()
    if not isinstance(body.get("tag_name"), str) or not body["tag_name"]:
        raise missing_field("Release", "tag_name")
    if any(r["tag_name"] == body["tag_name"] for r in _all(ctx, repo)):
        raise ApiError(422, "Validation Failed", [{"resource": "Release", "code":
                       "already_exists", "field": "tag_name"}])  # fmt: skip
    now = ctx.now()
    rel: dict[str, Any] = {"repo": repo, "target_commitish": record.get("default_branch", "main"),
                           "draft": False, "prerelease": False, "name": None, "body": None,
                           "author": ctx.user.login, "created_at": now, "updated_at": now,
                           "published_at": None}  # fmt: skip
    _fields(ctx, body, rel)
    with ctx.store.transaction() as data:
        rel["id"] = ctx.store.next_id()
        rel["node_id"] = node_id("release", rel["id"])
        data["extra"].setdefault("releases", {})[str(rel["id"])] = rel
    _publish(ctx, rel, str(body.get("make_latest", "true")), was_draft=True)
    return Response(201, release_json(ctx, rel))


def update_release(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    rel = _find(ctx, repo)
    body = ctx.json()
    tag = body.get("tag_name")
    if tag and tag != rel["tag_name"] and any(r["tag_name"] == tag for r in _all(ctx, repo)):
        raise ApiError(422, "Validation Failed", [{"resource": "Release", "code":
                       "already_exists", "field": "tag_name"}])  # fmt: skip
    was_draft = rel["draft"]
    with ctx.store.transaction():
        _fields(ctx, body, rel)
        rel["updated_at"] = ctx.now()
    _publish(ctx, rel, str(body.get("make_latest", "true" if was_draft else "")), was_draft)
    return Response(200, release_json(ctx, rel))


def get_release(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    return Response(200, release_json(ctx, _find(ctx, repo)))


def release_by_tag(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    for rel in _all(ctx, repo):
        if rel["tag_name"] == ctx.params["tag"] and not rel["draft"]:
            return Response(200, release_json(ctx, rel))
    raise ApiError(404, "Not Found")


def latest_release(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    found = ctx.store.data["extra"].get("latest_release", {}).get(repo)
    rel = ctx.store.data["extra"].get("releases", {}).get(str(found)) if found else None
    if rel is None:
        raise ApiError(404, "Not Found")
    return Response(200, release_json(ctx, rel))


def list_releases(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    pushes = _pushes(ctx, repo)
    rows = [r for r in _all(ctx, repo) if pushes or not r["draft"]]
    rows.sort(key=lambda r: r["id"], reverse=True)
    return paginate(ctx, [release_json(ctx, r) for r in rows])


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}"
    router.add("POST", base + "/git/tags", create_tag)
    router.add("GET", base + "/git/tags/{tag_sha}", get_tag)
    router.add("GET", base + "/releases", list_releases)
    router.add("POST", base + "/releases", create_release)
    router.add("GET", base + "/releases/latest", latest_release)
    router.add("GET", base + "/releases/tags/{tag+}", release_by_tag)
    router.add("GET", base + "/releases/{release_id}", get_release)
    router.add("PATCH", base + "/releases/{release_id}", update_release)
