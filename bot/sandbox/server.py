"""The sandbox's HTTP server: routing, auth, rate-limit headers, ETags, error bodies.

A stdlib `ThreadingHTTPServer` bound to loopback. Each request becomes a
`RequestContext`; a handler crash answers 500 in GitHub's shape and is logged,
never killing the server. Plug-ins hook in through `Server.before_request`
(return a `Response` to short-circuit) and `Server.deliver` (webhook delivery).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from bot.sandbox import rules
from bot.sandbox.gitstore import GitError, GitStore, UnsafePath
from bot.sandbox.http import DROP_HEADER, ApiError, RequestContext, Response, Router, User
from bot.sandbox.store import Store

log = logging.getLogger("bot.sandbox")

MAX_BODY = 25 * 1024 * 1024
RATE_LIMIT_USER = 5000
RATE_LIMIT_ANONYMOUS = 60
RATE_WINDOW = 3600
UNCOUNTED_PATHS = frozenset({"/rate_limit"})  # GitHub: "does not count against your limit"
_JWT_SUFFIX = "/installation"  # /repos/{o}/{r}, /orgs/{org}, /users/{u} installation
# Paths of APIs that are not GitHub's (Argo CD's: bot.sandbox.api.argocd): their handlers
# check their own tokens; GitHub's authentication, rate limit and ETags stay out of the way.
FOREIGN_PREFIXES = ("/api/v1/",)


OCI_PATHS = ("/v2/", "/oci/")  # bot.sandbox.api.oci: the registry checks its own tokens


@dataclass
class RateWindow:
    limit: int
    used: int
    reset: int

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self, resource: str = "core") -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
            "X-RateLimit-Used": str(self.used),
            "X-RateLimit-Resource": resource,
        }


@dataclass(frozen=True)
class Outcome:
    status: int
    body: bytes
    headers: dict[str, str]


class Server:
    """Routes requests to handlers; owns the request log and rate-limit windows."""

    def __init__(
        self,
        store: Store,
        git: GitStore,
        router: Router,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.git = git
        self.seed = 0
        self.router = router
        self.host = host
        self.port = port
        self.clock = clock or (lambda: datetime.now(UTC))
        self.before_request: Callable[[RequestContext], Response | None] | None = None
        self.deliver: Callable[[str, dict[str, Any], str], None] | None = None
        self.request_log: list[tuple[str, str, int, float]] = []
        self.unknown_endpoints: list[tuple[str, str]] = []
        self.rate_windows: dict[str, RateWindow] = {}
        self.rate_limits = {"user": RATE_LIMIT_USER, "anonymous": RATE_LIMIT_ANONYMOUS}
        self._rate_lock = threading.Lock()
        self._request_ids = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        server = self

        class _Handler(_RequestHandler):
            sandbox = server

        httpd = _HTTPServer((self.host, self.port), _Handler)
        httpd.daemon_threads = True
        self.port = httpd.server_address[1]
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            name="sandbox-http",
            kwargs={"poll_interval": 0.05},
            daemon=True,
        )
        self._thread.start()

    def serve_forever(self) -> None:
        self.start()
        assert self._thread is not None
        while self._thread.is_alive():
            self._thread.join(0.5)

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # -- requests ----------------------------------------------------------------------

    def context(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> RequestContext:
        parts = urlsplit(target)
        ctx = RequestContext(
            method=method.upper(),
            path=unquote(parts.path) or "/",
            params={},
            query={k: v for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
            headers={k.lower(): v for k, v in headers.items()},
            body=body,
            store=self.store,
            git=self.git,
            base_url=self.base_url,
            deliver=self.deliver,
            clock=self.clock,
            server=self,
        )
        return ctx

    def authenticate(self, ctx: RequestContext) -> None:
        """Fill `ctx.user` from `Authorization: token|Bearer X`; 401 for an unknown token."""
        header = ctx.headers.get("authorization", "")
        if not header or ctx.path.startswith(OCI_PATHS):  # the registry has its own auth
            return
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() not in ("token", "bearer") or not token:
            raise ApiError(401, "Bad credentials")
        ctx.token = token
        record = self.store.get("tokens", token)
        if record is None:
            if token.count(".") == 2:  # an App JWT: the apps plug-in verifies it
                _refuse_jwt_outside_app_endpoints(self.store, token, ctx)
                return
            raise ApiError(401, "Bad credentials")
        user = self.store.user(record["login"])
        if user is None:
            raise ApiError(401, "Bad credentials")
        ctx.user = User(user["login"], user["id"], user["type"], user["site_admin"])
        ctx.installation_id = record.get("installation_id")
        scope = record.get("repositories")
        ctx.token_repos = frozenset(r.lower() for r in scope) if scope is not None else None
        ctx.token_permissions = record.get("permissions")

    def dispatch(self, ctx: RequestContext) -> Response:
        """Route and run a handler under the store lock (a transaction for writes)."""
        found = self.router.match(ctx.method, ctx.path)
        if found is None:
            self.unknown_endpoints.append((ctx.method, ctx.path))
            log.warning("sandbox: no endpoint for %s %s", ctx.method, ctx.path)
            raise ApiError(404, "Not Found")
        route, params = found
        ctx.params = params
        rules.gate(ctx)  # the token's permissions for this endpoint; App-only checks
        if ctx.method in ("GET", "HEAD"):
            with self.store.read():
                return route.handler(ctx)
        with self.store.transaction():
            return route.handler(ctx)

    def call(
        self, method: str, path: str, body: object = None, *, as_user: str | None = None
    ) -> Response:
        """Run a request in-process as a user (no hooks, no log, no rate limit); raises ApiError."""
        raw = json.dumps(body).encode() if body is not None else b""
        ctx = self.context(method, path, {}, raw)
        if as_user is not None:
            record = self.store.user(as_user)
            if record is None:
                raise ApiError(404, f"no such user {as_user}")
            ctx.user = User(record["login"], record["id"], record["type"], record["site_admin"])
            for rec in self.store.data["tokens"].values():
                if rec["login"] == as_user and rec.get("installation_id") is not None:
                    ctx.installation_id = rec["installation_id"]
                    break
        return self.dispatch(ctx)

    def rate_window(self, key: str, anonymous: bool) -> RateWindow:
        now = int(time.time())
        with self._rate_lock:
            window = self.rate_windows.get(key)
            if window is None or window.reset <= now:
                limit = self.rate_limits["anonymous" if anonymous else "user"]
                window = RateWindow(limit, 0, now + RATE_WINDOW)
                self.rate_windows[key] = window
            return window

    def handle(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
        *,
        oversized: bool = False,
    ) -> Outcome:
        """One HTTP request to one answer; never raises."""
        started = time.perf_counter()
        ctx = self.context(method, target, headers, body)
        try:
            if oversized or len(body) > MAX_BODY:
                raise ApiError(413, "Request body too large")
            response = self._respond(ctx)
        except ApiError as exc:
            response = Response(exc.status, exc.body(), exc.headers)
        except Exception:  # a handler bug: answer 500 like GitHub and keep serving
            log.exception("sandbox: handler crashed on %s %s", ctx.method, ctx.path)
            response = Response(500, ApiError(500, "Server Error").body())
        outcome = self._render(ctx, response)
        elapsed = (time.perf_counter() - started) * 1000
        self.request_log.append((ctx.method, ctx.path, outcome.status, round(elapsed, 3)))
        return outcome

    def _respond(self, ctx: RequestContext) -> Response:
        foreign = ctx.path.startswith(FOREIGN_PREFIXES)
        if not foreign:
            self.authenticate(ctx)
        if self.before_request is not None:
            early = self.before_request(ctx)
            if early is not None:
                return early
        if foreign:  # not GitHub's API: none of GitHub's rate limit or ETags
            return self._dispatch_safely(ctx)
        key = ctx.token or f"ip:{ctx.headers.get('x-forwarded-for', 'loopback')}"
        window = self.rate_window(key, ctx.user is None and ctx.token is None)
        counted = ctx.path not in UNCOUNTED_PATHS and not ctx.path.startswith(OCI_PATHS)
        if counted and window.remaining <= 0:
            raise ApiError(403, "API rate limit exceeded.", headers=window.headers())
        try:
            response = self._dispatch_safely(ctx)
        except ApiError as exc:  # counted against the limit and answered with its headers
            response = Response(exc.status, exc.body(), exc.headers)
        etag = _etag(response) if ctx.method in ("GET", "HEAD") and response.status == 200 else None
        if etag is not None:
            response.headers.setdefault("ETag", etag)
            if _etag_matches(ctx.headers.get("if-none-match", ""), etag):
                return Response(304, None, {**window.headers(), "ETag": etag})
        if counted:
            with self._rate_lock:
                window.used += 1
        merged = window.headers(response.headers.pop("X-RateLimit-Resource", "core"))
        response.headers = {**merged, **response.headers}
        return response

    def _dispatch_safely(self, ctx: RequestContext) -> Response:
        try:
            return self.dispatch(ctx)
        except UnsafePath as exc:
            raise ApiError(
                422, "Invalid path", [{"code": "invalid", "message": str(exc)}]
            ) from None
        except GitError as exc:
            log.error("sandbox: git failed: %s", exc)
            raise ApiError(500, "Server Error") from None

    def _render(self, ctx: RequestContext, response: Response) -> Outcome:
        with self._rate_lock:
            self._request_ids += 1
            request_id = f"SBX:{self.port:04X}:{self._request_ids:08X}"
        headers = {
            "X-GitHub-Media-Type": "github.v3; format=json",
            "X-GitHub-Request-Id": request_id,
            **response.headers,
        }
        if response.status in (204, 304) or response.body is None:
            return Outcome(response.status, b"", headers)
        if isinstance(response.body, bytes):
            headers.setdefault("Content-Type", "application/octet-stream")
            return Outcome(response.status, response.body, headers)
        payload = json.dumps(response.body, separators=(",", ":")).encode()
        headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return Outcome(response.status, payload, headers)


def _refuse_jwt_outside_app_endpoints(store: Store, token: str, ctx: RequestContext) -> None:
    """An App JWT works only on App endpoints (``/app/...``, ``.../installation``,
    ``/rate_limit``); elsewhere GitHub answers 401: the claim's own message when the JWT
    is bad (expired, wrong issuer), else "A JSON web token could not be decoded"."""
    path = ctx.path.rstrip("/")
    owner_installation = path.endswith(_JWT_SUFFIX) and path != _JWT_SUFFIX
    if path in ("/app", "/rate_limit") or path.startswith("/app/") or owner_installation:
        return
    from bot.sandbox import appauth

    appauth.verify_app_jwt(store, token, ctx.clock())  # raises 401 with the claim's message
    raise ApiError(401, "A JSON web token could not be decoded")


def _etag(response: Response) -> str:
    if isinstance(response.body, bytes):
        raw = response.body
    else:
        raw = json.dumps(response.body, sort_keys=True).encode()
    return f'W/"{hashlib.sha256(raw).hexdigest()[:40]}"'


def _etag_matches(header: str, etag: str) -> bool:
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag.removeprefix("W/") in tags


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away mid-answer is not worth a traceback on stderr."""
        log.debug("sandbox: connection from %s dropped", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    sandbox: Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server_version = "GitHub.com-sandbox"
    sys_version = ""

    def version_string(self) -> str:
        return self.server_version

    def handle(self) -> None:
        """Serve the connection; a client that hangs up mid-answer just ends it."""
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            log.debug("sandbox: client %s hung up", self.client_address)

    def finish(self) -> None:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            super().finish()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        oversized = length > MAX_BODY
        if oversized:  # refuse without reading it
            self.close_connection = True
        body = self.rfile.read(length) if length and not oversized else b""
        outcome = self.sandbox.handle(
            self.command, self.path, dict(self.headers.items()), body, oversized=oversized
        )
        if DROP_HEADER in outcome.headers:  # a read timeout: hang up without a byte
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(outcome.status)
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(outcome.body)))
        self.end_headers()
        if self.command != "HEAD" and outcome.body:
            self.wfile.write(outcome.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox: " + format, *args)
