"""The Prometheus adapter: parsing with plain dicts, retries and methods over real HTTP."""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.prometheus import (
    PrometheusClient,
    client_from_config,
    parse_query,
    parse_range,
)
from bot.config.model import Prometheus
from bot.config.operator import outbound_from_env
from bot.config.outbound import OutboundPolicy
from bot.errors import ExternalError

from .helpers import AT
from .prometheus_ports import closed_port
from .scripted_http import Reply, scripted, success

VECTOR = {"resultType": "vector", "result": [{"metric": {"job": "a"}, "value": [1.5, "0.25"]}]}


def ok(body: dict[str, object]) -> dict[str, object]:
    return {"status": "success", "data": body}


# --- parsing --------------------------------------------------------------------------------


def test_parse_vector_with_special_values_and_warnings() -> None:
    result = parse_query(
        {
            "status": "success",
            "warnings": ["partial response"],
            "data": {
                "resultType": "vector",
                "result": [
                    {"metric": {"b": "2", "a": "1"}, "value": [10, "NaN"]},
                    {"metric": {}, "value": [10, "+Inf"]},
                    {"metric": {}, "value": [10, "-Inf"]},
                ],
            },
        }
    )
    assert result.warnings == ("partial response",)
    values = result.values()
    assert math.isnan(values[0]) and values[1] == math.inf and values[2] == -math.inf
    assert result.samples[0].labels == (("a", "1"), ("b", "2"))


def test_parse_empty_vector_and_scalar() -> None:
    assert parse_query(ok({"resultType": "vector", "result": []})).empty
    scalar = parse_query(ok({"resultType": "scalar", "result": [10, "3.5"]}))
    assert scalar.result_type == "scalar" and scalar.values() == [3.5]


def test_parse_matrix() -> None:
    body = ok(
        {
            "resultType": "matrix",
            "result": [{"metric": {"x": "1"}, "values": [[1, "1"], [2, "NaN"], [3, "2"]]}],
        }
    )
    result = parse_range(body)
    assert result.values() == [1.0, 2.0]
    assert result.series[0].points[0] == (1.0, 1.0)


@pytest.mark.parametrize(
    "body",
    [
        {"status": "error", "errorType": "bad_data", "error": "boom"},
        ok({"resultType": "matrix", "result": []}),
        ok({"resultType": "vector", "result": [{"metric": {}, "value": [1, "zz"]}]}),
    ],
)
def test_unexpected_instant_answers_raise(body: dict[str, object]) -> None:
    with pytest.raises(ExternalError):
        parse_query(body)


# --- over HTTP ------------------------------------------------------------------------------


def test_query_sends_an_explicit_time_by_get() -> None:
    with scripted(success(VECTOR)) as server, PrometheusClient(server.url) as client:
        result = client.query("up", AT)
    assert result.values() == [0.25]
    seen = server.seen[0]
    assert (seen.method, seen.path) == ("GET", "/api/v1/query")
    assert seen.params["time"] == [f"{AT.timestamp():.3f}"]


def test_naive_times_are_utc() -> None:
    with scripted(success(VECTOR)) as server, PrometheusClient(server.url) as client:
        client.query("up", datetime(2026, 1, 1, 0, 0))
    assert server.seen[0].params["time"] == [f"{datetime(2026, 1, 1, tzinfo=UTC).timestamp():.3f}"]


def test_long_queries_are_posted_form_encoded() -> None:
    long = "sum(" + " + ".join(f'm{{i="{i}"}}' for i in range(150)) + ")"
    assert len(long) > 1000
    with scripted(success(VECTOR)) as server, PrometheusClient(server.url) as client:
        client.query(long, AT)
        client.query("up", AT)
    assert [s.method for s in server.seen] == ["POST", "GET"]
    assert server.seen[0].params["query"] == [long]
    assert server.seen[0].headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_post_always_when_asked() -> None:
    matrix = {"resultType": "matrix", "result": []}
    with scripted(success(matrix)) as server, PrometheusClient(server.url, post=True) as client:
        client.query_range("up", AT - timedelta(hours=1), AT, timedelta(seconds=30))
    seen = server.seen[0]
    assert (seen.method, seen.path) == ("POST", "/api/v1/query_range")
    assert seen.params["step"] == ["30"]
    assert seen.params["start"] == [f"{(AT - timedelta(hours=1)).timestamp():.3f}"]


def test_5xx_is_retried_with_growing_jittered_backoff() -> None:
    sleeps: list[float] = []
    replies = [Reply(503, {"status": "error", "error": "busy"})] * 2 + [success(VECTOR)]
    with (
        scripted(*replies) as server,
        PrometheusClient(server.url, retries=3, sleep=sleeps.append) as client,
    ):
        assert client.query("up", AT).values() == [0.25]
        assert client.requests == 3
    assert len(sleeps) == 2
    assert 0.125 <= sleeps[0] <= 0.25 and 0.25 <= sleeps[1] <= 0.5


def test_retries_are_bounded_and_the_error_is_retryable() -> None:
    sleeps: list[float] = []
    with (
        scripted(Reply(502, b"bad gateway")) as server,
        PrometheusClient(server.url, retries=2, sleep=sleeps.append) as client,
        pytest.raises(ExternalError) as exc,
    ):
        client.query("up", AT)
    assert len(server.seen) == 3 and len(sleeps) == 2
    assert exc.value.retryable and "HTTP 502" in exc.value.message


def test_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    replies = [Reply(429, b"slow down", headers=(("Retry-After", "4"),)), success(VECTOR)]
    with (
        scripted(*replies) as server,
        PrometheusClient(server.url, sleep=sleeps.append) as client,
    ):
        client.query("up", AT)
    assert 2.0 <= sleeps[0] <= 4.0


def test_a_rejected_query_is_not_retried() -> None:
    body = {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"}
    with (
        scripted(Reply(400, body)) as server,
        PrometheusClient(server.url, sleep=lambda s: None) as client,
        pytest.raises(ExternalError) as exc,
    ):
        client.query("rate(x[5m]", AT)
    assert len(server.seen) == 1
    assert exc.value.status == 400 and not exc.value.retryable
    assert "bad_data: parse error" in exc.value.message


def test_timeouts_are_retried() -> None:
    with (
        scripted(Reply(200, VECTOR, delay=1.0), success(VECTOR)) as server,
        PrometheusClient(server.url, timeout=0.2, sleep=lambda s: None) as client,
    ):
        assert client.query("up", AT).values() == [0.25]
    assert len(server.seen) == 2


def test_unreachable_raises_after_the_retries() -> None:
    sleeps: list[float] = []
    url = f"http://127.0.0.1:{closed_port()}"
    with (
        PrometheusClient(url, retries=2, sleep=sleeps.append) as client,
        pytest.raises(ExternalError) as exc,
    ):
        client.query("up", AT)
    assert client.requests == 3
    assert exc.value.system == "prometheus" and "unreachable" in exc.value.message


def test_client_from_config_uses_operator_credentials_and_repo_headers() -> None:
    config = Prometheus(headers=(("X-Scope-OrgID", "team-a"),))
    with scripted(success(VECTOR)) as server:
        policy = outbound_from_env({"PROMETHEUS_URL": server.url, "PROMETHEUS_TOKEN": "s3cret"})
        with client_from_config(config, policy) as client:
            client.query("up", AT)
    headers = server.seen[0].headers
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["X-Scope-OrgID"] == "team-a"


def test_client_from_config_basic_auth_for_the_override() -> None:
    env = {
        "PROMETHEUS_URL": "http://unused",
        "PROMETHEUS_USERNAME": "u",
        "PROMETHEUS_PASSWORD": "p",
    }
    with (
        scripted(success(VECTOR)) as server,
        client_from_config(Prometheus(), outbound_from_env(env), server.url) as client,
    ):
        client.query("up", AT)
    expected = "Basic " + base64.b64encode(b"u:p").decode()
    assert server.seen[0].headers["Authorization"] == expected


def test_client_from_config_needs_somewhere_to_go() -> None:
    with pytest.raises(ExternalError, match="no Prometheus configured"):
        client_from_config(Prometheus(), OutboundPolicy())
