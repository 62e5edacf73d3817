"""Who may do what: collaborator permission, collaborators, teams and team membership."""

from __future__ import annotations

from typing import Any

from bot.sandbox.api.repos import repo_name
from bot.sandbox.http import ApiError, RequestContext, Response, Router, paginate

EPOCH = "2020-01-01T00:00:00Z"

# GitHub's legacy `permission` for each role name.
LEGACY = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}


def _permissions(role: str | None) -> dict[str, bool]:
    order = ["read", "triage", "write", "maintain", "admin"]
    rank = order.index(role) if role in order else -1
    names = ["pull", "triage", "push", "maintain", "admin"]
    return {name: i <= rank for i, name in enumerate(names)}


def collaborator_json(ctx: RequestContext, repo: str, login: str) -> dict[str, Any]:
    role = ctx.store.role_of(repo, login)
    out = dict(ctx.store.user_json(login, ctx.base_url) or {})
    out["permissions"] = _permissions(role)
    out["role_name"] = role or "none"
    return out


def _user(ctx: RequestContext) -> str:
    login = ctx.params["username"]
    if ctx.store.user(login) is None:
        raise ApiError(404, "Not Found")
    return login


def get_permission(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    login = _user(ctx)
    role = ctx.store.role_of(repo, login)
    body = {
        "permission": LEGACY.get(role or "", "none"),
        "role_name": role or "none",
        "user": collaborator_json(ctx, repo, login),
    }
    return Response(200, body)


def _is_collaborator(ctx: RequestContext, repo: str, login: str) -> bool:
    record = ctx.store.repo(repo)
    assert record is not None
    if record["owner"] == login or login in ctx.store.data["collaborators"].get(repo, {}):
        return True
    return any(
        login in t["members"] and repo in t.get("repos", {})
        for t in ctx.store.data["teams"].values()
    )


def check_collaborator(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    login = _user(ctx)
    if not _is_collaborator(ctx, repo, login):
        raise ApiError(404, "Not Found")
    return Response(204)


def list_collaborators(ctx: RequestContext) -> Response:
    repo = repo_name(ctx)
    ctx.require(repo, "read")
    logins = [u for u in ctx.store.data["users"] if _is_collaborator(ctx, repo, u)]
    return paginate(ctx, [collaborator_json(ctx, repo, u) for u in sorted(logins)])


def _team(ctx: RequestContext) -> dict[str, Any]:
    if ctx.user is None:
        raise ApiError(401, "Requires authentication")
    team = ctx.store.data["teams"].get(f"{ctx.params['org']}/{ctx.params['team_slug']}")
    if team is None:
        raise ApiError(404, "Not Found")
    return dict(team)


def team_json(ctx: RequestContext, team: dict[str, Any]) -> dict[str, Any]:
    url = f"{ctx.base_url}/orgs/{team['org']}/teams/{team['slug']}"
    return {
        "id": team["id"],
        "node_id": team["node_id"],
        "url": url,
        "html_url": f"{ctx.base_url}/orgs/{team['org']}/teams/{team['slug']}",
        "name": team["name"],
        "slug": team["slug"],
        "description": team.get("description"),
        "privacy": "closed",
        "notification_setting": "notifications_enabled",
        "permission": "pull",
        "members_url": f"{url}/members{{/member}}",
        "repositories_url": f"{url}/repos",
        "parent": None,
        "type": "organization",
    }


def get_team(ctx: RequestContext) -> Response:
    team = _team(ctx)
    out = team_json(ctx, team)
    out.update(
        {
            "created_at": team.get("created_at", EPOCH),
            "updated_at": team.get("created_at", EPOCH),
            "members_count": len(team["members"]),
            "repos_count": len(team.get("repos", {})),
            "organization": _org_json(ctx, team["org"]),
        }
    )
    return Response(200, out)


def _org_json(ctx: RequestContext, org: str) -> dict[str, Any]:
    record = ctx.store.user(org) or {"id": 0, "node_id": ""}
    url = f"{ctx.base_url}/orgs/{org}"
    return {
        "login": org,
        "url": url,
        "id": record["id"],
        "node_id": record["node_id"],
        "repos_url": f"{url}/repos",
        "events_url": f"{url}/events",
        "hooks_url": f"{url}/hooks",
        "issues_url": f"{url}/issues",
        "members_url": f"{url}/members{{/member}}",
        "public_members_url": f"{url}/public_members{{/member}}",
        "avatar_url": f"{ctx.base_url}/avatars/{org}",
        "description": None,
        "html_url": f"{ctx.base_url}/{org}",
        "has_organization_projects": False,
        "has_repository_projects": False,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "type": "Organization",
        "created_at": EPOCH,
        "updated_at": EPOCH,
        "archived_at": None,
    }


def list_teams(ctx: RequestContext) -> Response:
    if ctx.user is None:
        raise ApiError(401, "Requires authentication")
    org = ctx.params["org"]
    teams = [t for t in ctx.store.data["teams"].values() if t["org"] == org]
    return paginate(ctx, [team_json(ctx, t) for t in teams])


def get_membership(ctx: RequestContext) -> Response:
    team = _team(ctx)
    login = ctx.params["username"]
    role = team["members"].get(login)
    if role is None:
        raise ApiError(404, "Not Found")
    url = f"{ctx.base_url}/orgs/{team['org']}/teams/{team['slug']}/memberships/{login}"
    return Response(200, {"url": url, "role": role, "state": "active"})


def list_members(ctx: RequestContext) -> Response:
    team = _team(ctx)
    role = ctx.arg("role", "all")
    logins = [m for m, r in team["members"].items() if role in ("all", r)]
    return paginate(ctx, [ctx.store.user_json(m, ctx.base_url) for m in logins])


def check_org_member(ctx: RequestContext) -> Response:
    org, login = ctx.params["org"], ctx.params["username"]
    members = any(
        login in t["members"] for t in ctx.store.data["teams"].values() if t["org"] == org
    )
    if not members and login not in ctx.store.data["extra"].get("org_admins", {}).get(org, []):
        raise ApiError(404, "Not Found")
    return Response(204)


def routes(router: Router) -> None:
    base = "/repos/{owner}/{repo}/collaborators"
    router.add("GET", base, list_collaborators)
    router.add("GET", base + "/{username}", check_collaborator)
    router.add("GET", base + "/{username}/permission", get_permission)
    router.add("GET", "/orgs/{org}/teams", list_teams)
    router.add("GET", "/orgs/{org}/teams/{team_slug}", get_team)
    router.add("GET", "/orgs/{org}/teams/{team_slug}/members", list_members)
    router.add("GET", "/orgs/{org}/teams/{team_slug}/memberships/{username}", get_membership)
    router.add("GET", "/orgs/{org}/members/{username}", check_org_member)
