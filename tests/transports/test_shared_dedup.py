"""REDIS_URL: delivery ids deduplicated across replicas in a real Redis (Debian's
redis-server, unpacked by .ci/install-system-deps.sh and started once per test session on
127.0.0.1), and acking from memory when Redis is gone."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from transport_kit import SECRET, Recorder, example, signed_headers

from bot.errors import ConfigError
from bot.transports.app import create_app, runtime
from bot.transports.dedup import PREFIX, SharedSeen
from bot.transports.settings import Settings, settings_from_env

ROOT = Path(__file__).resolve().parents[2]
UNPACKED = ROOT / ".cache" / "redis" / "usr"


def _redis_binary() -> str | None:
    given = os.environ.get("REDIS_SERVER_BIN")
    if given:
        return given
    unpacked = UNPACKED / "bin" / "redis-server"
    return str(unpacked) if unpacked.exists() else shutil.which("redis-server")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    binary = _redis_binary()
    if binary is None:
        pytest.skip(
            "no redis-server: run `bash .ci/install-system-deps.sh` or set REDIS_SERVER_BIN"
        )
    port = free_port()
    env = {**os.environ, "LD_LIBRARY_PATH": str(UNPACKED / "lib" / "x86_64-linux-gnu")}
    with tempfile.TemporaryDirectory() as data:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", data],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    assert proc.poll() is None and time.monotonic() < deadline, "no redis"
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            proc.terminate()
            proc.wait(10)


def replica(settings: Settings, url: str) -> Flask:
    return create_app(dataclasses.replace(settings, redis_url=url), reconciler=Recorder())


def post(app: Flask, body: bytes, delivery: str) -> dict[str, object]:
    headers = signed_headers("pull_request", body, delivery=delivery)
    response = app.test_client().post("/webhook", data=body, headers=headers)
    assert response.status_code == 202
    return dict(response.get_json())


def test_a_redelivery_to_another_replica_is_a_duplicate(settings: Settings, redis_url: str) -> None:
    one, two = replica(settings, redis_url), replica(settings, redis_url)
    try:
        body = json.dumps(example("pull_request", "labeled")).encode()
        delivery = f"d-{time.monotonic_ns()}"
        assert post(one, body, delivery)["status"] == "queued"
        assert post(two, body, delivery)["status"] == "duplicate"
        assert post(one, body, delivery)["status"] == "duplicate"
        assert post(two, body, delivery + "-other")["status"] == "queued"
    finally:
        runtime(one).close()
        runtime(two).close()


def test_claimed_ids_expire(redis_url: str) -> None:
    import redis

    seen = SharedSeen(redis_url, ttl=60)
    delivery = f"ttl-{time.monotonic_ns()}"
    assert seen.add(delivery)
    ttl = redis.Redis.from_url(redis_url).ttl(PREFIX + delivery)
    assert 0 < ttl <= 60
    seen.close()


def test_without_redis_it_acks_from_memory_and_stops_asking(settings: Settings) -> None:
    port = free_port()  # nothing listens there
    app = replica(settings, f"redis://127.0.0.1:{port}/0")
    try:
        body = json.dumps(example("pull_request", "labeled")).encode()
        started = time.monotonic()
        assert post(app, body, "gone-1")["status"] == "queued"
        assert post(app, body, "gone-1")["status"] == "duplicate"  # this process remembers
        assert post(app, body, "gone-2")["status"] == "queued"
        assert time.monotonic() - started < 2  # one failed try, then memory alone
    finally:
        runtime(app).close()


def test_redis_url_is_checked_and_its_password_redacted(private_key_pem: str) -> None:
    env = {"APP_ID": "1", "PRIVATE_KEY": private_key_pem, "WEBHOOK_SECRET": SECRET}
    with pytest.raises(ConfigError) as caught:
        settings_from_env(env | {"REDIS_URL": "http://x"})
    assert "REDIS_URL" in str(caught.value.problems[0])
    found = settings_from_env(env | {"REDIS_URL": "redis://:hunter2-pass@127.0.0.1:1/0"})
    assert "hunter2-pass" in found.secrets()
    assert "hunter2-pass" not in repr(found)
