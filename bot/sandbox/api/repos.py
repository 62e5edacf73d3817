"""Repositories and users: get/create repositories, ``GET /user``, ``GET /users/{login}``.

Also the serializers other groups nest (`repo_json`, `user_or_none`) and the
shared `repo_name` / `new_repository` helpers the scenario kit uses.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.gitstore import Person, UnsafePath, check_name
from bot.sandbox.http import ApiError, RequestContext, Response, Router, invalid_field, paginate
from bot.sandbox.store import Store

_URL_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def user_or_none(ctx: RequestContext, login: str | None) -> dict[str, Any] | None:
    return ctx.store.user_json(login, ctx.base_url)


def repo_json(ctx: RequestContext, repo: dict[str, Any]) -> dict[str, Any]:
    """A repository in GitHub's "full repository" shape."""
    full = repo["full_name"]
    api = f"{ctx.base_url}/repos/{full}"
    html = f"{ctx.base_url}/{full}"
    out: dict[str, Any] = {
        "id": repo["id"],
        "node_id": repo["node_id"],
        "name": repo["name"],
        "full_name": full,
        "owner": user_or_none(ctx, repo["owner"]),
        "private": repo["private"],
        "html_url": html,
        "description": repo.get("description"),
        "fork": False,
        "url": api,
        "git_url": f"{html}.git",
        "ssh_url": f"git@sandbox.local:{full}.git",
        "clone_url": f"{html}.git",
        "svn_url": html,
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "forks_count": 0,
        "forks": 0,
        "stargazers_count": 0,
        "watchers_count": 0,
        "watchers": 0,
        "size": 0,
        "default_branch": repo["default_branch"],
        "open_issues_count": _open_issues(ctx.store, full),
        "open_issues": _open_issues(ctx.store, full),
        "is_template": False,
        "topics": [],
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "visibility": "private" if repo["private"] else "public",
        "pushed_at": repo.get("pushed_at") or repo["created_at"],
        "created_at": repo["created_at"],
        "updated_at": repo["updated_at"],
        "allow_squash_merge": True,
        "allow_merge_commit": True,
        "allow_rebase_merge": False,
        "allow_auto_merge": False,
        "delete_branch_on_merge": False,
        "network_count": 0,
        "subscribers_count": 0,
        "license": None,
    }
    out.update({k: api + v for k, v in _URL_TEMPLATES.items()})
    role = ctx.role(full) if ctx.user else None
    if role is not None:
        out["permissions"] = _permissions(role)
    return out


def _permissions(role: str) -> dict[str, bool]:
    order = ["pull", "triage", "push", "maintain", "admin"]
    rank = ["read", "triage", "write", "maintain", "admin"].index(role)
    return {name: i <= rank for i, name in enumerate(order)}


def _open_issues(store: Store, full: str) -> int:
    return sum(
        1 for i in store.data["issues"].values() if i["repo"] == full and i["state"] == "open"
    )


def repo_name(ctx: RequestContext) -> str:
    """The ``owner/repo`` of the path parameters."""
    return f"{ctx.params['owner']}/{ctx.params['repo']}"


def new_repository(
    store: Store,
    git: Any,
    owner: str,
    name: str,
    *,
    now: str,
    private: bool = False,
    description: str | None = None,
    default_branch: str = "main",
) -> dict[str, Any]:
    """Create the store record and the bare repository (no commits yet)."""
    try:
        check_name(owner)
        check_name(name)
    except UnsafePath:
        raise invalid_field("Repository", "name", "name is invalid") from None
    full = f"{owner}/{name}"
    if store.repo(full) is not None:
        raise ApiError(
            422,
            "Repository creation failed.",
            [
                {
                    "resource": "Repository",
                    "code": "custom",
                    "field": "name",
                    "message": "name already exists on this account",
                }
            ],
        )
    git.init(full, default_branch)
    record = {
        "name": name,
        "full_name": full,
        "owner": owner,
        "private": private,
        "description": description,
        "default_branch": default_branch,
        "created_at": now,
        "updated_at": now,
        "pushed_at": None,
    }
    return store.insert("repos", record, key=full)


def initial_commit(ctx: RequestContext, full: str, branch: str) -> str:
    """A first commit with a README, as ``auto_init`` makes."""
    assert ctx.user is not None
    readme = f"# {full.split('/')[1]}\n".encode()
    blob = ctx.git.hash_blob(full, readme)
    tree = ctx.git.write_tree(full, None, {"README.md": ("100644", blob)})
    person = person_of(ctx, ctx.user.login)
    sha = ctx.git.commit_tree(full, tree, [], "Initial commit", person)
    ctx.git.update_ref(full, f"refs/heads/{branch}", sha, None)
    return sha


def person_of(ctx: RequestContext, login: str, given: dict[str, Any] | None = None) -> Person:
    """A git identity: from a request's ``author``/``committer`` object, else the user's."""
    given = given or {}
    record = ctx.store.user(login) or {"name": login, "email": f"{login}@sandbox.local"}
    return Person(
        str(given.get("name") or record.get("name") or login),
        str(given.get("email") or record.get("email") or f"{login}@sandbox.local"),
        str(given.get("date") or ctx.now()),
    )


def _create(ctx: RequestContext, owner: str) -> Response:
    body = ctx.json()
    name = body.get("name")
    if not isinstance(name, str) or not name:
        raise ApiError(
            422,
            "Repository creation failed.",
            [{"resource": "Repository", "code": "missing_field", "field": "name"}],
        )
    private = bool(body.get("private", False))
    branch = str(body.get("default_branch") or "main")
    repo = new_repository(
        ctx.store,
        ctx.git,
        owner,
        name,
        now=ctx.now(),
        private=private,
        description=body.get("description"),
        default_branch=branch,
    )
    if body.get("auto_init"):
        initial_commit(ctx, repo["full_name"], branch)
        repo["pushed_at"] = ctx.now()
    return Response(201, repo_json(ctx, repo))


def create_for_user(ctx: RequestContext) -> Response:
    if ctx.user is None:
        raise ApiError(401, "Requires authentication")
    if ctx.installation_id is not None:
        raise ApiError(403, "Resource not accessible by integration")
    return _create(ctx, ctx.user.login)


def create_in_org(ctx: RequestContext) -> Response:
    org = ctx.params["org"]
    if ctx.user is None:
        raise ApiError(401, "Requires authentication")
    record = ctx.store.user(org)
    if record is None or record["type"] != "Organization":
        raise ApiError(404, "Not Found")
    teams = [t for t in ctx.store.data["teams"].values() if t["org"] == org]
    admins = ctx.store.data["extra"].get("org_admins", {}).get(org, [])
    member = ctx.user.login in admins or any(ctx.user.login in t["members"] for t in teams)
    if not member:
        raise ApiError(
            403, "You need admin access to the organization before adding a repository to it."
        )
    return _create(ctx, org)


def get_repo(ctx: RequestContext) -> Response:
    repo = ctx.require(repo_name(ctx), "read")
    return Response(200, repo_json(ctx, repo))


def get_authenticated_user(ctx: RequestContext) -> Response:
    if ctx.user is None:
        raise ApiError(401, "Requires authentication")
    if ctx.installation_id is not None:
        raise ApiError(403, "Resource not accessible by integration")
    return Response(200, _user_full(ctx, ctx.user.login))


def get_user(ctx: RequestContext) -> Response:
    if ctx.store.user(ctx.params["login"]) is None:
        raise ApiError(404, "Not Found")
    return Response(200, _user_full(ctx, ctx.params["login"]))


def _user_full(ctx: RequestContext, login: str) -> dict[str, Any]:
    record = ctx.store.user(login)
    assert record is not None
    out = dict(ctx.store.user_json(login, ctx.base_url) or {})
    out.update(
        {
            "name": record.get("name"),
            "company": None,
            "blog": "",
            "location": None,
            "email": record.get("email"),
            "hireable": None,
            "bio": None,
            "public_repos": sum(1 for r in ctx.store.data["repos"].values() if r["owner"] == login),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": record.get("created_at", "2020-01-01T00:00:00Z"),
            "updated_at": record.get("created_at", "2020-01-01T00:00:00Z"),
            "user_view_type": "public",
        }
    )
    return out


def list_user_repos(ctx: RequestContext) -> Response:
    """Repositories the caller owns or collaborates on (directly or through a team)."""
    if ctx.user is None:
        raise ApiError(401, "Requires authentication")
    login = ctx.user.login
    data = ctx.store.data
    teams = [t for t in data["teams"].values() if login in t["members"]]
    repos = [
        repo_json(ctx, r)
        for name, r in data["repos"].items()
        if r["owner"] == login
        or login in data["collaborators"].get(name, {})
        or any(name in t.get("repos", {}) for t in teams)
    ]
    return paginate(ctx, repos)


def routes(router: Router) -> None:
    router.add("GET", "/repos/{owner}/{repo}", get_repo)
    router.add("POST", "/user/repos", create_for_user)
    router.add("POST", "/orgs/{org}/repos", create_in_org)
    router.add("GET", "/user/repos", list_user_repos)
    router.add("GET", "/user", get_authenticated_user)
    router.add("GET", "/users/{login}", get_user)
