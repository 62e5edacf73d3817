"""Prometheus HTTP API adapter: `/api/v1/query` and `/api/v1/query_range`.

Works with Prometheus-compatible backends (Thanos, Mimir, VictoriaMetrics) through the
same API. Every query carries an explicit evaluation time. Long queries (or all, with
``post=True``) go as form-encoded POSTs. 5xx, 429, timeouts and connection errors are
retried a bounded number of times with exponential backoff and jitter; a 4xx (a bad
query) is not. Failures raise `ExternalError("prometheus", ...)`; answers become the
frozen values of `bot.core.slo.results`.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.config.model import Config, Prometheus
from bot.config.outbound import Endpoint, OutboundPolicy, choose_endpoint
from bot.core.slo.results import Labels, QueryResult, RangeResult, Sample, Series
from bot.errors import ExternalError

if TYPE_CHECKING:
    import httpx

LONG_QUERY = 1000  # characters; longer queries are POSTed
MAX_TIMEOUT = 60.0  # seconds: a configuration's `timeout` above this is cut to it
BACKOFF_BASE = 0.25  # seconds
BACKOFF_CAP = 8.0


def unix(at: datetime) -> str:
    """An instant as Prometheus wants it: Unix seconds (naive datetimes are UTC)."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return f"{at.timestamp():.3f}"


def parse_value(text: Any) -> float:
    """A sample value: Prometheus sends strings, including ``NaN``, ``+Inf`` and ``-Inf``."""
    try:
        return float(text)
    except (TypeError, ValueError):
        raise ExternalError("prometheus", f"unexpected sample value {text!r}") from None


def _labels(metric: Mapping[str, str]) -> Labels:
    return tuple(sorted(metric.items()))


def parse_query(body: Mapping[str, Any]) -> QueryResult:
    """`data` of an instant query: vector, scalar or string."""
    data, warnings = _data(body)
    kind = data.get("resultType")
    result = data.get("result")
    if kind == "vector" and isinstance(result, list):
        samples = tuple(
            Sample(_labels(r.get("metric", {})), parse_value(r["value"][1]), float(r["value"][0]))
            for r in result
        )
        return QueryResult("vector", samples, warnings)
    if kind in ("scalar", "string") and isinstance(result, list) and len(result) == 2:
        value = parse_value(result[1]) if kind == "scalar" else math.nan
        return QueryResult(kind, (Sample((), value, float(result[0])),), warnings)
    if kind == "matrix":
        raise ExternalError("prometheus", "an instant query returned a range (matrix) result")
    raise ExternalError("prometheus", f"unexpected result type {kind!r}")


def parse_range(body: Mapping[str, Any]) -> RangeResult:
    """`data` of a range query: a matrix."""
    data, warnings = _data(body)
    if data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise ExternalError("prometheus", f"unexpected range result {data.get('resultType')!r}")
    series = tuple(
        Series(
            _labels(r.get("metric", {})),
            tuple((float(t), parse_value(v)) for t, v in r.get("values", [])),
        )
        for r in data["result"]
    )
    return RangeResult(series, warnings)


def _data(body: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    if body.get("status") != "success" or not isinstance(body.get("data"), dict):
        error = body.get("error") or "no data in the response"
        raise ExternalError("prometheus", f"{body.get('errorType', 'error')}: {error}")
    warnings = tuple(str(w) for w in body.get("warnings") or ())
    return body["data"], warnings


class PrometheusClient:
    """A small Prometheus API client. Use it in a ``with`` block (or call `close`)."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        basic_auth: tuple[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 10.0,
        verify: bool | str = True,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        post: bool = False,
        rng: random.Random | None = None,
        endpoint: Endpoint | None = None,
        policy: OutboundPolicy | None = None,
    ) -> None:
        """`url` and its credentials as the operator gives them; or `endpoint`, chosen by
        `client_from_config` under `policy` (default: operator mode)."""
        from bot.adapters.guarded_http import GuardedClient

        if endpoint is None:
            endpoint = Endpoint(
                url, "prometheus", trusted=True, token=token, basic_auth=basic_auth,
                headers=tuple((headers or {}).items()), verify=verify,
            )  # fmt: skip
        self.url = endpoint.url.rstrip("/")
        self.timeout = timeout  # seconds per request
        self.retries = retries
        self.post = post
        self.requests = 0  # HTTP requests sent, retries included
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._http = GuardedClient(endpoint, policy or OutboundPolicy(), timeout=timeout)

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def query(self, promql: str, at: datetime) -> QueryResult:
        """Evaluate `promql` at the instant `at`."""
        return parse_query(self._call("/api/v1/query", {"query": promql, "time": unix(at)}))

    def query_range(
        self, promql: str, start: datetime, end: datetime, step: timedelta
    ) -> RangeResult:
        """Evaluate `promql` from `start` to `end` every `step`."""
        params = {
            "query": promql,
            "start": unix(start),
            "end": unix(end),
            "step": f"{step.total_seconds():g}",
        }
        return parse_range(self._call("/api/v1/query_range", params))

    def recording_rules(self) -> frozenset[str]:
        """The names of the recording rules this Prometheus evaluates (`/api/v1/rules`)."""
        data, _ = _data(self._call("/api/v1/rules", {"type": "record"}))
        groups = data.get("groups")
        if not isinstance(groups, list):
            raise ExternalError("prometheus", "unexpected /api/v1/rules answer: no groups")
        return frozenset(
            str(rule["name"])
            for group in groups
            if isinstance(group, dict)
            for rule in group.get("rules") or ()
            if isinstance(rule, dict) and rule.get("type") == "recording" and "name" in rule
        )

    def _call(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        import httpx

        last, retry_after = "", None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self._backoff(attempt, retry_after))
            self.requests += 1
            retry_after = None
            try:
                response = self._send(path, params)
            except httpx.TimeoutException as exc:
                last = f"timed out: {exc or type(exc).__name__}"
                continue
            except httpx.TransportError as exc:
                last = f"unreachable at {self.url}: {exc or type(exc).__name__}"
                continue
            if response.status_code >= 500 or response.status_code == 429:
                last = f"HTTP {response.status_code}: {_error_text(response)}"
                retry_after = response.headers.get("Retry-After")
                continue
            return _decode(response)
        raise ExternalError(
            "prometheus", f"{last} (after {self.retries + 1} attempts)", retryable=True
        )

    def _send(self, path: str, params: dict[str, str]) -> httpx.Response:
        if "query" in params and (self.post or len(params["query"]) > LONG_QUERY):
            return self._http.request("POST", self.url + path, data=params)
        return self._http.request("GET", self.url + path, params=params)

    def _backoff(self, attempt: int, retry_after: str | None) -> float:
        """Exponential backoff with jitter (50-100 %), at least a numeric Retry-After."""
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        if retry_after and retry_after.isdigit():
            delay = min(BACKOFF_CAP, max(delay, float(retry_after)))
        return delay * (0.5 + self._rng.random() / 2)


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or response.reason_phrase
    if isinstance(body, dict) and body.get("error"):
        return f"{body.get('errorType', 'error')}: {body['error']}"
    return response.reason_phrase


def _decode(response: httpx.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise ExternalError(
            "prometheus",
            f"query rejected (HTTP {response.status_code}): {_error_text(response)}",
            status=response.status_code,
        )
    try:
        body = response.json()
    except ValueError:
        raise ExternalError(
            "prometheus", f"not JSON (HTTP {response.status_code})", status=response.status_code
        ) from None
    if not isinstance(body, dict):
        raise ExternalError("prometheus", "the response is not a JSON object")
    return body


def client_from_config(
    config: Prometheus,
    policy: OutboundPolicy,
    url_override: str | None = None,
    **kwargs: Any,
) -> PrometheusClient:
    """A client for the configured Prometheus under the operator's `policy`: the source the
    configuration names, its `url`, or the operator's PROMETHEUS_URL; `url_override` (the
    CLI's --prometheus) is the operator's own choice. Credentials only ever come from
    `policy`; a refusal raises `OutboundRefused` before anything is sent."""
    endpoint = _endpoint(config, policy, url_override)
    if endpoint is None:
        raise ExternalError(
            "prometheus",
            "no Prometheus configured (prometheus.source, PROMETHEUS_URL or --prometheus)",
        )
    return PrometheusClient(
        endpoint.url,
        endpoint=endpoint,
        policy=policy,
        timeout=min(config.timeout.total_seconds(), MAX_TIMEOUT),
        **kwargs,
    )


def _endpoint(config: Prometheus, policy: OutboundPolicy, override: str | None) -> Endpoint | None:
    source, url, default = config.source, config.url, policy.prometheus
    if override:  # the operator's own choice: its credentials go with it
        given = Endpoint(override, "--prometheus", trusted=True, verify=config.verify_tls)
        default = replace(default or given, url=override, label="--prometheus")
        source = url = ""
    return choose_endpoint(
        "prometheus",
        source=source,
        url=url,
        headers=config.headers,
        policy=policy,
        default=default,
        verify=config.verify_tls,
    )


def configured(config: Prometheus, policy: OutboundPolicy) -> bool:
    """Whether SLO queries have somewhere to go (refused or not: a refusal is reported)."""
    return bool(config.source or config.url or policy.prometheus)


class LazyPrometheus:
    """The configured Prometheus, built on the first query (no SLO judged: no client) and
    closed by `promote_round`; a refused target makes each query an `error` verdict that
    says why (the configuration check reports it first, as a configuration problem)."""

    def __init__(self, config: Config, policy: OutboundPolicy) -> None:
        self.config = config
        self.policy = policy
        self.url = config.prometheus.url
        self._client: Any = None

    def _get(self) -> Any:
        if self._client is None:
            self._client = client_from_config(self.config.prometheus, self.policy)
        return self._client

    def query(self, promql: str, at: datetime) -> Any:
        return self._get().query(promql, at)

    def query_range(self, promql: str, start: datetime, end: datetime, step: Any) -> Any:
        return self._get().query_range(promql, start, end, step)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


def prometheus_for(config: Config, given: Any, policy: OutboundPolicy | None = None) -> Any:
    """The SLO query client: `given` (a client, or a factory taking the config), else the
    configured Prometheus under `policy` (default: the operator's settings from this
    process's environment, operator mode; built lazily), else None (stages with SLOs then
    judge `error` and hold)."""
    if given is not None:
        return given(config) if callable(given) and not hasattr(given, "query") else given
    if policy is None:
        import os

        from bot.config.operator import outbound_from_env

        policy = outbound_from_env(os.environ)
    return LazyPrometheus(config, policy) if configured(config.prometheus, policy) else None


def judge_client(policy: OutboundPolicy) -> Callable[[Config], Any]:
    """The `prometheus` factory a transport hands to reconcile: each repository's
    configured Prometheus under the operator's `policy`."""
    return lambda config: prometheus_for(config, None, policy)
