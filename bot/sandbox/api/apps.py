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


def create_access_token(ctx: RequestContext) -> Response:
    _require_jwt(ctx)
    inst = _installation(ctx)
    body = ctx.json()
    covered = _covered_repos(ctx, inst)
    wanted = body.get("repositories")
    if isinstance(wanted, list):
        names = {r.split("/")[-1] for r in covered}
        missing = [w for w in wanted if w not in names]
        if missing:
            raise ApiError(
                422,
                "There is at least one repository that does not exist or is not "
                "accessible to the parent installation.",
            )
    token, expires = appauth.mint_installation_token(ctx.store, int(inst["id"]), ctx.clock())
    out: dict[str, Any] = {
        "token": token,
        "expires_at": expires,
        "permissions": body.get("permissions") or installation_json(ctx, inst)["permissions"],
        "repository_selection": "all" if inst.get("repositories") is None else "selected",
    }
    if inst.get("repositories") is not None:
        out["repositories"] = [repo_json(ctx, ctx.store.data["repos"][r]) for r in covered]
    return Response(201, out)


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
    repos = [repo_json(ctx, ctx.store.data["repos"][r]) for r in _covered_repos(ctx, inst)]
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
