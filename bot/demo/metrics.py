"""A built-in metrics source: simulated SLIs behind Prometheus' query API.

The core is pure: `evaluate(promql, at, slis)` answers a PromQL query at an instant from
a `SimulatedSLIs` description (steady traffic per service and environment, a healthy error
ratio, and `Breach` intervals with a higher one). It understands what SLO templates use:
counters (``http_requests_total``) selected by label matchers, ``increase``/``rate`` over
a range, ``sum(...)`` around them, a ``code`` matcher for 5xx (``=~"5.."``) or not-5xx
(``!~"5.."``) requests, and one division of two such expressions (an error ratio).
Another metric has no series (an empty result); a query it cannot parse is a bad query
(HTTP 400, as Prometheus answers).

`MetricsServer` serves it on 127.0.0.1 (GET and form POST), with the evaluation time from
the ``time`` parameter or, without one, from the clock it is given.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

METRIC = "http_requests_total"
_SELECTOR = re.compile(r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{(?P<matchers>[^}]*)\}")
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*,?')
_BARE_NAME = re.compile(r"(?<![\w:])([a-zA-Z_:][a-zA-Z0-9_:]*)(?=\s*(?:\[|\)|$))")
_RANGE = re.compile(r"\[\s*([0-9smhdwy]+)\s*\]")
_DURATION = re.compile(r"([0-9]+)(ms|s|m|h|d|w|y)")
_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
MAX_POINTS = 11_000


class BadQuery(ValueError):
    """A query this source cannot answer (Prometheus would say ``bad_data``)."""


class NoSeries(LookupError):
    """A metric the demo does not simulate: an empty result, as Prometheus gives."""


@dataclass(frozen=True)
class Breach:
    """From `start` on (until `end`, if set), `service` in `env` fails `error_ratio` of requests."""

    service: str
    env: str
    start: datetime
    error_ratio: float = 0.05
    end: datetime | None = None


@dataclass(frozen=True)
class SimulatedSLIs:
    """Steady traffic everywhere; errors at `healthy_error_ratio` except during breaches."""

    requests_per_second: float = 20.0
    healthy_error_ratio: float = 0.0002
    breaches: tuple[Breach, ...] = ()
    seed: int = 0

    def rate(self, service: str, env: str) -> float:
        """Requests per second of one service in one environment (varies with the seed)."""
        digest = hashlib.sha256(f"{self.seed}:{service}:{env}".encode()).digest()
        return self.requests_per_second * (0.75 + digest[0] / 510)


@dataclass(frozen=True)
class _Selector:
    service: str
    env: str
    codes: str  # "all", "errors" (5xx) or "good" (not 5xx)
    window: float | None  # seconds, for increase/rate
    func: str  # "increase", "rate" or "" (the raw counter)


def parse_duration(text: str) -> float:
    """A PromQL duration (``5m``, ``1h30m``) in seconds."""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise BadQuery(f"bad duration {text!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def _codes(matchers: dict[str, tuple[str, str]]) -> str:
    if "code" not in matchers:
        return "all"
    op, value = matchers["code"]
    if value not in ("5..", "5xx", "5.*") or op not in ("=~", "!~"):
        raise BadQuery(f"unsupported code matcher code{op}{value!r}")
    return "errors" if op == "=~" else "good"


def parse_selector(expr: str) -> _Selector:
    """One ``[sum(] [increase|rate(] http_requests_total{...}[w] [)] [)]`` expression."""
    match = _SELECTOR.search(expr)
    if match is None:
        bare = _BARE_NAME.findall(expr)
        if bare and METRIC not in bare:
            raise NoSeries(bare[0])
        raise BadQuery(f"no series selector with label matchers in {expr.strip()!r}")
    if match["name"] != METRIC:
        raise NoSeries(match["name"])
    matchers = {m[0]: (m[1], m[2]) for m in _MATCHER.findall(match["matchers"])}
    for label in ("service", "env"):
        if matchers.get(label, ("", ""))[0] != "=":
            raise BadQuery(f'{expr.strip()!r} needs an exact {label}="..." matcher')
    window = _RANGE.search(expr[match.end() :])
    head = expr[: match.start()].replace(" ", "")
    func = "rate" if "rate(" in head else "increase" if "increase(" in head else ""
    if func and window is None:
        raise BadQuery(f"{func} needs a range in {expr.strip()!r}")
    return _Selector(
        matchers["service"][1],
        matchers["env"][1],
        _codes(matchers),
        parse_duration(window[1]) if window else None,
        func,
    )


def _error_seconds(slis: SimulatedSLIs, sel: _Selector, start: datetime, end: datetime) -> float:
    """Integral of the error ratio over [start, end], in seconds."""
    total = (end - start).total_seconds()
    extra = 0.0
    for b in slis.breaches:
        if b.service != sel.service or b.env != sel.env:
            continue
        lo, hi = max(start, b.start), min(end, b.end or end)
        if hi > lo:
            extra += (hi - lo).total_seconds() * (b.error_ratio - slis.healthy_error_ratio)
    return total * slis.healthy_error_ratio + extra


def count(slis: SimulatedSLIs, sel: _Selector, at: datetime) -> float:
    """Requests (of the selected codes) over the selector's window ending at `at`."""
    seconds = sel.window if sel.window is not None else 30 * 86400.0
    start = at - timedelta(seconds=seconds)
    rate = slis.rate(sel.service, sel.env)
    errors = rate * _error_seconds(slis, sel, start, at)
    value = {"all": rate * seconds, "errors": errors, "good": rate * seconds - errors}[sel.codes]
    return value / seconds if sel.func == "rate" else value


def counter_series(
    slis: SimulatedSLIs,
    services: tuple[str, ...],
    envs: tuple[str, ...],
    start: datetime,
    end: datetime,
    step: timedelta,
) -> list[tuple[dict[str, str], list[tuple[float, float]]]]:
    """The same traffic as raw counters (``code="200"`` and ``code="500"``, counting from
    `start`), sampled every `step`: what a real Prometheus would scrape, e.g. to backfill one
    for ``demo --use-prometheus``."""
    out = []
    for service in services:
        for env in envs:
            sel = _Selector(service, env, "errors", None, "")
            rate = slis.rate(service, env)
            good: list[tuple[float, float]] = []
            bad: list[tuple[float, float]] = []
            at = start
            while at <= end:
                errors = rate * _error_seconds(slis, sel, start, at)
                total = rate * (at - start).total_seconds()
                good.append((at.timestamp(), round(total - errors, 3)))
                bad.append((at.timestamp(), round(errors, 3)))
                at += step
            labels = {"__name__": METRIC, "service": service, "env": env}
            out += [({**labels, "code": "200"}, good), ({**labels, "code": "500"}, bad)]
    return out


def _split_division(promql: str) -> tuple[str, str] | None:
    depth = 0
    for i, ch in enumerate(promql):
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "/" and depth == 0:
            return promql[:i], promql[i + 1 :]
    return None


def evaluate(promql: str, at: datetime, slis: SimulatedSLIs) -> float:
    """The value of `promql` at `at` (NaN for 0/0, as in PromQL)."""
    parts = _split_division(promql)
    if parts is None:
        return count(slis, parse_selector(promql), at)
    num = count(slis, parse_selector(parts[0]), at)
    den = count(slis, parse_selector(parts[1]), at)
    if den == 0:
        return float("nan") if num == 0 else float("inf")
    return num / den


def _text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def instant_body(promql: str, at: datetime, slis: SimulatedSLIs) -> dict[str, Any]:
    try:
        samples = [{"metric": {}, "value": [at.timestamp(), _text(evaluate(promql, at, slis))]}]
    except NoSeries:
        samples = []
    return {"status": "success", "data": {"resultType": "vector", "result": samples}}


def range_body(
    promql: str, start: datetime, end: datetime, step: float, slis: SimulatedSLIs
) -> dict[str, Any]:
    if step <= 0 or end < start:
        raise BadQuery("a range needs start <= end and a positive step")
    if (end - start).total_seconds() / step > MAX_POINTS:
        raise BadQuery("exceeded maximum resolution of 11,000 points per timeseries")
    values: list[list[Any]] = []
    at = start
    try:
        while at <= end:
            values.append([at.timestamp(), _text(evaluate(promql, at, slis))])
            at += timedelta(seconds=step)
    except NoSeries:
        values = []
    series = [{"metric": {}, "values": values}] if values else []
    return {"status": "success", "data": {"resultType": "matrix", "result": series}}


def parse_time(text: str | None, default: datetime) -> datetime:
    """Unix seconds or RFC 3339, as Prometheus accepts; `default` when absent."""
    if not text:
        return default
    try:
        return datetime.fromtimestamp(float(text), UTC)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadQuery(f"cannot parse {text!r} to a valid timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def answer(
    path: str, params: dict[str, str], slis: SimulatedSLIs, now: datetime
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON body) for one API call; pure."""
    try:
        query = params.get("query")
        if not query:
            raise BadQuery("missing query parameter")
        if path == "/api/v1/query":
            return 200, instant_body(query, parse_time(params.get("time"), now), slis)
        if path == "/api/v1/query_range":
            start = parse_time(params.get("start"), now)
            end = parse_time(params.get("end"), now)
            step = params.get("step", "")
            seconds = float(step) if step.replace(".", "", 1).isdigit() else parse_duration(step)
            return 200, range_body(query, start, end, seconds, slis)
    except BadQuery as exc:
        return 400, {"status": "error", "errorType": "bad_data", "error": str(exc)}
    return 404, {"status": "error", "errorType": "not_found", "error": f"no endpoint {path}"}


@dataclass
class MetricsServer:
    """The simulated SLIs over HTTP on 127.0.0.1; use in a ``with`` block."""

    slis: SimulatedSLIs
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    host: str = "127.0.0.1"
    port: int = 0
    requests: int = 0
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> MetricsServer:
        self._httpd = ThreadingHTTPServer((self.host, self.port), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> MetricsServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, path: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
        self.requests += 1
        return answer(path, params, self.slis, self.clock())


def _handler(server: MetricsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            self._reply(*server.handle(url.path, _flat(url.query)))

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8", errors="replace")
            self._reply(*server.handle(url.path, {**_flat(url.query), **_flat(body)}))

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def _flat(query: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
