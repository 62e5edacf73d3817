"""`METRICS_ADDR`: `/metrics` on a listener of its own (real sockets on loopback), the
public listener without it, and a clear error for an address that cannot be used."""

from __future__ import annotations

import dataclasses
import http.client
import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from flask import Flask
from transport_kit import SECRET, Recorder

from bot.errors import ConfigError
from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings, parse_listen_address, settings_from_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    return response.status, response.read()


@pytest.fixture
def split_app(settings: Settings) -> Iterator[tuple[Flask, int]]:
    port = free_port()
    app = create_app(
        dataclasses.replace(settings, metrics_addr=("127.0.0.1", port)), reconciler=Recorder()
    )
    yield app, port
    runtime(app).close()


def test_metrics_on_their_own_listener_and_not_the_public_one(
    split_app: tuple[Flask, int],
) -> None:
    app, port = split_app
    status, body = get(port, "/metrics")
    assert status == 200 and b"release_train_webhook_deliveries" in body
    assert get(port, "/healthz")[0] == 404  # only /metrics there
    assert app.test_client().get("/metrics").status_code == 404


def test_with_a_token_the_listener_wants_it(settings: Settings) -> None:
    port = free_port()
    token = "m" * 32
    app = create_app(
        dataclasses.replace(settings, metrics_addr=("127.0.0.1", port), metrics_token=token),
        reconciler=Recorder(),
    )
    try:
        assert get(port, "/metrics")[0] == 401
        assert get(port, "/metrics", {"Authorization": "Bearer wrong"})[0] == 401
        assert get(port, "/metrics", {"Authorization": f"Bearer {token}"})[0] == 200
    finally:
        runtime(app).close()


@pytest.mark.parametrize(
    ("raw", "address"),
    [
        ("9464", ("127.0.0.1", 9464)),
        (":9464", ("127.0.0.1", 9464)),
        ("0.0.0.0:9464", ("0.0.0.0", 9464)),
        ("[::1]:9464", ("::1", 9464)),
        ("metrics.internal:80", ("metrics.internal", 80)),
    ],
)
def test_listen_addresses(raw: str, address: tuple[str, int]) -> None:
    assert parse_listen_address(raw) == address


@pytest.mark.parametrize("raw", ["abc", "host:0", "host:70000", "a b:1", "http://x:1"])
def test_a_bad_metrics_addr_names_the_variable(raw: str, private_key_pem: str) -> None:
    env = {"APP_ID": "1", "PRIVATE_KEY": private_key_pem, "WEBHOOK_SECRET": SECRET}
    with pytest.raises(ConfigError) as caught:
        settings_from_env(env | {"METRICS_ADDR": raw})
    assert "METRICS_ADDR" in str(caught.value.problems[0])
    assert settings_from_env(env).metrics_addr is None


def test_serve_stops_before_listening_when_metrics_addr_is_taken(private_key_pem: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        env = {
            **os.environ,
            "APP_ID": "1",
            "PRIVATE_KEY": private_key_pem,
            "WEBHOOK_SECRET": SECRET,
            "SCHEDULE_INTERVAL": "0",
            "METRICS_ADDR": f"127.0.0.1:{port}",
        }
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1, done.stderr
    assert f"METRICS_ADDR: cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr
