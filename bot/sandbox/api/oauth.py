"""A GitHub App's user authorization (OAuth web flow) and the user-to-server endpoints.

- ``GET /login/oauth/authorize?client_id&redirect_uri&state`` signs in a sandbox user and
  redirects back with ``code`` and ``state`` (GitHub asks the person; the sandbox takes the
  user from ``login=`` or from ``extra["oauth_login"]``, and otherwise lists users to pick).
- ``POST /login/oauth/access_token`` trades a code (single use, 10 minutes) for a ``ghu_``
  user-to-server token; form or JSON body, JSON answer when ``Accept`` asks for it. Errors
  answer 200 with ``error`` / ``error_description``, as GitHub does.
- ``GET /user/installations`` and ``GET /user/installations/{id}/repositories``: the App's
  installations and their repositories the user can reach, with the user's ``permissions``.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlencode

from bot.sandbox import appauth
from bot.sandbox.api.apps import installation_json, installation_repos_page
from bot.sandbox.api.repos import repo_json
from bot.sandbox.http import ApiError, RequestContext, Response, paginate, role_rank

CODE_LIFETIME = timedelta(minutes=10)
USER_TOKEN_LIFETIME = timedelta(hours=8)
ERROR_URI = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors"


def client_secret(store: Any) -> str:
    """The App's client secret (derived from its key, so a restarted sandbox keeps it)."""
    app = appauth.ensure_app(store)
    return hashlib.sha256(f"oauth:{app['private_key_pem']}".encode()).hexdigest()[:40]


def mint_user_token(store: Any, login: str, now: datetime) -> str:
    """A ``ghu_`` user-to-server token for `login` (what the code exchange hands out)."""
    expires = now.astimezone(UTC) + USER_TOKEN_LIFETIME
    with store.transaction() as data:
        token = store.add_token(
            login,
            token="ghu_" + secrets.token_hex(18),
            expires_at=expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        data["tokens"][token]["user_to_server"] = True
    return str(token)


def _codes(ctx: RequestContext) -> dict[str, Any]:
    codes: dict[str, Any] = ctx.store.data["extra"].setdefault("oauth_codes", {})
    return codes


def authorize(ctx: RequestContext) -> Response:
    app = appauth.ensure_app(ctx.store)
    if ctx.arg("client_id") != app["client_id"]:
        raise ApiError(404, "Not Found")
    redirect_uri = ctx.arg("redirect_uri") or ""
    if not redirect_uri.startswith(("http://", "https://")):
        raise ApiError(422, "redirect_uri is required by the sandbox")
    login = ctx.arg("login") or ctx.store.data["extra"].get("oauth_login")
    if not login:
        return _chooser(ctx)
    if ctx.store.user(login) is None:
        raise ApiError(404, f"no such user {login}")
    code = secrets.token_hex(10)
    expires = (ctx.clock().astimezone(UTC) + CODE_LIFETIME).timestamp()
    with ctx.store.transaction():
        _codes(ctx)[code] = {"login": login, "redirect_uri": redirect_uri, "expires": expires}
    query = {"code": code} | ({"state": ctx.arg("state") or ""} if ctx.arg("state") else {})
    sep = "&" if "?" in redirect_uri else "?"
    return Response(302, None, {"Location": f"{redirect_uri}{sep}{urlencode(query)}"})


def _chooser(ctx: RequestContext) -> Response:
    """No user chosen: a page of links, one per sandbox user, back to this endpoint."""
    base = {k: v[0] for k, v in ctx.query.items() if k != "login"}
    links = "".join(
        f'<li><a href="{escape(ctx.base_url + ctx.path + "?" + urlencode(base | {"login": u}))}">'
        f"{escape(u)}</a></li>"
        for u, record in ctx.store.data["users"].items()
        if record.get("type") == "User"
    )
    html = (
        f"<!doctype html><title>Sign in to the sandbox</title><h1>Sign in as</h1><ul>{links}</ul>"
    )
    return Response(200, html.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _params(ctx: RequestContext) -> dict[str, str]:
    out = {k: v[0] for k, v in ctx.query.items() if v}
    if ctx.headers.get("content-type", "").startswith("application/json"):
        out |= {k: str(v) for k, v in ctx.json().items()}
    elif ctx.body:
        text = ctx.body.decode("utf-8", "replace")
        out |= {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
    return out


def _oauth_answer(ctx: RequestContext, body: dict[str, Any]) -> Response:
    if "json" in ctx.headers.get("accept", ""):
        return Response(200, body)
    encoded = urlencode({k: str(v) for k, v in body.items()}).encode()
    return Response(200, encoded, {"Content-Type": "application/x-www-form-urlencoded"})


def _error(ctx: RequestContext, error: str, description: str) -> Response:
    return _oauth_answer(
        ctx, {"error": error, "error_description": description, "error_uri": ERROR_URI}
    )


def access_token(ctx: RequestContext) -> Response:
    params = _params(ctx)
    app = appauth.ensure_app(ctx.store)
    if params.get("client_id") != app["client_id"] or not secrets.compare_digest(
        params.get("client_secret", ""), client_secret(ctx.store)
    ):
        return _error(
            ctx,
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        )
    grant = _codes(ctx).pop(params.get("code", ""), None)  # single use, even when refused
    if grant is None or grant["expires"] <= ctx.clock().timestamp():
        return _error(ctx, "bad_verification_code", "The code passed is incorrect or expired.")
    if params.get("redirect_uri") and params["redirect_uri"] != grant["redirect_uri"]:
        return _error(
            ctx,
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        )
    token = mint_user_token(ctx.store, grant["login"], ctx.clock())
    seconds = int(USER_TOKEN_LIFETIME.total_seconds())
    return _oauth_answer(
        ctx,
        {
            "access_token": token,
            "expires_in": seconds,
            "refresh_token": "ghr_" + secrets.token_hex(18),
            "refresh_token_expires_in": 15811200,
            "scope": "",
            "token_type": "bearer",
        },
    )


def _user_to_server(ctx: RequestContext) -> str:
    """The login behind a user-to-server token; 401/403 as GitHub answers otherwise."""
    if ctx.user is None:
        raise ApiError(401, "Requires authentication")
    record = ctx.store.get("tokens", ctx.token or "") or {}
    if ctx.installation_id is not None or not record.get("user_to_server"):
        raise ApiError(
            403,
            "You must authenticate with an access token authorized to a GitHub App in order "
            "to list installations",
        )
    return ctx.user.login


def _readable(ctx: RequestContext, inst: dict[str, Any], login: str) -> list[tuple[str, str]]:
    """(full name, role) of the installation's repositories the user can read."""
    out = []
    for name in appauth.covered_repos(ctx.store, inst):
        role = ctx.store.role_of(name, login)
        if role_rank(role) >= 1:
            out.append((name, str(role)))
    return out


PERMISSIONS = ("pull", "triage", "push", "maintain", "admin")


def list_user_installations(ctx: RequestContext) -> Response:
    login = _user_to_server(ctx)
    items = [
        installation_json(ctx, inst)
        for inst in ctx.store.data["installations"].values()
        if _readable(ctx, inst, login)
    ]
    page = paginate(ctx, items)
    page.body = {"total_count": len(items), "installations": page.body}
    return page


def list_user_installation_repos(ctx: RequestContext) -> Response:
    login = _user_to_server(ctx)
    inst = ctx.store.get("installations", ctx.params["installation_id"])
    readable = _readable(ctx, inst, login) if inst is not None else []
    if inst is None or not readable:
        raise ApiError(404, "Not Found")
    repos = []
    for name, role in readable:
        rank = role_rank(role)
        perms = {p: rank >= i + 1 for i, p in enumerate(PERMISSIONS)}
        repos.append(repo_json(ctx, ctx.store.data["repos"][name]) | {"permissions": perms})
    return installation_repos_page(ctx, inst, repos)


def routes(router: Any) -> None:
    router.add("GET", "/login/oauth/authorize", authorize)
    router.add("POST", "/login/oauth/access_token", access_token)
    router.add("GET", "/user/installations", list_user_installations)
    router.add(
        "GET", "/user/installations/{installation_id}/repositories", list_user_installation_repos
    )
