"""JSON logs carry delivery, repo and train id, and never a secret."""

from __future__ import annotations

import io
import json
import logging

import pytest
from flask import Flask
from transport_kit import SECRET, example, signed_headers

from bot.transports.app import ReconcileRequest, create_app, runtime
from bot.transports.logging import MASK, Redactor, configure
from bot.transports.settings import Settings

TOKEN = "ghs_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"


def test_redactor_masks_known_and_shaped_secrets(private_key_pem: str) -> None:
    r = Redactor([SECRET, private_key_pem])
    text = (
        f"secret={SECRET} key={private_key_pem!r} token {TOKEN} "
        "jwt eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiI0MjQyIn0.c2lnbmF0dXJlLXZhbHVl "
        "headers={'Authorization': 'token abc123def456ghi789'}"
    )
    out = r(text)
    for leaked in (SECRET, TOKEN, "abc123def456ghi789", "eyJhbGciOiJSUzI1NiJ9", "PRIVATE KEY"):
        assert leaked not in out
    assert out.count(MASK) >= 5
    r.add("minted-token-123456")
    assert r("got minted-token-123456") == f"got {MASK}"


def test_json_lines_with_context() -> None:
    stream = io.StringIO()
    log = configure(Redactor(), stream=stream, logger_name="release_train.test_json")
    log.info("hello %s", "world", extra={"delivery": "d-9", "repo": "o/r", "train_id": "t-1"})
    doc = json.loads(stream.getvalue())
    assert doc["msg"] == "hello world"
    assert (doc["delivery"], doc["repo"], doc["train_id"], doc["level"]) == (
        "d-9",
        "o/r",
        "t-1",
        "info",
    )


def test_server_logs_never_contain_secrets(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    def leaky(req: ReconcileRequest) -> object:
        logging.getLogger("release_train.reconcile").info(
            "using token %s with Authorization: Bearer %s",
            TOKEN,
            TOKEN,
            extra={"repo": req.repo},
        )
        raise RuntimeError(
            f"failed with {TOKEN} / {settings.webhook_secret} / {settings.private_key}"
        )

    app: Flask = create_app(settings, reconciler=leaky, debounce=0.0)
    rt = runtime(app)
    rt.worker._backoff = lambda attempt: 0.01
    rt.worker._max_attempts = 2
    try:
        payload = example("pull_request", "labeled")
        body = json.dumps(payload).encode()
        client = app.test_client()
        client.post(
            "/webhook", data=body, headers=signed_headers("pull_request", body, delivery="dlv-42")
        )
        client.post("/webhook", data=body, headers={"X-GitHub-Event": "pull_request"})
        assert rt.worker.wait_idle(5)
    finally:
        rt.close()
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines, err
    assert any(line.get("delivery") == "dlv-42" and line.get("repo") for line in lines)
    assert any("exc" in line for line in lines)  # the traceback was logged, redacted
    for secret in (TOKEN, settings.webhook_secret, "BEGIN PRIVATE KEY"):
        assert secret not in err
    body_lines = settings.private_key.strip().splitlines()[1:-1]
    assert not any(chunk in err for chunk in body_lines)


def test_minted_secrets_are_remembered_within_a_bound() -> None:
    r = Redactor(["fixed-secret-value"], recent=3)
    for i in range(5):
        r.add(f"minted-token-{i:04d}")
    assert r("fixed-secret-value") == MASK  # given at start: kept for good
    assert r("minted-token-0004 minted-token-0002") == f"{MASK} {MASK}"
    assert r("minted-token-0000") == "minted-token-0000"  # the oldest fell out
