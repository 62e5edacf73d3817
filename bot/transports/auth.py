"""GitHub App authentication: App JWT → installation token, cached until near expiry.

Done by hand with PyJWT and httpx rather than through githubkit's `AppAuthStrategy`, so
the cache is explicit (one token per installation, refreshed `REFRESH_MARGIN` seconds
before `expires_at`), thread-safe, and every minted token is handed to the log redactor.
Responses are read as plain JSON; GitHub's App endpoints used:
`POST /app/installations/{id}/access_tokens`, `GET /app`, `GET /app/installations`,
`GET /installation/repositories`, `GET /repos/{owner}/{repo}/installation`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from bot.errors import ExternalError

JWT_LIFETIME = 540  # seconds; GitHub allows at most 10 minutes
JWT_BACKDATE = 60  # seconds, for clock drift, as GitHub recommends
REFRESH_MARGIN = 300  # refresh installation tokens 5 minutes before they expire
LEVELS = {"read": 1, "write": 2, "admin": 3}
TokenKey = tuple[int, tuple[str, ...], tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class CachedToken:
    token: str
    expires_at: float  # epoch seconds

    def fresh(self, now: float, margin: float = REFRESH_MARGIN) -> bool:
        return now < self.expires_at - margin


def parse_expiry(text: str) -> float:
    """GitHub's `expires_at` (ISO 8601, `Z`) as epoch seconds."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def make_jwt(app_id: str, private_key: str, now: float) -> str:
    import jwt

    payload = {"iat": int(now) - JWT_BACKDATE, "exp": int(now) + JWT_LIFETIME, "iss": app_id}
    return str(jwt.encode(payload, private_key, algorithm="RS256"))


class AppAuth:
    """Mints and caches the App's JWT and its installation tokens."""

    def __init__(
        self,
        app_id: str,
        private_key: str,
        api_url: str,
        *,
        clock: Callable[[], float] = time.time,
        on_token: Callable[[str], None] | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.app_id = app_id
        self._key = private_key
        self.api_url = api_url.rstrip("/")
        self._clock = clock
        self._on_token = on_token or (lambda _token: None)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._jwt: CachedToken | None = None
        # by (installation, repositories, permissions); () and None: the whole installation
        self._tokens: dict[TokenKey, CachedToken] = {}
        self._granted: dict[int, dict[str, str]] = {}

    def jwt(self) -> str:
        now = self._clock()
        with self._lock:
            if self._jwt is None or not self._jwt.fresh(now, margin=60):
                token = make_jwt(self.app_id, self._key, now)
                self._jwt = CachedToken(token, now + JWT_LIFETIME)
                self._on_token(token)
            return self._jwt.token

    def installation_token(
        self,
        installation_id: int,
        repositories: tuple[str, ...] = (),
        permissions: Mapping[str, str] | None = None,
    ) -> str:
        """A token for `installation_id`, minted once and reused until near expiry. With
        `repositories` (owner/name or name) and/or `permissions` it is narrowed to them
        (permissions the installation lacks are left out, so the request stays valid)."""
        names = tuple(sorted({r.rsplit("/", 1)[-1] for r in repositories}))
        wanted = self._within_grant(installation_id, permissions) if permissions else None
        key: TokenKey = (installation_id, names, tuple(sorted((wanted or {}).items())))
        now = self._clock()
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.fresh(now):
                return cached.token
        body: dict[str, Any] = {}
        if names:
            body["repositories"] = list(names)
        if wanted:
            body["permissions"] = wanted
        path = f"/app/installations/{installation_id}/access_tokens"
        answer = self._request("POST", path, self.jwt(), body or None)
        token, expires = answer.get("token"), answer.get("expires_at")
        if not isinstance(token, str) or not isinstance(expires, str):
            raise ExternalError("GitHub", "installation token response lacks token/expires_at")
        self._on_token(token)
        with self._lock:
            self._tokens[key] = CachedToken(token, parse_expiry(expires))
        return token

    def _within_grant(self, installation_id: int, wanted: Mapping[str, str]) -> dict[str, str]:
        """`wanted` capped at what the installation was granted (asked once per process)."""
        with self._lock:
            granted = self._granted.get(installation_id)
        if granted is None:
            body = self._request("GET", f"/app/installations/{installation_id}", self.jwt())
            raw = body.get("permissions")
            granted = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
            with self._lock:
                self._granted[installation_id] = granted
        out = {}
        for name, level in wanted.items():
            have = granted.get(name)
            if have is not None:
                out[name] = level if LEVELS.get(level, 0) <= LEVELS.get(have, 0) else have
        return out

    def app_slug(self) -> str:
        slug = self._request("GET", "/app", self.jwt()).get("slug")
        if not isinstance(slug, str):
            raise ExternalError("GitHub", "GET /app has no slug")
        return slug

    def installations(self) -> list[int]:
        ids = []
        for page in self._pages("/app/installations?per_page=100", self.jwt):
            ids += [int(i["id"]) for i in page if isinstance(i, dict) and "id" in i]
        return ids

    def repositories(self, installation_id: int) -> list[str]:
        names: list[str] = []

        def token() -> str:
            return self.installation_token(installation_id)

        for page in self._pages("/installation/repositories?per_page=100", token):
            repos = page.get("repositories", []) if isinstance(page, dict) else []
            names += [str(r["full_name"]) for r in repos if isinstance(r, dict)]
        return names

    def rate_limit_remaining(self, installation_id: int) -> int | None:
        """Core requests left for the installation (`GET /rate_limit` costs none)."""
        body = self._request("GET", "/rate_limit", self.installation_token(installation_id))
        core = body.get("resources", {}).get("core", {}) if isinstance(body, dict) else {}
        remaining = core.get("remaining") if isinstance(core, dict) else None
        return remaining if isinstance(remaining, int) else None

    def installation_for(self, repo: str) -> int:
        body = self._request("GET", f"/repos/{repo}/installation", self.jwt())
        if not isinstance(body.get("id"), int):
            raise ExternalError("GitHub", f"no installation found for {repo}")
        return int(body["id"])

    def _pages(self, path: str, token: Callable[[], str]) -> Iterator[Any]:
        url: str | None = self.api_url + path
        while url:
            response = self._send("GET", url, token())
            yield response.json()
            url = response.links.get("next", {}).get("url")

    def _request(
        self, method: str, path: str, token: str, json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = self._send(method, self.api_url + path, token, json).json()
        return body if isinstance(body, dict) else {}

    def _send(
        self, method: str, url: str, token: str, json: dict[str, Any] | None = None
    ) -> httpx.Response:
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "release-train",
        }
        try:
            response = httpx.request(method, url, headers=headers, json=json, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise ExternalError(
                "GitHub", f"{method} {url}: {type(exc).__name__}", retryable=True
            ) from None
        if response.status_code >= 400:
            raise ExternalError(
                "GitHub",
                f"{method} {url} answered {response.status_code}: {_message(response)}",
                status=response.status_code,
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        return response

    def has_file(self, repo: str, installation_id: int, path: str) -> bool:
        """Whether `path` exists on the default branch of `repo` (200 yes, 404 no)."""
        url = f"{self.api_url}/repos/{repo}/contents/{path}"
        try:
            self._send("GET", url, self.installation_token(installation_id))
        except ExternalError as exc:
            if exc.status == 404:
                return False
            raise
        return True


def _message(response: httpx.Response) -> str:
    """GitHub's error `message`, if the body has one (never the whole body)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return str(body.get("message", ""))[:200] if isinstance(body, dict) else ""
