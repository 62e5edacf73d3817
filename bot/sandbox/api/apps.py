"""GitHub App endpoints: ``GET /app``, installations, installation access tokens.

Calls under ``/app`` authenticate with the App's JWT (``Authorization: Bearer <jwt>``),
checked against the App's public key by `bot.sandbox.appauth`. An installation token
then acts as ``release-train[bot]`` with the installation's repository role.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import appauth
from bot.sandbox.api.repos import repo_json, user_or_none
from bot.sandbox.http import ApiError, RequestContext, Response, Router, paginate


def _require_jwt(ctx: RequestContext) -> dict[str, Any]:
    if ctx.user is not None:
        raise ApiError(
            401,
            "A JSON web token could not be decoded",
        )
    return appauth.verify_app_jwt(ctx.store, ctx.token, ctx.clock())


def app_json(ctx: RequestContext, app: dict[str, Any]) -> dict[str, Any]:
    """The App as GitHub's "integration" object."""
    owner = user_or_none(ctx, app.get("owner")) if app.get("owner") else None
    return {
        "id": app["id"],
        "slug": app["slug"],
        "client_id": app["client_id"],
        "node_id": f"A_sandbox{app['id']}",
        "owner": owner or _placeholder_owner(ctx),
        "name": app["name"],
        "description": "GitOps release trains",
        "external_url": f"{ctx.base_url}/apps/{app['slug']}",
        "html_url": f"{ctx.base_url}/apps/{app['slug']}",
        "created_at": app["created_at"],
        "updated_at": app["created_at"],
        "permissions": app["permissions"],
        "events": app["events"],
        "installations_count": len(ctx.store.data["installations"]),
    }


def via_app_json(ctx: RequestContext, record: dict[str, Any]) -> dict[str, Any] | None:
    """`performed_via_github_app` of a thing an installation token made (None otherwise)."""
    if not record.get("via_app"):
        return None
    return app_json(ctx, appauth.ensure_app(ctx.store))


def _placeholder_owner(ctx: RequestContext) -> dict[str, Any]:
    """The App's owner when none was set: the first organization-like account."""
    for inst in ctx.store.data["installations"].values():
        found = user_or_none(ctx, inst.get("account"))
        if found is not None:
            return found
    found = user_or_none(ctx, appauth.BOT_LOGIN)
    assert found is not None
    return found


def installation_json(ctx: RequestContext, inst: dict[str, Any]) -> dict[str, Any]:
    app = appauth.ensure_app(ctx.store)
    account = user_or_none(ctx, inst.get("account"))
    if account is not None:  # the listing's schema also wants the enterprise-style fields
        record = ctx.store.user(account["login"]) or {}
        account |= {
            "name": record.get("name") or account["login"],
            "slug": account["login"],
            "created_at": record.get("created_at", app["created_at"]),
            "updated_at": record.get("created_at", app["created_at"]),
        }
    api = f"{ctx.base_url}/app/installations/{inst['id']}"
    return {
        "id": inst["id"],
        "account": account,
        "repository_selection": "all" if inst.get("repositories") is None else "selected",
        "access_tokens_url": f"{api}/access_tokens",
        "repositories_url": f"{ctx.base_url}/installation/repositories",
        "html_url": f"{ctx.base_url}/settings/installations/{inst['id']}",
        "app_id": app["id"],
        "app_slug": app["slug"],
        "client_id": app["client_id"],
        "target_id": account["id"] if account else 0,
        "target_type": (account or {}).get("type", "User"),
        "permissions": inst.get("permissions") or app["permissions"],
        "events": app["events"],
        "created_at": inst.get("created_at", app["created_at"]),
        "updated_at": inst.get("updated_at", app["created_at"]),
        "single_file_name": None,
        "has_multiple_single_files": False,
        "single_file_paths": [],
        "suspended_by": None,
        "suspended_at": None,
    }


def _installation(ctx: RequestContext) -> dict[str, Any]:
    inst = ctx.store.get("installations", ctx.params["installation_id"])
    if inst is None:
        raise ApiError(404, "Not Found")
    return inst


def get_app(ctx: RequestContext) -> Response:
    app = _require_jwt(ctx)
    return Response(200, app_json(ctx, app))


def list_installations(ctx: RequestContext) -> Response:
    _require_jwt(ctx)
    items = [installation_json(ctx, i) for i in ctx.store.data["installations"].values()]
    return paginate(ctx, items)


def get_installation(ctx: RequestContext) -> Response:
    _require_jwt(ctx)
    return Response(200, installation_json(ctx, _installation(ctx)))


LEVELS = {"read": 1, "write": 2, "admin": 3}


def create_access_token(ctx: RequestContext) -> Response:
    """Mint an installation token; `repositories` (names) and `permissions` narrow it, as
    on GitHub: asking beyond what the installation has is a 422."""
    _require_jwt(ctx)
    inst = _installation(ctx)
    body = ctx.json()
    covered = _covered_repos(ctx, inst)
    granted = installation_json(ctx, inst)["permissions"]
    scope = _scope(body.get("repositories"), covered)
    perms = _permissions(body.get("permissions"), granted)
    token, expires = appauth.mint_installation_token(
        ctx.store, int(inst["id"]), ctx.clock(), repositories=scope, permissions=perms
    )
    out: dict[str, Any] = {
        "token": token,
        "expires_at": expires,
        "permissions": perms or granted,
        "repository_selection": "all" if inst.get("repositories") is None else "selected",
    }
    if scope is not None or inst.get("repositories") is not None:
        shown = scope if scope is not None else covered
        out["repositories"] = [repo_json(ctx, ctx.store.data["repos"][r]) for r in shown]
        out["repository_selection"] = "selected"
    return Response(201, out)


def _scope(wanted: object, covered: list[str]) -> list[str] | None:
    """The full names a token asks for (by name, as GitHub takes them); None: all."""
    if wanted is None:
        return None
    by_name = {r.split("/")[-1].lower(): r for r in covered}
    if not isinstance(wanted, list) or any(str(w).lower() not in by_name for w in wanted):
        raise ApiError(
            422,
            "There is at least one repository that does not exist or is not "
            "accessible to the parent installation.",
        )
    return [by_name[str(w).lower()] for w in wanted]


def _permissions(wanted: object, granted: dict[str, str]) -> dict[str, str] | None:
    if wanted is None:
        return None
    if not isinstance(wanted, dict) or any(
        LEVELS.get(str(level), 99) > LEVELS.get(granted.get(str(name), ""), 0)
        for name, level in wanted.items()
    ):
        raise ApiError(422, "The permissions requested are not granted to this installation.")
    return {str(k): str(v) for k, v in wanted.items()}


def _covered_repos(ctx: RequestContext, inst: dict[str, Any]) -> list[str]:
    return appauth.covered_repos(ctx.store, inst)


def get_repo_installation(ctx: RequestContext) -> Response:
    _require_jwt(ctx)
    full = f"{ctx.params['owner']}/{ctx.params['repo']}"
    for inst in ctx.store.data["installations"].values():
        if full in _covered_repos(ctx, inst):
            return Response(200, installation_json(ctx, inst))
    raise ApiError(404, "Not Found")


def list_installation_repos(ctx: RequestContext) -> Response:
    if ctx.installation_id is None:
        raise ApiError(
            403,
            "You must authenticate with an installation access token in order "
            "to list repositories for an installation.",
        )
    inst = ctx.store.get("installations", ctx.installation_id)
    if inst is None:
        raise ApiError(404, "Not Found")
    scope = ctx.token_repos
    names = [r for r in _covered_repos(ctx, inst) if scope is None or r.lower() in scope]
    repos = [repo_json(ctx, ctx.store.data["repos"][r]) for r in names]
    return installation_repos_page(ctx, inst, repos)


def installation_repos_page(
    ctx: RequestContext, inst: dict[str, Any], repos: list[dict[str, Any]]
) -> Response:
    """A page of an installation's repositories, in GitHub's envelope (the App's listing and
    a signed-in user's listing of the same installation answer alike)."""
    page = paginate(ctx, repos)
    page.body = {
        "total_count": len(repos),
        "repository_selection": "all" if inst.get("repositories") is None else "selected",
        "repositories": page.body,
    }
    return page


def routes(router: Router) -> None:
    router.add("GET", "/app", get_app)
    router.add("GET", "/app/installations", list_installations)
    router.add("GET", "/app/installations/{installation_id}", get_installation)
    router.add("POST", "/app/installations/{installation_id}/access_tokens", create_access_token)
    router.add("GET", "/repos/{owner}/{repo}/installation", get_repo_installation)
    router.add("GET", "/installation/repositories", list_installation_repos)
