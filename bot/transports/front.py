"""The event-loop front of `release-train serve`: no request thread waits on a client.

granian (a Rust HTTP server) owns every socket and speaks RSGI to `Front`, a coroutine per
request on one asyncio loop per process. A request's body is read here, bounded
(`MAX_BODY` for `/webhook`, `MAX_PAGE_BODY` elsewhere; a larger declared length is a 413
before a byte is read, a chunked body is cut off at the limit) and within `BODY_TIMEOUT`
seconds (else 408). Only then does anything run: `POST /webhook` is acknowledged on the
loop itself (HMAC over the raw bytes, routing, a queue hand-off: tens of microseconds; in
the thread pool for bodies over `INLINE_BODY`, and under `serve --queue`, whose hand-off
waits for a Redis round trip), and
every other path goes to the Flask app in a small thread pool with the body already in
memory. A slow or stalled client therefore holds a coroutine and a socket, never a thread;
granian's own header read timeout and buffer bound cover the request line and headers.
"""

from __future__ import annotations

import asyncio
import io
import logging
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.transports.webhook import MAX_BODY, PATH, answer

MAX_PAGE_BODY = 1024 * 1024  # sign-in forms and the like; nothing else posts to the pages
# Webhook bodies up to this size are acknowledged on the loop (GitHub's are mostly tens of
# KB); a larger one is hashed in the thread pool (hashlib lets go of the GIL there), so an
# unsigned 25 MB body cannot hold the loop for the tens of milliseconds its HMAC takes.
INLINE_BODY = 256 * 1024
# A chunked body over the limit is read on (and dropped) up to this much further, so a
# client that sent a little too much gets its 413 instead of a reset connection.
DRAIN = 4 * 1024 * 1024
BODY_TIMEOUT = 20.0  # seconds for a whole request body to arrive
HEADER_TIMEOUT_MS = 10_000  # granian: request line and headers
HEADER_BUFFER = 64 * 1024  # granian: bytes of request line + headers it buffers at most
# granian: connections served at once per process (its default, 1024, let 1,100 stalled
# connections hold /healthz until their timeouts); a stalled one costs a few KB
CONNECTIONS = 8192
LOG = logging.getLogger("release_train.app")
TOO_SLOW = object()
CUT_SHORT = object()
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Response = tuple[int, list[tuple[str, str]], bytes]


def declared_length(headers: dict[str, str]) -> int | None:
    """Content-Length as a number, None for a chunked (or otherwise unsized) body."""
    raw = headers.get("content-length", "").strip()
    if raw.isdigit():
        return int(raw)
    return None if "transfer-encoding" in headers else 0


async def read_body(protocol: Any, length: int | None, limit: int, timeout: float) -> Any:
    """The whole body; None when over `limit`; `TOO_SLOW` when not in within `timeout`;
    `CUT_SHORT` when the stream ended before the declared length."""
    if length is not None and length > limit:
        return None
    if length == 0:
        return b""

    chunks, size = [], 0
    try:
        async with asyncio.timeout(timeout):  # a timer on the loop, no extra task
            if length is not None:  # the server reads exactly `length` (<= limit) bytes
                chunks.append(await protocol())
                size = len(chunks[0])
            else:
                async for chunk in protocol:
                    size += len(chunk)
                    if size > limit + DRAIN:
                        return None
                    if size <= limit:
                        chunks.append(chunk)
    except TimeoutError:
        return None if size > limit else TOO_SLOW
    except RuntimeError:  # granian's RSGIProtocolClosed: the client is gone
        return CUT_SHORT
    if size > limit:  # drained to its end: the client can read the 413 before we close
        return None
    if length is not None and size < length:
        return CUT_SHORT  # the client went away before sending what it declared
    return b"".join(chunks)


def header_map(scope: Any) -> dict[str, str]:
    """Request headers, lower-case names; repeated ones joined as HTTP allows."""
    found: dict[str, str] = {}
    for key, value in scope.headers.items():
        name = key.lower()
        if name in found:
            found[name] += ("; " if name == "cookie" else ", ") + value
        else:
            found[name] = value
    return found


def environ_of(scope: Any, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """A PEP 3333 environ for an RSGI request whose body is already read."""
    server_host, _, server_port = str(scope.server).rpartition(":")
    client_host = str(scope.client or "").rpartition(":")[0].strip("[]")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server_host.strip("[]") or "localhost",
        "SERVER_PORT": server_port or "80",
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client_host,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in headers.items():
        if name == "content-type":
            environ["CONTENT_TYPE"] = value
        elif name not in ("content-length", "transfer-encoding"):
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def call_wsgi(app: WSGIApp, environ: dict[str, Any]) -> Response:
    """Run a WSGI app to completion: (status, headers, body)."""
    started: list[Any] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [int(status.split(" ", 1)[0]), list(headers)]
        return lambda data: None  # the legacy write() callable: unused by Flask

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started[0], started[1], body


def refusal(code: int, reason: str) -> Response:
    body = b'{"status": "refused", "reason": "%s"}' % reason.encode()
    headers = [("content-type", "application/json"), ("connection", "close")]
    return code, headers, body


class Front:
    """The RSGI application: `__rsgi__` per request; `__rsgi_init__`/`__rsgi_del__` start
    and stop the app's runtime in the worker process (after granian forked it)."""

    def __init__(self, app: Any, *, threads: int = 8, body_timeout: float = BODY_TIMEOUT) -> None:
        from bot.transports.app import runtime

        self.app = app
        self.rt = runtime(app)
        self.body_timeout = body_timeout
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="page")

    def __rsgi_init__(self, loop: Any) -> None:
        self.rt.start()

    def __rsgi_del__(self, loop: Any) -> None:
        self.rt.close()
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        try:
            code, headers, body = await self.respond(scope, protocol)
        except Exception:  # the last line of defence: a 500, logged (redacted), no traceback out
            LOG.exception("request failed", extra={"reason": scope.path[:200]})
            code, headers, body = refusal(500, "internal error")
        protocol.response_bytes(code, headers, body)

    async def respond(self, scope: Any, protocol: Any) -> Response:
        headers = header_map(scope)
        webhook = scope.path == PATH
        limit = MAX_BODY if webhook else MAX_PAGE_BODY
        body = await read_body(protocol, declared_length(headers), limit, self.body_timeout)
        if body is TOO_SLOW:
            return refusal(408, "request body too slow")
        if body is CUT_SHORT:
            return refusal(400, "request body incomplete")
        loop = asyncio.get_running_loop()
        if webhook:
            mimetype = headers.get("content-type", "").split(";")[0].strip().lower()
            args = (self.rt, scope.method, headers, body, mimetype)
            # hashing MBs, or Redis round trips (`serve --queue`): off the loop
            if body is not None and (len(body) > INLINE_BODY or self.rt.queue is not None):
                return await loop.run_in_executor(self.pool, answer, *args)
            return answer(*args)
        if body is None:
            return refusal(413, "request body too large")
        environ = environ_of(scope, headers, body)
        return await loop.run_in_executor(self.pool, call_wsgi, self.app, environ)
