"""Git database endpoints: refs, blobs, trees, commits; and `move_ref`, the one place a
branch moves (it fires `push` and the PRs' `synchronize`)."""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.api.repos import person_of, repo_json, repo_name
from bot.sandbox.gitstore import ZERO, Commit, Person, RefConflict, UnsafePath, check_path, is_sha
from bot.sandbox.http import ApiError, RequestContext, Response, Router, missing_field
from bot.sandbox.rules import check_push


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


def ref_json(ctx: RequestContext, repo: str, ref: str, sha: str, kind: str = "commit") -> dict:
    api = f"{ctx.base_url}/repos/{repo}"
    return {
        "ref": ref,
        "node_id": "REF_" + hashlib.sha1(f"{repo}:{ref}".encode()).hexdigest()[:16],
        "url": f"{api}/git/{ref}",
        "object": {"type": kind, "sha": sha, "url": f"{api}/git/{kind}s/{sha}"},
    }


def load_commit(ctx: RequestContext, repo: str, rev: str) -> Commit:
    """The commit a sha, branch or tag names, or 404/422 as GitHub answers."""
    sha = ctx.git.resolve(repo, rev) if rev else None
    commit = ctx.git.read_commit(repo, sha) if sha else None
    if commit is None:
        raise ApiError(422 if is_sha(rev) else 404, f"No commit found for SHA: {rev}")
    return commit


def branch_tip(ctx: RequestContext, repo: str, branch: str) -> str | None:
    """A branch's sha; all tips are read once per request (one `for-each-ref`)."""
    key = f"tips:{repo}"
    tips = ctx.cache.get(key)
    if tips is None:
        refs = ctx.git.refs(repo, "refs/heads/")
        tips = {name.removeprefix("refs/heads/"): sha for name, sha, _ in refs}
        ctx.cache[key] = tips
    return tips.get(branch)


# -- moving refs ----------------------------------------------------------------------------


def move_ref(
    ctx: RequestContext, repo: str, ref: str, new: str, old: str | None, *, forced: bool = False
) -> None:
    """Compare-and-swap a ref and tell the world: push webhook, open PRs' new head sha."""
    ctx.cache.pop(f"tips:{repo}", None)
    if new == ZERO:
        assert old is not None
        ctx.git.delete_ref(repo, ref, old)
    else:
        ctx.git.update_ref(repo, ref, new, old)
    record = ctx.store.repo(repo)
    if record is not None:
        record["pushed_at"] = ctx.now()
    if not ref.startswith("refs/heads/"):
        return
    branch = ref.removeprefix("refs/heads/")
    _emit_push(ctx, repo, ref, old or ZERO, new, forced)
    for pull in ctx.store.where("pulls", repo=repo, head_ref=branch):
        issue = ctx.store.get("issues", f"{repo}#{pull['number']}")
        if issue is None or issue["state"] != "open":
            continue
        if new == ZERO:  # as GitHub does: deleting its head branch closes an open PR
            from bot.sandbox.api.issues import set_state

            set_state(ctx, repo, issue, "closed")
            continue
        before, pull["head_sha"] = pull["head_sha"], new
        issue["updated_at"] = ctx.now()
        _emit_synchronize(ctx, repo, pull, before, new)


def _emit_push(ctx: RequestContext, repo: str, ref: str, old: str, new: str, forced: bool) -> None:
    if ctx.deliver is None:
        return
    from bot.sandbox import webhooks

    record = ctx.store.repo(repo)
    assert record is not None
    rjson = repo_json(ctx, record)
    commits = []
    if new != ZERO:
        rng = new if old == ZERO else f"{old}..{new}"
        for sha in ctx.git.log(repo, rng)[-20:]:
            commit = ctx.git.read_commit(repo, sha)
            assert commit is not None
            base = commit.parents[0] if commit.parents else None
            changes = ctx.git.diff(repo, base, sha, patches=False) if base else []
            commits.append(
                webhooks.push_commit(
                    sha,
                    commit.tree,
                    commit.message,
                    iso_date(commit.committer.date),
                    {"name": commit.author.name, "email": commit.author.email},
                    {"name": commit.committer.name, "email": commit.committer.email},
                    rjson["html_url"],
                    added=[c.filename for c in changes if c.status == "added"],
                    removed=[c.filename for c in changes if c.status == "removed"],
                    modified=[c.filename for c in changes if c.status == "modified"],
                )
            )
    login = ctx.user.login if ctx.user else record["owner"]
    pusher = {"name": login, "email": (ctx.store.user(login) or {}).get("email")}
    payload = webhooks.push_payload(
        ref=ref,
        before=old,
        after=new,
        commits=commits,
        repository=rjson,
        pusher=pusher,
        sender=None,
        installation_id=ctx.store.installation_for(repo),
        forced=forced,
    )
    ctx.emit("push", payload, repo)


def _emit_synchronize(
    ctx: RequestContext, repo: str, pull: dict[str, Any], before: str, after: str
) -> None:
    if ctx.deliver is None:
        return
    from bot.sandbox import webhooks
    from bot.sandbox.api.pulls import pull_json

    record = ctx.store.repo(repo)
    assert record is not None
    payload = webhooks.pull_request_payload(
        "synchronize",
        pull_json(ctx, repo, pull["number"]),
        repo_json(ctx, record),
        None,
        ctx.store.installation_for(repo),
        before=before,
        after=after,
    )
    ctx.emit("pull_request", payload, repo)


# -- refs ----------------------------------------------------------------------------------


def _full_ref(ref: str) -> str:
    return ref if ref.startswith("refs/") else f"refs/{ref}"


def get_ref(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    ref = _full_ref(ctx.params["ref"])
    for name, sha, kind in ctx.git.refs(repo, ref):
        if name == ref:
            return Response(200, ref_json(ctx, repo, name, sha, kind))
    raise ApiError(404, "Not Found")


def matching_refs(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    prefix = _full_ref(ctx.params.get("ref", ""))
    rows = [
        ref_json(ctx, repo, n, s, k)
        for n, s, k in ctx.git.refs(repo, "refs/")
        if n.startswith(prefix)
    ]
    return Response(200, rows)


def list_refs(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    return Response(200, [ref_json(ctx, repo, n, s, k) for n, s, k in ctx.git.refs(repo)])


def create_ref(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    body = ctx.json()
    ref, sha = body.get("ref"), body.get("sha")
    if not isinstance(ref, str) or not ref:
        raise missing_field("Reference", "ref")
    if not isinstance(sha, str) or not sha:
        raise missing_field("Reference", "sha")
    if not ref.startswith("refs/") or ref.count("/") < 2 or not ctx.git.valid_ref_name(ref):
        raise ApiError(422, "Reference name is not valid")
    if ctx.git.object_type(repo, sha) is None or not is_sha(sha):
        raise ApiError(422, "Object does not exist")
    if ctx.git.ref(repo, ref) is None:
        check_push(ctx, repo, ref, None, sha)  # rulesets restricting creation
    try:
        move_ref(ctx, repo, ref, sha, None)
    except RefConflict:
        raise ApiError(422, "Reference already exists") from None
    return Response(201, ref_json(ctx, repo, ref, sha, ctx.git.object_type(repo, sha) or "commit"))


def update_ref(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    body = ctx.json()
    sha = body.get("sha")
    if not isinstance(sha, str) or not sha:
        raise missing_field("Reference", "sha")
    ref = _full_ref(ctx.params["ref"])
    current = ctx.git.ref(repo, ref)
    if current is None:
        raise ApiError(422, "Reference does not exist")
    if not is_sha(sha) or ctx.git.object_type(repo, sha) != "commit":
        raise ApiError(422, "Object does not exist")
    force = bool(body.get("force", False))
    forward = ctx.git.is_ancestor(repo, current, sha)
    if not force and not forward:
        raise ApiError(422, "Update is not a fast forward")
    check_push(ctx, repo, ref, current, sha)  # branch protection and rulesets
    try:
        move_ref(ctx, repo, ref, sha, current, forced=not forward)
    except RefConflict:
        raise ApiError(422, "Reference cannot be updated") from None
    return Response(200, ref_json(ctx, repo, ref, sha))


def delete_ref(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "write")
    ref = _full_ref(ctx.params["ref"])
    current = ctx.git.ref(repo, ref)
    if current is None:
        raise ApiError(422, "Reference does not exist")
    check_push(ctx, repo, ref, current, ZERO)  # branch protection and rulesets
    move_ref(ctx, repo, ref, ZERO, current)
    return Response(204)


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
    router.add("GET", base + "/ref/{ref+}", get_ref)
    router.add("GET", base + "/refs/{ref+}", get_ref)
    router.add("GET", base + "/refs", list_refs)
    router.add("GET", base + "/matching-refs/{ref+}", matching_refs)
    router.add("POST", base + "/refs", create_ref)
    router.add("PATCH", base + "/refs/{ref+}", update_ref)
    router.add("DELETE", base + "/refs/{ref+}", delete_ref)
    router.add("POST", base + "/blobs", create_blob)
    router.add("GET", base + "/blobs/{sha}", get_blob)
    router.add("POST", base + "/trees", create_tree)
    router.add("GET", base + "/trees/{tree_sha}", get_tree)
    router.add("POST", base + "/commits", create_git_commit)
    router.add("GET", base + "/commits/{commit_sha}", get_git_commit)
