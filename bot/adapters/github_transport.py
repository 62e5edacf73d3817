"""The GitHub client's transport: githubkit requests with retries, rate-limit pacing and
conditional GETs.

GETs are conditional (``If-None-Match``) against a `ResponseCache` that may outlive one
client, so a quiet reconcile is answered mostly by 304s; git objects are cached by sha.
Writes are paced under GitHub's content-creation limit.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Self

from bot.adapters import refusals
from bot.adapters.ratelimit import RateLimiter, limiter_for
from bot.errors import ExternalError


@dataclass
class ResponseCache:
    """ETags and bodies of GET responses, plus immutable git objects by sha. Thread-safe."""

    etags: dict[str, tuple[str, Any, str]] = field(default_factory=dict)  # url -> etag, body, next
    objects: dict[str, Any] = field(default_factory=dict)
    comments_seen: dict[tuple[str, int], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    limit: int = 20_000  # entries per map; a long-running server starts afresh past it

    def remember(self, key: str, value: tuple[str, Any, str]) -> None:
        """Store an ETagged response (call with `lock` held)."""
        if len(self.etags) >= self.limit:
            self.etags.clear()
        if len(self.objects) >= self.limit:
            self.objects.clear()
        self.etags[key] = value


SHARED_CACHE = ResponseCache()


RETRIES = 3
MAX_WAIT = 5.0


def _retry_after(response: Any) -> float | None:
    """Seconds to wait before retrying a 5xx, or None when the answer is final (rate-limit
    refusals are the `RateLimiter`'s: it waits for them before the next request)."""
    status = int(response.status_code)
    if status in (500, 502, 503, 504):
        return 0.2
    return None


def _loaded(response: Any) -> Any:
    """`response` with its body read (a streamed one, e.g. an archive, is read here)."""
    raw = getattr(response, "raw_response", None)
    if raw is not None:
        raw.read()
    return response


def _discard(response: Any) -> None:
    """Give back the connection of a response not used (a streamed one holds it)."""
    raw = getattr(response, "raw_response", None)
    if raw is not None:
        raw.close()


def _message(response: Any) -> str:
    """The error body's message of a 403/429 (where a rate limit says which one it is)."""
    if int(response.status_code) not in (403, 429):
        return ""
    _loaded(response)
    try:
        return str(response.json().get("message", ""))
    except Exception:
        return str(response.text[:200])


def _next_link(link: str) -> str:
    for part in link.split(","):
        if 'rel="next"' in part:
            return part.split(";")[0].strip().strip("<>")
    return ""


class GitHubTransport:
    """Requests to one repository's API over githubkit. Use as a context manager."""

    def __init__(
        self,
        repo: str,
        token: str,
        *,
        api_url: str = "https://api.github.com",
        cache: ResponseCache | None = None,
        bot_login: str = "",
        app_id: int = 0,
        writes_per_minute: int = 80,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.repo = repo
        self.owner = repo.split("/", 1)[0]
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.cache = cache if cache is not None else SHARED_CACHE
        self._bot_login = bot_login
        self._app_id = app_id
        self._git_emails: tuple[str, ...] = ()
        self.requests = 0
        self.writes = 0
        self._writes_per_minute = writes_per_minute
        self._recent: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep
        self._events_supported = True
        self._keys: set[str] | None = None
        self._roles: dict[str, str] = {}  # login -> role, read for approvals
        self._gh: Any = None
        # shared by every client of this installation (token) in the process
        self.limiter = limiter if limiter is not None else limiter_for(self.api_url, token)

    def __enter__(self) -> Self:
        from githubkit import GitHub

        self._gh = GitHub(
            self.token, base_url=self.api_url, http_cache=False, auto_retry=False, timeout=30
        )
        self._gh.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._gh.__exit__(*exc)

    # -- transport ---------------------------------------------------------------------

    def _call(self, method: str, url: str, *, retry: bool = True, **kwargs: Any) -> Any:
        """One request; 5xx are retried (a few times) unless `retry` is False (a write that
        must not be repeated blindly). A rate-limit refusal was not carried out, so it is
        sent again once the limiter allows (it waits out Retry-After or the reset, or
        raises `RateLimited` when that is longer than it may wait)."""
        for attempt in range(RETRIES + 1):
            self.limiter.acquire()
            response = self._once(method, url, **kwargs)
            status = int(response.status_code)
            if self.limiter.observe(status, response.headers, _message(response)):
                if attempt == RETRIES:
                    return response
                _discard(response)
                continue
            wait = _retry_after(response)
            if wait is None or not retry or attempt == RETRIES:
                return response
            _discard(response)
            self._sleep(min(wait, MAX_WAIT) * (attempt + 1))
        return response  # pragma: no cover - the loop always returns

    def _once(self, method: str, url: str, **kwargs: Any) -> Any:
        from githubkit.exception import GitHubException, RequestFailed

        if method != "GET":
            self._pace()
        self.requests += 1
        try:
            return self._gh.request(method, url, **kwargs)
        except RequestFailed as exc:  # a rule or a missing permission: typed, never a race
            return refusals.raise_for(self.repo, method, url, exc.response)
        except GitHubException as exc:
            raise ExternalError("GitHub", f"{method} {url}: {exc}", retryable=True) from exc

    def _pace(self) -> None:
        now = self._clock()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self._writes_per_minute:
            self._sleep(60 - (now - self._recent[0]))
        self._recent.append(self._clock())
        self.writes += 1

    def _fail(self, response: Any, what: str) -> ExternalError:
        status = int(response.status_code)
        _loaded(response)
        try:
            detail = response.json().get("message", "")
        except Exception:
            detail = response.text[:200]
        return ExternalError(
            "GitHub", f"{what}: {status} {detail}", status=status, retryable=status >= 500
        )

    def _repo_url(self, path: str) -> str:
        return f"/repos/{self.repo}{path}"

    def _get(self, url: str, params: dict[str, Any] | None = None) -> tuple[int, Any, str]:
        """A conditional GET: (status, body, next page url); 304s answer from the cache."""
        key = url + (
            "?" + "&".join(f"{k}={v}" for k, v in sorted(params.items())) if params else ""
        )
        with self.cache.lock:
            cached = self.cache.etags.get(key)
        headers = {"If-None-Match": cached[0]} if cached else {}
        response = self._call("GET", url, params=params, headers=headers)
        status = int(response.status_code)
        if status == 304 and cached:
            return 200, cached[1], cached[2]
        if status >= 400:
            return status, None, ""
        body = response.json() if response.content else None
        nxt = _next_link(response.headers.get("link", ""))
        etag = response.headers.get("etag")
        if etag:
            with self.cache.lock:
                self.cache.remember(key, (etag, body, nxt))
        return status, body, nxt

    def _get_ok(self, url: str, params: dict[str, Any] | None = None, what: str = "") -> Any:
        status, body, _ = self._get(url, params)
        if status >= 400:
            raise ExternalError("GitHub", f"{what or url}: {status}", status=status)
        return body

    def _pages(self, url: str, params: dict[str, Any], item_key: str = "") -> Iterator[Any]:
        status, body, nxt = self._get(url, {**params, "per_page": 100})
        while True:
            if status >= 400:
                raise ExternalError("GitHub", f"GET {url}: {status}", status=status)
            yield from (body or {}).get(item_key, []) if item_key else (body or [])
            if not nxt:
                return
            status, body, nxt = self._get(nxt)

    def _object(self, kind: str, sha: str) -> Any:
        with self.cache.lock:
            if sha in self.cache.objects:
                return self.cache.objects[sha]
        body = self._get_ok(self._repo_url(f"/git/{kind}/{sha}"), what=f"git {kind} {sha}")
        with self.cache.lock:
            self.cache.objects[sha] = body
        return body
