"""Git references: read, list, create, update (compare-and-swap) and delete them, and
`move_ref`, the one way the sandbox moves a ref, which tells the world (a push webhook,
open pull requests' new head sha)."""

from __future__ import annotations

import hashlib
from typing import Any

from bot.sandbox.api.git import iso_date
from bot.sandbox.api.repos import repo_json, repo_name
from bot.sandbox.gitstore import ZERO, RefConflict, is_sha
from bot.sandbox.http import ApiError, RequestContext, Response, Router, missing_field
from bot.sandbox.rules import check_push, workflows


def ref_json(ctx: RequestContext, repo: str, ref: str, sha: str, kind: str = "commit") -> dict:
    api = f"{ctx.base_url}/repos/{repo}"
    return {
        "ref": ref,
        "node_id": "REF_" + hashlib.sha1(f"{repo}:{ref}".encode()).hexdigest()[:16],
        "url": f"{api}/git/{ref}",
        "object": {"type": kind, "sha": sha, "url": f"{api}/git/{kind}s/{sha}"},
    }


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
    workflows.triggered(ctx, repo, "push", "", new)  # GitHub Actions (bot.sandbox.rules)
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
    workflows.triggered(ctx, repo, "pull_request", "synchronize", after)
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


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/git"
    router.add("GET", base + "/ref/{ref+}", get_ref)
    router.add("GET", base + "/refs/{ref+}", get_ref)
    router.add("GET", base + "/refs", list_refs)
    router.add("GET", base + "/matching-refs/{ref+}", matching_refs)
    router.add("POST", base + "/refs", create_ref)
    router.add("PATCH", base + "/refs/{ref+}", update_ref)
    router.add("DELETE", base + "/refs/{ref+}", delete_ref)
