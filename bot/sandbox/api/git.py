"""Git database endpoints: blobs, trees, commits, and the git objects' JSON shapes.
Refs, and `move_ref` (the one place a branch moves), are `bot.sandbox.api.refs`."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.api.repos import person_of, repo_name
from bot.sandbox.gitstore import Commit, Person, UnsafePath, check_path, is_sha
from bot.sandbox.http import ApiError, RequestContext, Response, Router, missing_field


def iso_date(raw: str) -> str:
    """git's ``<epoch> <tz>`` (or an ISO string) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    first = raw.split(" ")[0]
    if first.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(first), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return raw


def person_json(person: Person) -> dict[str, str]:
    return {"name": person.name, "email": person.email, "date": iso_date(person.date)}


def git_commit_json(ctx: RequestContext, repo: str, commit: Commit) -> dict[str, Any]:
    api = f"{ctx.base_url}/repos/{repo}"
    return {
        "sha": commit.sha,
        "node_id": f"C_{commit.sha[:20]}",
        "url": f"{api}/git/commits/{commit.sha}",
        "html_url": f"{ctx.base_url}/{repo}/commit/{commit.sha}",
        "author": person_json(commit.author),
        "committer": person_json(commit.committer),
        "message": commit.message.rstrip("\n"),
        "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
        "parents": [
            {
                "sha": p,
                "url": f"{api}/git/commits/{p}",
                "html_url": f"{ctx.base_url}/{repo}/commit/{p}",
            }
            for p in commit.parents
        ],
        "verification": verification_json(ctx, repo, commit.sha),
    }


def sign(ctx: RequestContext, repo: str, sha: str) -> None:
    """Remember that GitHub itself made (and signed) commit `sha`: the commits an App's
    token creates through the Git Data API with no other identity, and the merges GitHub
    makes. A pushed commit is never signed here, whatever author it names."""
    with ctx.store.transaction() as data:
        signed = data["extra"].setdefault("signed_commits", {})
        signed.setdefault(repo, {})[sha] = ctx.now()


def verification_json(ctx: RequestContext, repo: str, sha: str) -> dict[str, Any]:
    """A commit's `verification` as GitHub reports it."""
    when = ctx.store.data["extra"].get("signed_commits", {}).get(repo, {}).get(sha)
    return {
        "verified": bool(when),
        "reason": "valid" if when else "unsigned",
        "signature": "-----BEGIN PGP SIGNATURE-----\n(sandbox)\n-----END PGP SIGNATURE-----"
        if when
        else None,
        "payload": None,
        "verified_at": when,
    }


def load_commit(ctx: RequestContext, repo: str, rev: str) -> Commit:
    """The commit a sha, branch or tag names, or 404/422 as GitHub answers."""
    sha = ctx.git.resolve(repo, rev) if rev else None
    commit = ctx.git.read_commit(repo, sha) if sha else None
    if commit is None:
        raise ApiError(422 if is_sha(rev) else 404, f"No commit found for SHA: {rev}")
    return commit


# -- blobs ---------------------------------------------------------------------------------


def decode_content(content: object, encoding: object, resource: str = "Blob") -> bytes:
    if not isinstance(content, str):
        raise missing_field(resource, "content")
    if encoding in (None, "utf-8", "utf8"):
        return content.encode("utf-8")
    if encoding == "base64":
        try:
            return base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError):
            raise ApiError(422, "Invalid base64 content") from None
    raise ApiError(422, f"encoding must be utf-8 or base64, not {encoding}")


def create_blob(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    body = ctx.json()
    data = decode_content(body.get("content"), body.get("encoding"))
    sha = ctx.git.hash_blob(repo, data)
    return Response(201, {"url": f"{ctx.base_url}/repos/{repo}/git/blobs/{sha}", "sha": sha})


def get_blob(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    sha = ctx.params["sha"]
    data = ctx.git.read_blob(repo, sha) if is_sha(sha) else None
    if data is None:
        raise ApiError(404, "Not Found")
    return Response(200, blob_json(ctx, repo, sha, data))


def blob_json(ctx: RequestContext, repo: str, sha: str, data: bytes) -> dict[str, Any]:
    return {
        "sha": sha,
        "node_id": f"B_{sha[:20]}",
        "size": len(data),
        "url": f"{ctx.base_url}/repos/{repo}/git/blobs/{sha}",
        "content": base64.encodebytes(data).decode(),
        "encoding": "base64",
    }


# -- trees ---------------------------------------------------------------------------------


def tree_json(ctx: RequestContext, repo: str, sha: str, recursive: bool) -> dict[str, Any]:
    api = f"{ctx.base_url}/repos/{repo}"
    entries = []
    for e in ctx.git.ls_tree(repo, sha, recursive=recursive):
        item: dict[str, Any] = {"path": e.path, "mode": e.mode, "type": e.type, "sha": e.sha}
        if e.type == "blob":
            item["size"] = e.size
        item["url"] = f"{api}/git/{e.type}s/{e.sha}"
        entries.append(item)
    return {"sha": sha, "url": f"{api}/git/trees/{sha}", "tree": entries, "truncated": False}


def get_tree(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    rev = ctx.params["tree_sha"]
    sha = rev if is_sha(rev) and ctx.git.object_type(repo, rev) == "tree" else None
    if sha is None:
        commit = ctx.git.resolve(repo, rev)
        if commit is None:
            raise ApiError(404, "Not Found")
        sha = ctx.git.out(repo, "rev-parse", f"{commit}^{{tree}}")
    recursive = ctx.arg("recursive") not in (None, "", "0", "false")
    return Response(200, tree_json(ctx, repo, sha, recursive))


def create_tree(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    body = ctx.json()
    entries = body.get("tree")
    if not isinstance(entries, list):
        raise missing_field("Tree", "tree")
    base = body.get("base_tree")
    if base is not None and (
        not isinstance(base, str) or ctx.git.object_type(repo, base) not in ("tree", "commit")
    ):
        raise ApiError(
            422,
            "Invalid tree info",
            [{"resource": "Tree", "field": "base_tree", "code": "invalid"}],
        )
    changes = _tree_changes(ctx, repo, base, entries)
    sha = ctx.git.write_tree(repo, base, changes)
    return Response(201, tree_json(ctx, repo, sha, False))


def _tree_changes(
    ctx: RequestContext, repo: str, base: str | None, entries: list[Any]
) -> dict[str, tuple[str, str] | None]:
    changes: dict[str, tuple[str, str] | None] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise ApiError(
                422,
                "Invalid tree info",
                [{"resource": "Tree", "field": "path", "code": "missing_field"}],
            )
        try:
            path = check_path(entry["path"])
        except UnsafePath:
            raise ApiError(
                422,
                f"tree.path contains a malformed path component: {entry['path']}",
                [{"resource": "Tree", "field": "path", "code": "invalid"}],
            ) from None
        if not path:
            raise ApiError(422, "Invalid tree info")
        mode = str(entry.get("mode", "100644"))
        if mode not in ("100644", "100755", "040000", "160000", "120000"):
            raise ApiError(
                422, "Invalid tree info", [{"resource": "Tree", "field": "mode", "code": "invalid"}]
            )
        if "content" in entry and entry["content"] is not None:
            changes[path] = (mode, ctx.git.hash_blob(repo, str(entry["content"]).encode()))
        elif entry.get("sha") is None:
            for sub in _paths_under(ctx, repo, base, path):
                changes[sub] = None
        elif entry.get("type") == "tree" or mode == "040000":
            for sub in _paths_under(ctx, repo, base, path):
                changes[sub] = None
            for e in ctx.git.ls_tree(repo, str(entry["sha"]), recursive=True):
                if e.type != "tree":
                    changes[f"{path}/{e.path}"] = (e.mode, e.sha)
        else:
            sha = str(entry["sha"])
            if not is_sha(sha) or ctx.git.object_type(repo, sha) is None:
                raise ApiError(
                    422,
                    "Invalid tree info",
                    [{"resource": "Tree", "field": "sha", "code": "invalid"}],
                )
            changes[path] = (mode, sha)
    return changes


def _paths_under(ctx: RequestContext, repo: str, base: str | None, path: str) -> list[str]:
    """`path` itself if a file in `base`, every file under it if a directory."""
    if base is None:
        return [path]
    entry = ctx.git.entry(repo, base, path)
    if entry is None or entry.type != "tree":
        return [path]
    return [
        f"{path}/{e.path}"
        for e in ctx.git.ls_tree(repo, entry.sha, recursive=True)
        if e.type != "tree"
    ]


# -- commits -------------------------------------------------------------------------------


def get_git_commit(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    sha = ctx.params["commit_sha"]
    commit = ctx.git.read_commit(repo, sha) if is_sha(sha) else None
    if commit is None:
        raise ApiError(404, "Not Found")
    return Response(200, git_commit_json(ctx, repo, commit))


def create_git_commit(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    assert ctx.user is not None
    body = ctx.json()
    message, tree = body.get("message"), body.get("tree")
    if not isinstance(message, str):
        raise missing_field("Commit", "message")
    if not isinstance(tree, str) or not tree:
        raise missing_field("Commit", "tree")
    if not is_sha(tree) or ctx.git.object_type(repo, tree) != "tree":
        raise ApiError(422, "Tree SHA does not exist")
    parents = body.get("parents") or []
    if not isinstance(parents, list):
        raise ApiError(
            422, "Invalid request.", [{"resource": "Commit", "field": "parents", "code": "invalid"}]
        )
    for parent in parents:
        if not isinstance(parent, str) or ctx.git.object_type(repo, parent) != "commit":
            raise ApiError(422, "Parent SHA does not exist or is not a commit object")
    author = person_of(ctx, ctx.user.login, body.get("author"))
    committer = person_of(ctx, ctx.user.login, body.get("committer") or body.get("author"))
    sha = ctx.git.commit_tree(repo, tree, [str(p) for p in parents], message, author, committer)
    if ctx.installation_id is not None and not (body.get("author") or body.get("committer")):
        sign(ctx, repo, sha)
    commit = ctx.git.read_commit(repo, sha)
    assert commit is not None
    return Response(201, git_commit_json(ctx, repo, commit))


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/git"
    router.add("POST", base + "/blobs", create_blob)
    router.add("GET", base + "/blobs/{sha}", get_blob)
    router.add("POST", base + "/trees", create_tree)
    router.add("GET", base + "/trees/{tree_sha}", get_tree)
    router.add("POST", base + "/commits", create_git_commit)
    router.add("GET", base + "/commits/{commit_sha}", get_git_commit)
