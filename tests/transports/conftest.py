"""Fixtures for the transport tests: an App key pair, settings, an app with a recorder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from redis_kit import MISSING, RedisServer, redis_binary
from transport_kit import SECRET, Recorder

from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings


@pytest.fixture(scope="session")
def private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def settings(private_key_pem: str) -> Settings:
    return Settings(
        app_id="4242",
        private_key=private_key_pem,
        webhook_secret=SECRET,
        api_url="http://127.0.0.1:9",  # nothing listens: the recorder never calls out
        bot_login="release-train[bot]",
        schedule_interval=0,
    )


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def app(settings: Settings, recorder: Recorder) -> Iterator[Flask]:
    flask_app = create_app(settings, reconciler=recorder, debounce=0.05)
    yield flask_app
    runtime(flask_app).close()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """One Redis per test session (tests that restart it take their own)."""
    binary = redis_binary()
    if binary is None:
        pytest.skip(MISSING)
    server = RedisServer(binary).start()
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_url(redis_server: RedisServer) -> str:
    return redis_server.url
