"""The hooks: endpoint handlers call `check_push` before moving a branch and `check_merge`
before merging a pull request; the server calls `gate` before every handler.

Each reads the request's actor and the repository's state, asks `evaluate` and raises
the `ApiError` GitHub would answer. Nothing here writes.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.http import ApiError, RequestContext, role_rank
from bot.sandbox.rules import content_limit, permissions, state
from bot.sandbox.rules import evaluate as ev

PROTECTED_DOCS = (
    "https://docs.github.com/repositories/configuring-branches-and-merges-in-your-repository"
    "/managing-protected-branches/about-protected-branches"
)
_PASSING = ("success", "neutral", "skipped")


def actor_of(ctx: RequestContext, repo: str) -> ev.Actor:
    """The request's caller as the rules see it (an installation acts as its App)."""
    login = ctx.user.login if ctx.user else ""
    role = ctx.role(repo)
    if ctx.installation_id is not None:
        inst = ctx.store.get("installations", ctx.installation_id) or {}
        app_id = int(inst.get("app_id") or 0)
        return ev.Actor(login, role, app_id, _app_slug(ctx, app_id))
    teams = [t for t in ctx.store.data["teams"].values() if login in t.get("members", {})]
    org = repo.split("/", 1)[0]
    admins = ctx.store.data["extra"].get("org_admins", {}).get(org, [])
    return ev.Actor(
        login,
        role,
        teams=frozenset(int(t["id"]) for t in teams),
        team_slugs=frozenset(str(t["slug"]) for t in teams),
        org_admin=login in admins,
    )


def _app_slug(ctx: RequestContext, app_id: int) -> str:
    app = ctx.store.data["extra"].get("app") or {}
    if int(app.get("id") or -1) == app_id:
        return str(app.get("slug"))
    from bot.sandbox import appauth

    return appauth.APP_SLUG if app_id == appauth.app_id(ctx.store) else f"app-{app_id}"


def passing(ctx: RequestContext, repo: str, sha: str) -> frozenset[tuple[str, int]]:
    """(name, App id) of each check run that succeeded on `sha`, and (context, 0) of each
    commit status whose newest state is success."""
    runs = ctx.store.where("check_runs", repo=repo, head_sha=sha)
    out = {
        (str(r["name"]), int(r.get("app_id") or 0))
        for r in runs
        if r.get("status") == "completed" and r.get("conclusion") in _PASSING
    }
    newest: dict[str, str] = {}
    for status in ctx.store.where("statuses", repo=repo, sha=sha):
        newest[str(status["context"])] = str(status["state"])
    out |= {(c, 0) for c, s in newest.items() if s == "success"}
    return frozenset(out)


def _refuse(ctx: RequestContext, repo: str, branch: str, change: ev.Change) -> ev.Refusal | None:
    actor = actor_of(ctx, repo)
    prot = state.protection(ctx.store, repo, branch)
    found = ev.classic_push(prot, actor, change) if prot is not None else None
    if found is None:
        found = ev.ruleset_push(state.rulesets(ctx.store, repo).values(), actor, change)
    return found


def check_push(
    ctx: RequestContext, repo: str, ref: str, old: str | None, new: str, *, via: str = "ref"
) -> None:
    """Raise GitHub's refusal when a rule forbids moving `ref` from `old` to `new`
    (``new`` all zeros: deletion). `via` "contents" answers as the contents API (409)."""
    if not ref.startswith("refs/heads/"):
        return
    branch = ref.removeprefix("refs/heads/")
    record = ctx.store.repo(repo) or {}
    if new.strip("0") == "":
        kind = "delete"
    elif old is None:
        kind = "create"
    else:
        kind = "update" if ctx.git.is_ancestor(repo, old, new) else "force"
    commit = ctx.git.read_commit(repo, new) if kind != "delete" else None
    change = ev.Change(
        branch,
        str(record.get("default_branch") or "main"),
        kind,
        passing(ctx, repo, new) if kind != "delete" else frozenset(),
        bool(commit and len(commit.parents) > 1),
    )
    refusal = _refuse(ctx, repo, branch, change)
    if refusal is None:
        return
    if via == "contents":
        text = " ".join(refusal.reasons)
        raise ApiError(409, f"Could not update file: {text}")
    raise ApiError(refusal.status, refusal.message)


def approvals(ctx: RequestContext, repo: str, pull: dict[str, Any], head: str) -> tuple[int, int]:
    """(approvals by writers, those on `head`): each reviewer's newest deciding review."""
    issue = ctx.store.get("issues", f"{repo}#{pull['number']}") or {}
    newest: dict[str, dict[str, Any]] = {}
    for review in ctx.store.where("reviews", repo=repo, pull_number=pull["number"]):
        if review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            newest[str(review["user"])] = review
    counted = [
        r
        for login, r in newest.items()
        if r.get("state") == "APPROVED"
        and login != issue.get("user")
        and role_rank(ctx.store.role_of(repo, login)) >= role_rank("write")
    ]
    return len(counted), sum(1 for r in counted if r.get("commit_id") == head)


def check_merge(
    ctx: RequestContext, repo: str, pull: dict[str, Any], head: str, base: str, method: str
) -> None:
    """Raise the 405 GitHub answers when the base branch's rules forbid this merge."""
    branch = str(pull["base_ref"])
    record = ctx.store.repo(repo) or {}
    count, on_head = approvals(ctx, repo, pull, head)
    facts = ev.MergeFacts(
        branch,
        str(record.get("default_branch") or "main"),
        method,
        count,
        on_head,
        passing(ctx, repo, head),
        ctx.git.is_ancestor(repo, base, head),
    )
    actor = actor_of(ctx, repo)
    prot = state.protection(ctx.store, repo, branch)
    refusal = ev.classic_merge(prot, actor, facts) if prot is not None else None
    if refusal is None:
        refusal = ev.ruleset_merge(state.rulesets(ctx.store, repo).values(), actor, facts)
    if refusal is not None:
        raise ApiError(refusal.status, refusal.message)


def gate(ctx: RequestContext) -> None:
    """Before every handler: the token's permissions for this endpoint, App-only checks,
    the secondary limit on content creation."""
    permissions.enforce(ctx)
    content_limit.check(ctx)
