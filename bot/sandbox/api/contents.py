"""Repository contents: get a file or a directory listing at a ref; create, update, delete."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

from bot.sandbox.api.git import decode_content, git_commit_json
from bot.sandbox.api.refs import move_ref
from bot.sandbox.api.repos import person_of, repo_name
from bot.sandbox.gitstore import RefConflict, TreeEntry, UnsafePath, check_path
from bot.sandbox.http import ApiError, RequestContext, Response, Router, missing_field
from bot.sandbox.rules import check_push


def _entry_json(
    ctx: RequestContext, repo: str, entry: TreeEntry, path: str, ref: str
) -> dict[str, Any]:
    kind = {"tree": "dir", "commit": "submodule"}.get(entry.type, "file")
    if entry.mode == "120000":
        kind = "symlink"
    api = f"{ctx.base_url}/repos/{repo}"
    self_url = f"{api}/contents/{quote(path)}?ref={quote(ref)}"
    git_url = f"{api}/git/{'trees' if entry.type == 'tree' else 'blobs'}/{entry.sha}"
    html = f"{ctx.base_url}/{repo}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
    download = f"{ctx.base_url}/{repo}/raw/{ref}/{quote(path)}" if kind == "file" else None
    return {
        "type": kind,
        "size": entry.size or 0,
        "name": path.rsplit("/", 1)[-1],
        "path": path,
        "sha": entry.sha,
        "url": self_url,
        "git_url": git_url,
        "html_url": html,
        "download_url": download,
        "_links": {"self": self_url, "git": git_url, "html": html},
    }


def _path(ctx: RequestContext) -> str:
    try:
        return check_path(ctx.params.get("path", ""))
    except UnsafePath:
        raise ApiError(404, "Not Found") from None


def get_contents(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    record = ctx.require(repo, "read")
    path = _path(ctx)
    ref = ctx.arg("ref") or record["default_branch"]
    commit = ctx.git.resolve(repo, ref)
    if commit is None:
        raise ApiError(404, f"No commit found for the ref {ref}")
    entry = ctx.git.entry(repo, commit, path)
    if entry is None:
        raise ApiError(404, "Not Found")
    if entry.type == "tree":
        items = [
            _entry_json(ctx, repo, e, f"{path}/{e.path}" if path else e.path, ref)
            for e in ctx.git.ls_tree(repo, entry.sha)
        ]
        return Response(200, items)
    data = ctx.git.read_blob(repo, entry.sha) or b""
    if "raw" in ctx.headers.get("accept", ""):
        return Response(200, data, {"Content-Type": "application/vnd.github.raw"})
    out = _entry_json(ctx, repo, entry, path, ref)
    out["content"] = base64.encodebytes(data).decode()
    out["encoding"] = "base64"
    return Response(200, out)


def _write_target(ctx: RequestContext, body: dict[str, Any]) -> tuple[str, str, str, str]:
    """(repo, path, branch, branch head sha) for a contents write; checks the basics."""
    repo = repo_name(ctx)
    record = ctx.require(repo, "write")
    try:
        path = check_path(ctx.params.get("path", ""))
    except UnsafePath:
        raise ApiError(
            422,
            "path contains a malformed path component",
            [{"resource": "Commit", "field": "path", "code": "invalid"}],
        ) from None
    if not path:
        raise ApiError(
            422,
            "path cannot be empty",
            [{"resource": "Commit", "field": "path", "code": "invalid"}],
        )
    if not isinstance(body.get("message"), str):
        raise missing_field("Commit", "message")
    branch = str(body.get("branch") or record["default_branch"])
    head = ctx.git.ref(repo, f"refs/heads/{branch}")
    if head is None:
        raise ApiError(404, f"Branch {branch} not found")
    return repo, path, branch, head


def _commit_change(
    ctx: RequestContext,
    repo: str,
    branch: str,
    head: str,
    change: tuple[str, str] | None,
    path: str,
    body: dict[str, Any],
) -> dict[str, Any]:
    assert ctx.user is not None
    base_tree = ctx.git.out(repo, "rev-parse", f"{head}^{{tree}}")
    tree = ctx.git.write_tree(repo, base_tree, {path: change})
    author = person_of(ctx, ctx.user.login, body.get("author") or body.get("committer"))
    committer = person_of(ctx, ctx.user.login, body.get("committer"))
    sha = ctx.git.commit_tree(repo, tree, [head], str(body["message"]), author, committer)
    check_push(ctx, repo, f"refs/heads/{branch}", head, sha, via="contents")
    try:
        move_ref(ctx, repo, f"refs/heads/{branch}", sha, head)
    except RefConflict:
        raise ApiError(409, f"{branch} was modified, try again") from None
    commit = ctx.git.read_commit(repo, sha)
    assert commit is not None
    return git_commit_json(ctx, repo, commit)


def put_contents(ctx: RequestContext) -> Response:
    body = ctx.json()
    repo, path, branch, head = _write_target(ctx, body)
    if "content" not in body:
        raise missing_field("Commit", "content")
    data = decode_content(body.get("content"), "base64", "Commit")
    existing = ctx.git.entry(repo, head, path)
    if existing is not None and existing.type == "tree":
        raise ApiError(422, f"{path} is a directory")
    given = body.get("sha")
    if existing is not None and not given:
        raise ApiError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
    if existing is not None and given != existing.sha:
        raise ApiError(409, f"{path} does not match {given}")
    if existing is None and given:
        raise ApiError(409, f"{path} does not match {given}")
    blob = ctx.git.hash_blob(repo, data)
    commit = _commit_change(ctx, repo, branch, head, ("100644", blob), path, body)
    entry = ctx.git.entry(repo, commit["sha"], path)
    assert entry is not None
    content = _entry_json(ctx, repo, entry, path, branch)
    return Response(201 if existing is None else 200, {"content": content, "commit": commit})


def delete_contents(ctx: RequestContext) -> Response:
    body = ctx.json()
    repo, path, branch, head = _write_target(ctx, body)
    if not body.get("sha"):
        raise missing_field("Commit", "sha")
    existing = ctx.git.entry(repo, head, path)
    if existing is None or existing.type == "tree":
        raise ApiError(404, "Not Found")
    if body["sha"] != existing.sha:
        raise ApiError(409, f"{path} does not match {body['sha']}")
    commit = _commit_change(ctx, repo, branch, head, None, path, body)
    return Response(200, {"content": None, "commit": commit})


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/contents"
    router.add("GET", base, get_contents)
    router.add("GET", base + "/", get_contents)
    router.add("GET", base + "/{path+}", get_contents)
    router.add("PUT", base + "/{path+}", put_contents)
    router.add("DELETE", base + "/{path+}", delete_contents)
