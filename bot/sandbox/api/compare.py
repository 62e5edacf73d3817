"""History: compare two commits, list and get commits, branches."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from bot.sandbox.api.git import load_commit, person_json, verification_json
from bot.sandbox.api.repos import repo_name
from bot.sandbox.gitstore import Commit, FileChange
from bot.sandbox.http import ApiError, RequestContext, Response, Router, paginate
from bot.sandbox.rules import state as rules_state


def _user_by_email(ctx: RequestContext, email: str) -> dict[str, Any] | None:
    for user in ctx.store.data["users"].values():
        if user.get("email") == email:
            return ctx.store.user_json(user["login"], ctx.base_url)
    return None


def commit_json(ctx: RequestContext, repo: str, commit: Commit) -> dict[str, Any]:
    """A commit in the REST "commit" shape (without files and stats)."""
    api = f"{ctx.base_url}/repos/{repo}"
    html = f"{ctx.base_url}/{repo}/commit/{commit.sha}"
    return {
        "url": f"{api}/commits/{commit.sha}",
        "sha": commit.sha,
        "node_id": f"C_{commit.sha[:20]}",
        "html_url": html,
        "comments_url": f"{api}/commits/{commit.sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{commit.sha}",
            "author": person_json(commit.author),
            "committer": person_json(commit.committer),
            "message": commit.message.rstrip("\n"),
            "comment_count": 0,
            "tree": {"sha": commit.tree, "url": f"{api}/git/trees/{commit.tree}"},
            "verification": verification_json(ctx, repo, commit.sha),
        },
        "author": _user_by_email(ctx, commit.author.email),
        "committer": _user_by_email(ctx, commit.committer.email),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{ctx.base_url}/{repo}/commit/{p}"}
            for p in commit.parents
        ],
    }


def file_json(ctx: RequestContext, repo: str, change: FileChange, ref: str) -> dict[str, Any]:
    path = quote(change.filename)
    out: dict[str, Any] = {
        "sha": change.sha,
        "filename": change.filename,
        "status": change.status,
        "additions": change.additions,
        "deletions": change.deletions,
        "changes": change.additions + change.deletions,
        "blob_url": f"{ctx.base_url}/{repo}/blob/{ref}/{path}",
        "raw_url": f"{ctx.base_url}/{repo}/raw/{ref}/{path}",
        "contents_url": f"{ctx.base_url}/repos/{repo}/contents/{path}?ref={ref}",
    }
    if change.patch is not None:
        out["patch"] = change.patch
    if change.previous_filename:
        out["previous_filename"] = change.previous_filename
    return out


def commits_json(ctx: RequestContext, repo: str, shas: list[str]) -> list[dict[str, Any]]:
    from bot.sandbox.gitstore import parse_commit

    objects = ctx.git.read_objects(repo, shas)
    return [commit_json(ctx, repo, parse_commit(s, objects[s][1])) for s in shas if s in objects]


def compare(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    spec = ctx.params["basehead"]
    if "..." in spec:
        base_rev, head_rev = spec.split("...", 1)
    elif ".." in spec:
        base_rev, head_rev = spec.split("..", 1)
    else:
        raise ApiError(404, "Not Found")
    base, head = load_commit(ctx, repo, base_rev), load_commit(ctx, repo, head_rev)
    merge_base = ctx.git.merge_base(repo, base.sha, head.sha)
    if merge_base is None:
        raise ApiError(404, f"No common ancestor between {base_rev} and {head_rev}.")
    ahead, behind = ctx.git.ahead_behind(repo, base.sha, head.sha)
    status = (
        "identical"
        if ahead == behind == 0
        else "ahead"
        if behind == 0
        else "behind"
        if ahead == 0
        else "diverged"
    )
    shas = ctx.git.log(repo, f"{base.sha}..{head.sha}", limit=250)
    mb = ctx.git.read_commit(repo, merge_base)
    assert mb is not None
    files = [file_json(ctx, repo, c, head.sha) for c in ctx.git.diff(repo, merge_base, head.sha)]
    html = f"{ctx.base_url}/{repo}/compare/{spec}"
    body = {
        "url": f"{ctx.base_url}/repos/{repo}/compare/{spec}",
        "html_url": html,
        "permalink_url": f"{ctx.base_url}/{repo}/compare/{base.sha}...{head.sha}",
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "base_commit": commit_json(ctx, repo, base),
        "merge_base_commit": commit_json(ctx, repo, mb),
        "status": status,
        "ahead_by": ahead,
        "behind_by": behind,
        "total_commits": ahead,
        "commits": commits_json(ctx, repo, shas),
        "files": files[:300],
    }
    return Response(200, body)


def get_commit(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    commit = load_commit(ctx, repo, ctx.params["ref"])
    out = commit_json(ctx, repo, commit)
    parent = commit.parents[0] if commit.parents else None
    changes = ctx.git.diff(repo, parent, commit.sha) if parent else _root_files(ctx, repo, commit)
    additions = sum(c.additions for c in changes)
    deletions = sum(c.deletions for c in changes)
    out["stats"] = {"additions": additions, "deletions": deletions, "total": additions + deletions}
    out["files"] = [file_json(ctx, repo, c, commit.sha) for c in changes]
    return Response(200, out)


def _root_files(ctx: RequestContext, repo: str, commit: Commit) -> list[FileChange]:
    return [
        FileChange(e.path, "added", 0, 0, e.sha)
        for e in ctx.git.ls_tree(repo, commit.sha, recursive=True)
        if e.type == "blob"
    ]


def list_commits(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    record = ctx.require(repo, "read")
    rev = ctx.arg("sha") or record["default_branch"]
    sha = ctx.git.resolve(repo, rev)
    if sha is None:
        if not ctx.git.refs(repo, "refs/heads/"):
            raise ApiError(409, "Git Repository is empty.")
        raise ApiError(404, f"No commit found for SHA: {rev}")
    shas = ctx.git.history(repo, sha, ctx.arg("path"), limit=1000)
    return paginate(ctx, commits_json(ctx, repo, shas))


def branch_json(ctx: RequestContext, repo: str, name: str, sha: str, full: bool) -> dict:
    api = f"{ctx.base_url}/repos/{repo}"
    protected = name in ctx.store.data["extra"].get("protected_branches", {}).get(repo, [])
    protected = protected or rules_state.protection(ctx.store, repo, name) is not None
    out: dict[str, Any] = {
        "name": name,
        "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
        "protected": protected,
        "protection": {
            "enabled": protected,
            "required_status_checks": {"enforcement_level": "off", "contexts": [], "checks": []},
        },
        "protection_url": f"{api}/branches/{quote(name)}/protection",
    }
    if full:
        commit = ctx.git.read_commit(repo, sha)
        assert commit is not None
        out["commit"] = commit_json(ctx, repo, commit)
        out["_links"] = {
            "self": f"{api}/branches/{quote(name)}",
            "html": f"{ctx.base_url}/{repo}/tree/{name}",
        }
    return out


def list_branches(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    rows = [
        branch_json(ctx, repo, ref.removeprefix("refs/heads/"), sha, False)
        for ref, sha, _ in ctx.git.refs(repo, "refs/heads/")
    ]
    return paginate(ctx, rows)


def get_branch(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    name = ctx.params["branch"]
    sha = ctx.git.ref(repo, f"refs/heads/{name}")
    if sha is None:
        raise ApiError(404, "Branch not found")
    return Response(200, branch_json(ctx, repo, name, sha, True))


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}"
    router.add("GET", base + "/compare/{basehead+}", compare)
    router.add("GET", base + "/commits", list_commits)
    router.add("GET", base + "/commits/{ref+}", get_commit)
    router.add("GET", base + "/branches", list_branches)
    router.add("GET", base + "/branches/{branch+}", get_branch)
