"""POST /webhook through Flask's test client, with a recording reconciler."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from typing import Any

import pytest
from flask import Flask
from transport_kit import SECRET, WEBHOOKS, Recorder, example, examples, signed_headers

from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings
from bot.transports.webhook import MAX_BODY


def post(app: Flask, event: str, payload: dict[str, Any], **kw: Any) -> Any:
    body = json.dumps(payload).encode()
    return app.test_client().post("/webhook", data=body, headers=signed_headers(event, body, **kw))


def all_examples() -> list[tuple[str, int, dict[str, Any]]]:
    index = json.loads((WEBHOOKS / "index.json").read_text())
    return [(event, i, p) for event in sorted(index) for i, p in enumerate(examples(event))]


def test_every_published_example_is_accepted_never_5xx(app: Flask, recorder: Recorder) -> None:
    cases = all_examples()
    assert len(cases) == 329
    statuses: dict[str, int] = {}
    for event, i, payload in cases:
        response = post(app, event, payload)
        assert response.status_code == 202, (event, i, response.get_json())
        status = response.get_json()["status"]
        statuses[status] = statuses.get(status, 0) + 1
    assert runtime(app).worker.wait_idle(10)
    # the train-relevant events were queued; the rest ignored with a reason
    assert statuses["queued"] > 50 and statuses["ignored"] > 100
    assert set(recorder.repos()) >= {"Codertocat/Hello-World"}


def test_pull_request_labeled_is_queued_for_its_repository(app: Flask, recorder: Recorder) -> None:
    payload = example("pull_request", "labeled")
    response = post(app, "pull_request", payload, delivery="d-1")
    assert response.status_code == 202
    assert response.get_json() == {
        "status": "queued",
        "repository": payload["repository"]["full_name"],
    }
    assert runtime(app).worker.wait_idle(5)
    [call] = recorder.calls
    assert call.repo == payload["repository"]["full_name"]
    assert call.delivery == "d-1"
    assert call.events == ("pull_request",)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # unsigned
        {"X-Hub-Signature-256": "sha256=" + "0" * 64},  # forged
        {"X-Hub-Signature-256": "sha256=zz"},  # malformed
        {"X-Hub-Signature-256": "md5=abc"},  # wrong algorithm
    ],
    ids=["unsigned", "forged", "malformed", "wrong-algorithm"],
)
def test_unsigned_or_forged_is_401(app: Flask, recorder: Recorder, headers: dict[str, str]) -> None:
    body = json.dumps(example("pull_request", "labeled")).encode()
    response = app.test_client().post(
        "/webhook",
        data=body,
        headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "x", **headers},
    )
    assert response.status_code == 401
    assert runtime(app).worker.wait_idle(5)
    assert recorder.calls == []


def test_sha1_signature_alone_is_401(app: Flask, recorder: Recorder) -> None:
    body = json.dumps(example("pull_request", "labeled")).encode()
    sha1 = "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    response = app.test_client().post(
        "/webhook",
        data=body,
        headers={
            "X-GitHub-Event": "pull_request",
            "X-GitHub-Delivery": "s",
            "X-Hub-Signature": sha1,
        },
    )
    assert response.status_code == 401


def test_signature_with_another_secret_is_401(app: Flask) -> None:
    body = json.dumps(example("ping")).encode()
    headers = signed_headers("ping", body, secret="not the secret")
    assert app.test_client().post("/webhook", data=body, headers=headers).status_code == 401


def test_a_body_changed_after_signing_is_401(app: Flask) -> None:
    body = json.dumps(example("pull_request", "labeled")).encode()
    headers = signed_headers("pull_request", body)
    tampered = body.replace(b"Hello-World", b"Hello-Worle")
    assert app.test_client().post("/webhook", data=tampered, headers=headers).status_code == 401


def test_the_same_delivery_twice_reconciles_once(app: Flask, recorder: Recorder) -> None:
    payload = example("issue_comment", "created")
    first = post(app, "issue_comment", payload, delivery="dup-1")
    assert runtime(app).worker.wait_idle(5)
    second = post(app, "issue_comment", payload, delivery="dup-1")
    assert runtime(app).worker.wait_idle(5)
    assert first.get_json()["status"] == "queued"
    assert second.status_code == 202 and second.get_json()["status"] == "duplicate"
    assert len(recorder.calls) == 1


def test_oversized_body_is_413_by_content_length(app: Flask, recorder: Recorder) -> None:
    body = b"{" + b" " * MAX_BODY + b"}"
    response = app.test_client().post(
        "/webhook", data=body, headers=signed_headers("pull_request", body)
    )
    assert response.status_code == 413
    assert recorder.calls == []


def test_unknown_event_is_202_ignored(app: Flask, recorder: Recorder) -> None:
    response = post(app, "made_up_event", {"action": "whatever", "repository": {}})
    assert response.status_code == 202
    assert response.get_json()["status"] == "ignored"
    assert "made_up_event" in response.get_json()["reason"]


def test_signed_garbage_is_400_not_500(app: Flask) -> None:
    body = b"not json at all"
    response = app.test_client().post("/webhook", data=body, headers=signed_headers("push", body))
    assert response.status_code == 400


def test_form_encoded_payload_is_understood(app: Flask, recorder: Recorder) -> None:
    from urllib.parse import urlencode

    payload = example("pull_request", "labeled")
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = signed_headers("pull_request", body)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    response = app.test_client().post("/webhook", data=body, headers=headers)
    assert response.get_json()["status"] == "queued"


def test_the_bots_own_comment_is_ignored(app: Flask, recorder: Recorder) -> None:
    payload = example("issue_comment", "created")
    payload = {**payload, "sender": {**payload["sender"], "login": "release-train[bot]"}}
    response = post(app, "issue_comment", payload)
    assert response.get_json() == {"status": "ignored", "reason": "the bot's own event"}


def test_a_burst_for_one_repository_coalesces(app: Flask, recorder: Recorder) -> None:
    recorder.gate = threading.Event()
    payload = example("pull_request", "synchronize")
    for _ in range(20):
        assert post(app, "pull_request", payload).status_code == 202
    recorder.gate.set()
    assert runtime(app).worker.wait_idle(10)
    assert 1 <= len(recorder.calls) <= 2
    assert recorder.overlaps == 0
    delivered = sum(len(c.events) for c in recorder.calls)
    assert delivered >= 1


def test_a_failing_reconciler_is_retried_and_the_server_survives(
    settings: Settings, recorder: Recorder
) -> None:
    recorder.failures = 2
    app = create_app(settings, reconciler=recorder, debounce=0.0)
    rt = runtime(app)
    rt.worker._backoff = lambda attempt: 0.05  # short backoff for the test
    try:
        assert post(app, "pull_request", example("pull_request", "labeled")).status_code == 202
        assert rt.worker.wait_idle(10)
        assert len(recorder.calls) == 3  # two failures, then success
        assert [c.attempt for c in recorder.calls] == [0, 1, 2]
        assert post(app, "ping", example("ping")).status_code == 202
        text = app.test_client().get("/metrics").get_data(as_text=True)
        assert 'release_train_worker_failures_total{outcome="retry"} 2.0' in text
    finally:
        rt.close()


def test_healthz_and_metrics(app: Flask, recorder: Recorder) -> None:
    client = app.test_client()
    assert client.get("/healthz").get_json()["status"] == "ok"
    post(app, "pull_request", example("pull_request", "labeled"))
    post(app, "star", example("star"))
    client.post("/webhook", data=b"{}", headers={"X-GitHub-Event": "push"})
    assert runtime(app).worker.wait_idle(5)
    text = client.get("/metrics").get_data(as_text=True)
    assert (
        'release_train_webhook_deliveries_total{event="pull_request",outcome="queued"} 1.0' in text
    )
    assert 'release_train_webhook_deliveries_total{event="star",outcome="ignored"} 1.0' in text
    assert 'release_train_webhook_deliveries_total{event="push",outcome="unauthorized"} 1.0' in text
    assert 'release_train_reconciles_total{outcome="ok"} 1.0' in text
    assert "release_train_reconcile_duration_seconds_bucket" in text


def test_reconcile_results_steer_the_scheduler(settings: Settings) -> None:
    from dataclasses import dataclass, replace

    @dataclass(frozen=True)
    class Result:
        trains: tuple[tuple[str, str], ...]
        problems: tuple[str, ...] = ()
        actions_done: tuple[str, ...] = ()

    results = {
        "acme/no-config": Result((), ("no .github/release-train.yml on the default branch",)),
    }

    def reconciler(req: Any) -> object:
        return results.get(req.repo, Result((("web-2026-03-02", "boarding"),)))

    app = create_app(replace(settings, schedule_interval=3600), reconciler=reconciler, debounce=0.0)
    rt = runtime(app)
    try:
        for repo in ("acme/no-config", "acme/shop"):
            payload = json.loads(json.dumps(example("pull_request", "labeled")))
            payload["repository"]["full_name"] = repo
            assert post(app, "pull_request", payload).status_code == 202
        assert rt.worker.wait_idle(5)
        assert [w.repo for w in rt.scheduler.watched()] == ["acme/shop"]
        text = app.test_client().get("/metrics").get_data(as_text=True)
        assert 'release_train_trains{state="boarding"} 1.0' in text
        assert 'release_train_reconciles_total{outcome="problem"} 1.0' in text
    finally:
        rt.close()


def test_get_on_the_webhook_path_is_405_and_other_paths_reach_flask(app: Flask) -> None:
    client = app.test_client()
    response = client.get("/webhook")
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert client.get("/no-such-page").status_code == 404


def test_next_due_from_a_reconcile_brings_the_next_tick_forward(settings: Settings) -> None:
    import time
    from dataclasses import dataclass, replace
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 3, 2, 13, 59, tzinfo=UTC)

    @dataclass(frozen=True)
    class Result:
        trains: tuple[tuple[str, str], ...] = (("web-2026-03-02", "boarding"),)
        next_due: datetime = now + timedelta(seconds=60)  # the 14:00 departure

    app = create_app(
        replace(settings, schedule_interval=3600),
        reconciler=lambda req: Result(),
        clock=lambda: now,
        debounce=0.0,
    )
    rt = runtime(app)
    try:
        assert post(app, "pull_request", example("pull_request", "labeled")).status_code == 202
        assert rt.worker.wait_idle(5)
        [watched] = rt.scheduler.watched()
        assert watched.due - time.monotonic() <= 60  # not the 3600 s interval
    finally:
        rt.close()


def test_signed_json_nested_too_deep_is_400_not_500(app: Flask, recorder: Recorder) -> None:
    body = b'{"a":' * 100_000 + b"1" + b"}" * 100_000
    response = app.test_client().post(
        "/webhook", data=body, headers=signed_headers("push", body, delivery="deep-1")
    )
    assert response.status_code == 400
    assert response.get_json() == {"status": "refused", "reason": "payload is not a JSON object"}
    assert recorder.calls == []


def test_a_malformed_body_does_not_use_up_its_delivery_id(app: Flask, recorder: Recorder) -> None:
    garbage = b"{not json"
    headers = signed_headers("issue_comment", garbage, delivery="retry-1")
    assert app.test_client().post("/webhook", data=garbage, headers=headers).status_code == 400
    # GitHub redelivers the same id with the real body: it is still acted on
    response = post(app, "issue_comment", example("issue_comment", "created"), delivery="retry-1")
    assert response.get_json()["status"] == "queued"
    assert runtime(app).worker.wait_idle(5)
    assert len(recorder.calls) == 1


def test_unverified_event_names_never_grow_the_metrics(app: Flask) -> None:
    client = app.test_client()
    client.post("/webhook", data=b"{}", headers={"X-GitHub-Event": "warmup"})
    before = client.get("/metrics").get_data(as_text=True).splitlines()
    for i in range(2000):
        client.post("/webhook", data=b"{}", headers={"X-GitHub-Event": f"event-{i}-{'x' * 40}"})
    text = client.get("/metrics").get_data(as_text=True)
    assert len(text.splitlines()) == len(before)  # no new series: only counts grew
    assert len(text) - len("\n".join(before)) < 16
    assert (
        'release_train_webhook_deliveries_total{event="other",outcome="unauthorized"} 2001.0'
        in (text)
    )
    assert "event-1" not in text
