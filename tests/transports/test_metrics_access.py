"""`/metrics` is the operator's: a bearer token (METRICS_TOKEN) or, without one, loopback only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from flask import Flask

from bot.transports.access import bearer, is_local, metrics_allowed
from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings, settings_from_env

REMOTE = {"REMOTE_ADDR": "203.0.113.7"}  # a WSGI environ value only: nothing is sent there


def _app(settings: Settings) -> Iterator[Flask]:
    flask_app = create_app(settings, reconciler=lambda *a, **k: None, start=False)
    yield flask_app
    runtime(flask_app).close()


@pytest.fixture
def open_app(settings: Settings) -> Iterator[Flask]:
    yield from _app(settings)


@pytest.fixture
def token_app(settings: Settings) -> Iterator[Flask]:
    yield from _app(replace(settings, metrics_token="s3cret-scrape"))


def test_without_token_loopback_reads_metrics(open_app: Flask) -> None:
    response = open_app.test_client().get("/metrics")
    assert response.status_code == 200
    assert "release_train_" in response.get_data(as_text=True)


def test_without_token_a_remote_caller_gets_401(open_app: Flask) -> None:
    response = open_app.test_client().get("/metrics", environ_base=REMOTE)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "release_train_" not in response.get_data(as_text=True)


def test_a_proxied_loopback_request_is_not_local(open_app: Flask) -> None:
    response = open_app.test_client().get("/metrics", headers={"X-Forwarded-For": "198.51.100.2"})
    assert response.status_code == 401


def test_with_token_the_right_bearer_reads_from_anywhere(token_app: Flask) -> None:
    client = token_app.test_client()
    good = {"Authorization": "Bearer s3cret-scrape"}
    assert client.get("/metrics", headers=good, environ_base=REMOTE).status_code == 200
    bad = {"Authorization": "Bearer s3cret-scrapf"}
    assert client.get("/metrics", headers=bad, environ_base=REMOTE).status_code == 401
    # once a token is set, loopback alone is not enough either
    assert client.get("/metrics").status_code == 401


def test_healthz_stays_open(token_app: Flask) -> None:
    assert token_app.test_client().get("/healthz", environ_base=REMOTE).status_code == 200


def test_metrics_token_comes_from_env_and_is_redacted(private_key_pem: str) -> None:
    env = {
        "APP_ID": "1",
        "PRIVATE_KEY": private_key_pem,
        "WEBHOOK_SECRET": "w",
        "METRICS_TOKEN": " tok-123 ",
    }
    settings = settings_from_env(env)
    assert settings.metrics_token == "tok-123"
    assert "tok-123" in settings.secrets() and "tok-123" not in repr(settings)


@pytest.mark.parametrize(
    ("addr", "headers", "local"),
    [
        ("127.0.0.1", {}, True),
        ("::1", {}, True),
        ("::ffff:127.0.0.1", {}, True),
        ("127.0.0.1", {"Forwarded": "for=198.51.100.2"}, False),
        ("127.0.0.1", {"X-Real-IP": "198.51.100.2"}, False),
        ("10.0.0.1", {}, False),
        ("", {}, False),
        (None, {}, False),
        ("not-an-ip", {}, False),
    ],
)
def test_is_local(addr: str | None, headers: dict[str, str], local: bool) -> None:
    assert is_local(addr, headers) is local


def test_bearer_parsing_and_decision() -> None:
    assert bearer({"authorization": "Bearer abc"}) == "abc"
    assert bearer({"Authorization": "token abc"}) is None
    assert bearer({}) is None
    assert metrics_allowed("abc", "10.0.0.1", {"Authorization": "bearer abc"})
    assert not metrics_allowed("abc", "127.0.0.1", {})
