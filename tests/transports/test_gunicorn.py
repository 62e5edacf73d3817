"""`release-train serve` as a real gunicorn process on loopback."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from transport_kit import SECRET, example, signed_headers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(private_key_pem: str) -> Iterator[int]:
    port = free_port()
    env = {
        **os.environ,
        "APP_ID": "4242",
        "PRIVATE_KEY": private_key_pem,
        "WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "APP_SLUG": "release-train",
        "SCHEDULE_INTERVAL": "0",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    out = proc.stdout.read().decode() if proc.stdout else ""
                    raise AssertionError(f"server did not start: {out}") from None
                time.sleep(0.05)
        yield port
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def post(port: int, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, object]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("POST", "/webhook", body=body, headers=headers)
    response = conn.getresponse()
    return response.status, json.loads(response.read() or b"{}")


@pytest.mark.slow
def test_signed_delivery_through_gunicorn(server: int) -> None:
    body = json.dumps(example("pull_request", "labeled")).encode()
    status, doc = post(server, body, signed_headers("pull_request", body))
    assert (status, doc["status"]) == (202, "queued")
    status, doc = post(server, body, {"X-GitHub-Event": "pull_request"})
    assert status == 401
    ping = json.dumps(example("ping")).encode()
    assert post(server, ping, signed_headers("ping", ping))[0] == 202


@pytest.mark.slow
def test_chunked_oversized_body_is_413_while_reading(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=30)
    chunk = b" " * (1024 * 1024)

    def body() -> Iterator[bytes]:
        yield b"{"
        for _ in range(26):
            yield chunk

    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    try:
        conn.request("POST", "/webhook", body=body(), headers=headers, encode_chunked=True)
        status = conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        pytest.fail("the server closed the connection instead of answering 413")
    assert status == 413


@pytest.mark.slow
def test_metrics_through_gunicorn(server: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
    conn.request("GET", "/metrics")
    response = conn.getresponse()
    assert response.status == 200
    assert b"release_train_webhook_deliveries" in response.read()


@pytest.mark.slow
def test_dev_server_answers_a_signed_delivery(private_key_pem: str) -> None:
    port = free_port()
    env = {
        **os.environ,
        "APP_ID": "1",
        "PRIVATE_KEY": private_key_pem,
        "WEBHOOK_SECRET": SECRET,
        "GITHUB_API_URL": "http://127.0.0.1:9",
        "APP_SLUG": "rt",
        "SCHEDULE_INTERVAL": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--dev", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                ping = json.dumps(example("ping")).encode()
                status, doc = post(port, ping, signed_headers("ping", ping))
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
        assert (status, doc["status"]) == (202, "ignored")
    finally:
        proc.terminate()
        proc.wait(10)


def test_gunicorns_own_log_lines_are_scrubbed(tmp_path: Path) -> None:
    """gunicorn's error log (worker timeouts, a crashed request's traceback) passes the same
    redaction as the bot's lines: a secret in a message or an exception never reaches it."""
    from gunicorn.config import Config

    from bot.commands.serve import scrubbed_logger_class

    path = tmp_path / "error.log"
    cfg = Config()
    cfg.set("errorlog", str(path))
    log = scrubbed_logger_class([SECRET])(cfg)
    log.error("worker failed with %s", SECRET)
    try:
        raise RuntimeError(f"token {SECRET} refused")
    except RuntimeError:
        log.exception("request crashed")
    text = path.read_text()
    assert "worker failed with" in text and "request crashed" in text
    assert "RuntimeError: token" in text  # the traceback is there, redacted
    assert SECRET not in text
