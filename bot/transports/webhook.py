"""`POST /webhook`: the acknowledgement path, without Flask.

Only what must happen before the 202 happens here: the body (already read and bounded by
the front), the HMAC over its raw bytes, the routing fields decoded from it (the
`envelope`: the document's syntax checked, only a handful of fields built), the duplicate
check, a hand-off of the repository to the worker. The reconcile reads GitHub afresh, so
most events need nothing more of their payload; installation and check-run events are
parsed whole. `handle` is plain values in, `(status, body)` out; `answer` puts it in HTTP
terms for `bot.transports.front` (the event loop) and `WebhookEndpoint` (WSGI, `--dev`).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs

from bot.transports import routing, signature
from bot.transports.envelope import FULL_PARSE, PayloadError, envelope
from bot.transports.worker import Trigger

if TYPE_CHECKING:
    from bot.transports.app import Runtime

MAX_BODY = 25 * 1024 * 1024  # GitHub caps payloads at 25 MB
SEEN_CAPACITY = 10_000
PATH = "/webhook"
LOG = logging.getLogger("release_train.app")
REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    405: "Method Not Allowed",
    413: "Content Too Large",
}
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SeenDeliveries:
    """A bounded LRU of delivery ids: `add` is True the first time an id is seen."""

    def __init__(self, capacity: int = SEEN_CAPACITY) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, delivery: str) -> bool:
        with self._lock:
            if delivery in self._ids:
                self._ids.move_to_end(delivery)
                return False
            self._ids[delivery] = None
            if len(self._ids) > self._capacity:
                self._ids.popitem(last=False)
            return True

    def __len__(self) -> int:
        return len(self._ids)


def read_body(stream: IO[bytes], length: int | None, limit: int) -> bytes | None:
    """The raw body, or None when it exceeds `limit` (declared, or found while reading).

    With a Content-Length exactly that many bytes are read; without one (chunked), the
    server's input stream is read to its end.
    """
    if length is not None and length > limit:
        return None
    chunks, size = [], 0
    while length is None or size < length:
        want = 64 * 1024 if length is None else min(64 * 1024, length - size)
        chunk = stream.read(want)
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def parse_payload(body: bytes, mimetype: str) -> dict[str, Any] | None:
    """JSON from the body (application/json or GitHub's form encoding), None if invalid."""
    text: str | bytes = body
    if mimetype == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("utf-8", "replace")).get("payload")
        if not values:
            return None
        text = values[0]
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than the parser goes
        return None
    return doc if isinstance(doc, dict) else None


def handle(
    rt: Runtime, headers: Mapping[str, str], body: bytes | None, mimetype: str
) -> tuple[int, dict[str, Any]]:
    """One delivery: `headers` with lower-case names, `body` None when it was too large."""
    event = headers.get("x-github-event", "")
    delivery = headers.get("x-github-delivery", "") or f"local-{uuid.uuid4()}"
    extra: dict[str, Any] = {"delivery": delivery, "event": event}
    if body is None:
        rt.metrics.delivery(event, "too_large")
        LOG.warning("delivery refused: body over %d bytes", MAX_BODY, extra=extra)
        return 413, {"status": "refused", "reason": "payload too large"}
    header = headers.get("x-hub-signature-256")
    if not signature.verify(rt.settings.webhook_secret, body, header):
        rt.metrics.delivery(event, "unauthorized")
        reason = "missing X-Hub-Signature-256" if not header else "bad signature"
        LOG.warning("delivery refused: %s", reason, extra=extra)
        return 401, {"status": "refused", "reason": reason}
    try:  # routing reads a few fields; only some events need the whole payload built
        payload = envelope(body, mimetype)
        if event in FULL_PARSE:
            payload = parse_payload(body, mimetype) or {}
    except PayloadError as exc:
        rt.metrics.delivery(event, "bad_payload")
        return 400, {"status": "refused", "reason": exc.reason}
    # Seen only once valid: a malformed body must not use up its delivery id.
    if not rt.seen.add(delivery):
        rt.metrics.delivery(event, "duplicate")
        LOG.info("duplicate delivery ignored", extra=extra)
        return 202, {"status": "duplicate", "delivery": delivery}
    try:
        return dispatch(rt, event, delivery, payload, extra, raw=(body, mimetype))
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        # A signed payload of a shape routing did not expect: refused, never a 500.
        rt.metrics.delivery(event, "bad_payload")
        LOG.warning(
            "delivery refused: unexpected payload shape (%s)", type(exc).__name__, extra=extra
        )
        return 400, {"status": "refused", "reason": "payload not understood"}


def dispatch(
    rt: Runtime,
    event: str,
    delivery: str,
    payload: dict[str, Any],
    extra: dict[str, Any],
    raw: tuple[bytes, str] = (b"", ""),
) -> tuple[int, dict[str, Any]]:
    """Route a verified delivery: follow installation changes, queue or ignore."""
    if LOG.isEnabledFor(logging.INFO):
        extra |= routing.delivery_summary(event, payload)
    change = routing.installation_change(event, payload)
    if change is not None:
        for repo in change.added:
            rt.scheduler.watch(repo, change.installation_id)
        for repo in change.removed:
            rt.scheduler.unwatch(repo)
    where = routing.route(event, payload, bot_login=rt.bot_login)
    if where.repo is None:
        rt.metrics.delivery(event, "ignored")
        LOG.info("delivery ignored: %s", where.reason, extra=extra)
        return 202, {"status": "ignored", "reason": where.reason}
    trigger = Trigger(where.repo, where.installation_id, delivery, event)
    # `serve --queue`: the raw delivery goes to Redis; else (or Redis away) this process
    handed = rt.queue.put_delivery(trigger, *raw) if rt.queue is not None else None
    if handed == "duplicate":  # claimed by another replica (ids are claimed with the hand-off)
        rt.metrics.delivery(event, "duplicate")
        LOG.info("duplicate delivery ignored", extra=extra)
        return 202, {"status": "duplicate", "delivery": delivery}
    via = "redis" if handed else "memory"
    if via == "memory":
        asked = _gate_request(rt, event, payload)
        rt.worker.submit(replace(trigger, gate_requests=(asked,) if asked else ()))
    rt.metrics.delivery(event, "queued")
    LOG.info("delivery queued", extra=extra | {"repo": where.repo})
    doc: dict[str, Any] = {"status": "queued", "repository": where.repo}
    return 202, doc if rt.queue is None else doc | {"via": via}


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    return {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_X_")
    }


def _length(environ: Mapping[str, Any]) -> int | None:
    raw = str(environ.get("CONTENT_LENGTH") or "").strip()
    if raw.isdigit():
        return int(raw)
    # No length: a chunked body the server has de-chunked, or no body at all (PEP 3333).
    return None if environ.get("wsgi.input_terminated") else 0


def answer(
    rt: Runtime, method: str, headers: Mapping[str, str], body: bytes | None, mimetype: str
) -> tuple[int, list[tuple[str, str]], bytes]:
    """`POST /webhook` in HTTP terms: (status, response headers, JSON body)."""
    if method != "POST":
        code, doc, extra = 405, {"status": "refused", "reason": "POST only"}, [("Allow", "POST")]
    else:
        code, doc = handle(rt, headers, body, mimetype)
        extra = [("Connection", "close")] if body is None else []
    data = json.dumps(doc).encode()
    return code, [("Content-Type", "application/json"), *extra], data


class WebhookEndpoint:
    """WSGI middleware: serves `POST /webhook`, passes everything else to `fallback`
    (the `--dev` server; `serve` itself reads bodies in `bot.transports.front`)."""

    def __init__(self, rt: Runtime, fallback: WSGIApp) -> None:
        self.rt = rt
        self.fallback = fallback

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return self.fallback(environ, start_response)
        method = str(environ.get("REQUEST_METHOD"))
        body = None
        if method == "POST":
            body = read_body(environ["wsgi.input"], _length(environ), MAX_BODY)
        mimetype = str(environ.get("CONTENT_TYPE", "")).split(";")[0].strip().lower()
        code, headers, data = answer(self.rt, method, _headers(environ), body, mimetype)
        headers.append(("Content-Length", str(len(data))))
        start_response(f"{code} {REASONS.get(code, '')}".strip(), headers)
        return [data]


def _gate_request(rt: Any, event: str, payload: dict[str, Any]) -> Any:
    """A Re-run or a check-run button on one of our gates (None for anything else)."""
    if event not in ("check_run", "check_suite"):
        return None
    from bot.core.gates.events import gate_request

    app_id = int(rt.settings.app_id) if str(rt.settings.app_id).isdigit() else None
    return gate_request(event, payload, app_id=app_id)
