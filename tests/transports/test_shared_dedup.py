"""REDIS_URL: delivery ids deduplicated across replicas in a real Redis (Debian's
redis-server, unpacked by .ci/install-system-deps.sh and started once per test session on
127.0.0.1), and acking from memory when Redis is gone."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from flask import Flask
from redis_kit import free_port
from transport_kit import SECRET, Recorder, example, signed_headers

from bot.errors import ConfigError
from bot.transports.app import create_app, runtime
from bot.transports.dedup import PREFIX, SharedSeen
from bot.transports.settings import Settings, settings_from_env


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
