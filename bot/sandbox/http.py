"""The sandbox's plug-in contract: routes, request context, responses, API errors.

Every endpoint group is a module under `bot.sandbox.api` exposing ``routes(router)``.
A handler takes a `RequestContext` and returns a `Response` or raises `ApiError`.
This module does no I/O of its own; the server (`bot.sandbox.server`) fills the
context and renders the response.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

if TYPE_CHECKING:
    from bot.sandbox.gitstore import GitStore
    from bot.sandbox.store import Store

DOCS_URL = "https://docs.github.com/rest"
# A Response carrying this header is never written: the server closes the socket instead
# (the "timeout" fault: a client waiting for an answer sees the connection drop).
DROP_HEADER = "X-Sandbox-Drop"

# Repository roles from weakest to strongest, as GitHub names them.
ROLES = ("read", "triage", "write", "maintain", "admin")


def role_rank(role: str | None) -> int:
    """0 for no access, 1 for read ... 5 for admin."""
    return ROLES.index(role) + 1 if role in ROLES else 0


class ApiError(Exception):
    """An error answered in GitHub's shape: ``{"message", "documentation_url", "errors"?}``."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "documentation_url": DOCS_URL}
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


def missing_field(resource: str, name: str) -> ApiError:
    """422 for a required field that is absent, as GitHub words it."""
    return ApiError(
        422,
        "Invalid request.",
        [{"resource": resource, "field": name, "code": "missing_field"}],
    )


def invalid_field(resource: str, name: str, message: str = "") -> ApiError:
    error: dict[str, Any] = {"resource": resource, "field": name, "code": "invalid"}
    if message:
        error["message"] = message
    return ApiError(422, "Validation Failed", [error])


@dataclass(frozen=True)
class User:
    """The authenticated caller. `type` is "User" or "Bot"."""

    login: str
    id: int
    type: str = "User"
    site_admin: bool = False


@dataclass
class Response:
    status: int = 200
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[["RequestContext"], Response]


@dataclass
class RequestContext:
    """One request as a handler sees it. `params` are the path parameters."""

    method: str
    path: str
    params: dict[str, str]
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    store: Store
    git: GitStore
    base_url: str
    user: User | None = None
    installation_id: int | None = None
    # an installation token minted for some repositories / permissions only (None: all)
    token_repos: frozenset[str] | None = None
    token_permissions: dict[str, str] | None = None
    token: str | None = None  # the raw token, e.g. an App JWT that no user owns
    deliver: Callable[[str, dict[str, Any], str], None] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    server: Any = None  # the bot.sandbox.server.Server, for plug-ins that need more
    cache: dict[str, Any] = field(default_factory=dict)  # per-request memo (e.g. branch tips)

    def json(self) -> dict[str, Any]:
        """The JSON body; `{}` when empty; 400 "Problems parsing JSON" when malformed."""
        if not self.body.strip():
            return {}
        try:
            value = json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Problems parsing JSON") from None
        if not isinstance(value, dict):
            raise ApiError(400, "Problems parsing JSON")
        return value

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def now(self) -> str:
        """The current time as GitHub writes it: ``2024-01-02T03:04:05Z``."""
        return self.clock().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def emit(self, event: str, payload: dict[str, Any], repo: str) -> None:
        """Queue a webhook through the server's deliverer; a no-op when there is none."""
        if self.deliver is None:
            return
        if self.user is not None and "sender" not in payload:
            payload = {**payload, "sender": self.store.user_json(self.user.login)}
        self.deliver(event, payload, repo)

    def role(self, repo_full_name: str) -> str | None:
        """The caller's role on a repository (None: no access). A narrowed installation
        token reaches only its repositories, and only reads unless it may write something."""
        if self.token_repos is not None and repo_full_name.lower() not in self.token_repos:
            return None
        role = self.store.role_of(
            repo_full_name,
            self.user.login if self.user else None,
            installation_id=self.installation_id,
        )
        perms = self.token_permissions
        if role is not None and perms is not None and "write" not in perms.values():
            return "read"
        return role

    def require(self, repo_full_name: str, role: str = "read") -> dict[str, Any]:
        """The repository record, or 404/403 as GitHub answers for missing access."""
        repo = self.store.repo(repo_full_name)
        if repo is None:
            raise ApiError(404, "Not Found")
        have = role_rank(self.role(repo_full_name))
        if have == 0:
            raise ApiError(404, "Not Found")
        if self.user is None and self.method not in ("GET", "HEAD"):
            raise ApiError(401, "Requires authentication")
        if have < role_rank(role):
            if self.user is None:
                raise ApiError(401, "Requires authentication")
            raise forbidden(role, self.installation_id is not None)
        return repo


def forbidden(role: str, integration: bool) -> ApiError:
    if integration:
        return ApiError(403, "Resource not accessible by integration")
    if role == "admin":
        return ApiError(403, "Must have admin rights to Repository.")
    if role in ("write", "maintain"):
        return ApiError(403, "Must have push access to repository.")
    return ApiError(403, "Resource not accessible by personal access token")


def paginate(ctx: RequestContext, items: list[Any], *, default: int = 30) -> Response:
    """One page of `items` with GitHub's `Link` header (`per_page` max 100, `page` from 1)."""
    per_page = _int_arg(ctx, "per_page", default)
    per_page = max(1, min(per_page, 100))
    page = max(1, _int_arg(ctx, "page", 1))
    last = max(1, -(-len(items) // per_page))
    chunk = items[(page - 1) * per_page : page * per_page]
    links = []
    if page < last:
        links.append(f'<{_page_url(ctx, page + 1, per_page)}>; rel="next"')
        links.append(f'<{_page_url(ctx, last, per_page)}>; rel="last"')
    if page > 1:
        links.append(f'<{_page_url(ctx, page - 1, per_page)}>; rel="prev"')
        links.append(f'<{_page_url(ctx, 1, per_page)}>; rel="first"')
    headers = {"Link": ", ".join(links)} if links else {}
    return Response(200, chunk, headers)


def _int_arg(ctx: RequestContext, name: str, default: int) -> int:
    text = ctx.arg(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise invalid_field("Query", name, f"{name} must be an integer") from None


def _page_url(ctx: RequestContext, page: int, per_page: int) -> str:
    query = [(k, v) for k, vs in ctx.query.items() if k not in ("page", "per_page") for v in vs]
    query += [("per_page", str(per_page)), ("page", str(page))]
    return f"{ctx.base_url}{quote(ctx.path, safe='/:@[]')}?{urlencode(query)}"


_PARAM = re.compile(r"\{(\w+)(\+?)\}")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    regex: re.Pattern[str]
    handler: Handler


class Router:
    """Maps ``(method, path)`` to a handler; ``{name}`` is one segment, ``{name+}`` the rest."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append(Route(method.upper(), pattern, _compile(pattern), handler))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The best route: the one with the most literal characters wins over generic ones."""
        best: tuple[int, Route, dict[str, str]] | None = None
        method = "GET" if method.upper() == "HEAD" else method.upper()
        for route in self.routes:
            if route.method != method:
                continue
            found = route.regex.fullmatch(path)
            if found is None:
                continue
            score = len(_PARAM.sub("", route.pattern))
            if best is None or score > best[0]:
                best = (score, route, found.groupdict())
        return (best[1], best[2]) if best else None


def _compile(pattern: str) -> re.Pattern[str]:
    out, pos = [], 0
    for m in _PARAM.finditer(pattern):
        out.append(re.escape(pattern[pos : m.start()]))
        out.append(f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)")
        pos = m.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out))
