"""Permissions per endpoint, as GitHub enforces them on installation tokens.

An installation token (an App's, or the Actions ``GITHUB_TOKEN``) carries the permissions
it was minted with, or its installation's. An endpoint that needs one it lacks answers
403 "Resource not accessible by integration" with the header
``X-Accepted-GitHub-Permissions: name=level`` that GitHub sends, so a client can name it.
User tokens are judged by repository role only (the handlers do that).

The Checks API is App-only: a user token (a personal access token) writing a check run or
suite gets 403 "You must authenticate via a GitHub App." (when the sandbox's
``checks_apps_only`` setting is on), and a run may be updated only by the App that
created it.
"""

from __future__ import annotations

import re

from bot.sandbox.http import ApiError, RequestContext
from bot.sandbox.rules import state

LEVELS = {"read": 1, "write": 2, "admin": 3}
_REPO = r"/repos/[^/]+/[^/]+"
_WRITE = ("POST", "PUT", "PATCH", "DELETE")
_CW = ("contents", "write")
_CHECKS = re.compile(_REPO + r"/check-(runs|suites)(/.*)?")
# (methods, path pattern, permission, level): the first match decides
TABLE: tuple[tuple[tuple[str, ...], re.Pattern[str], str, str], ...] = tuple(
    (methods, re.compile(pattern), name, level)
    for methods, pattern, name, level in (
        (("GET",), _REPO + r"/code-scanning/.*", "security_events", "read"),
        (("GET",), r"/orgs/[^/]+/teams/[^/]+(/members.*|/memberships/.*)?", "members", "read"),
        (_WRITE, _REPO + r"/check-(runs|suites)(/.*)?", "checks", "write"),
        (("GET",), _REPO + r"/(check-runs|check-suites)/.*", "checks", "read"),
        (_WRITE, _REPO + r"/branches/[^/]+/protection.*", "administration", "write"),
        (("GET",), _REPO + r"/branches/[^/]+/protection.*", "administration", "read"),
        (_WRITE, _REPO + r"/rulesets(/.*)?", "administration", "write"),
        (("PUT",), _REPO + r"/pulls/\d+/merge", "contents", "write"),
        (_WRITE, _REPO + r"/(git/(refs|trees|commits|blobs|tags)|contents|merges)(/.*)?", *_CW),
        (_WRITE, _REPO + r"/releases(/.*)?", *_CW),
        (("POST", "PATCH"), _REPO + r"/pulls(/\d+)?", "pull_requests", "write"),
        (("POST",), _REPO + r"/statuses/.*", "statuses", "write"),
        (("POST",), _REPO + r"/deployments(/.*)?", "deployments", "write"),
    )
)
APP_ONLY = "You must authenticate via a GitHub App."


def needed(method: str, path: str) -> tuple[str, str] | None:
    """(permission, level) an installation token needs for this request, or None."""
    for methods, pattern, name, level in TABLE:
        if method in methods and pattern.fullmatch(path):
            return name, level
    return None


def granted(ctx: RequestContext) -> dict[str, str] | None:
    """The installation token's permissions (None: not an installation token, or one
    whose installation records none: everything)."""
    if ctx.installation_id is None:
        return None
    if ctx.token_permissions is not None:
        return dict(ctx.token_permissions)
    inst = ctx.store.get("installations", ctx.installation_id) or {}
    perms = inst.get("permissions")
    return dict(perms) if isinstance(perms, dict) else None


def enforce(ctx: RequestContext) -> None:
    _checks_app_only(ctx)
    need = needed(ctx.method, ctx.path)
    perms = granted(ctx)
    if need is None or perms is None:
        return
    name, level = need
    if LEVELS.get(perms.get(name, ""), 0) < LEVELS[level]:
        raise ApiError(
            403,
            "Resource not accessible by integration",
            headers={"X-Accepted-GitHub-Permissions": f"{name}={level}"},
        )


def _checks_app_only(ctx: RequestContext) -> None:
    if ctx.method not in _WRITE or not _CHECKS.fullmatch(ctx.path):
        return
    if ctx.installation_id is None and ctx.user is not None:
        if state.settings(ctx.store).get("checks_apps_only"):
            raise ApiError(403, APP_ONLY)
        return
    found = re.fullmatch(_REPO + r"/check-runs/(\d+)", ctx.path)
    if ctx.method == "PATCH" and found and ctx.installation_id is not None:
        run = ctx.store.get("check_runs", found.group(1))
        inst = ctx.store.get("installations", ctx.installation_id) or {}
        owner = int(inst.get("app_id") or 0)
        if run is not None and owner and int(run.get("app_id") or 0) != owner:
            raise ApiError(
                403,
                f"Invalid app_id `{owner}` - check run can only be modified by the GitHub App "
                "that created it.",
            )
