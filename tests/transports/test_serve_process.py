"""`release-train serve` as a real process (granian + the RSGI front) on loopback: signed
deliveries, oversized and chunked bodies, large headers, and slow clients that must not
stall anyone else."""

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
def test_signed_delivery_through_serve(server: int) -> None:
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
def test_metrics_through_serve(server: int) -> None:
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


def test_declared_30_mb_body_is_413_before_it_is_sent(server: int) -> None:
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
            b"Content-Length: %d\r\n\r\n" % (30 * 1024 * 1024)
        )
        assert sock.recv(64).startswith(b"HTTP/1.1 413")


@pytest.mark.slow
def test_20_kb_of_headers_still_get_an_answer(server: int) -> None:
    body = json.dumps(example("ping")).encode()
    headers = signed_headers("ping", body) | {"X-Padding": "p" * 20_000}
    assert post(server, body, headers)[0] == 202


SLOW = (  # (what a slow client sends first, what it trickles after)
    (b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{", b" "),
    (b"POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", b"1\r\n \r\n"),
    (b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: pu", b"s"),
)


def _slow_clients(port: int, n: int) -> list[tuple[socket.socket, bytes]]:
    """`n` connections stuck part-way: a trickled body, a trickled chunked body, or
    headers that never end, in turn."""
    socks = []
    for i in range(n):
        start, trickle = SLOW[i % len(SLOW)]
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(start)
        socks.append((sock, trickle))
    return socks


@pytest.mark.slow
def test_64_slow_clients_leave_healthz_and_deliveries_answering(server: int) -> None:
    socks = _slow_clients(server, 64)
    try:
        body = json.dumps(example("pull_request", "labeled")).encode()
        worst = 0.0
        for _ in range(5):
            for sock, trickle in socks[::7]:
                sock.sendall(trickle)  # still alive, still slow
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", server, timeout=5)
            conn.request("GET", "/healthz")
            assert conn.getresponse().status == 200
            status, doc = post(server, body, signed_headers("pull_request", body))
            assert (status, doc["status"]) == (202, "queued")
            worst = max(worst, time.monotonic() - started)
        assert worst < 0.5, f"/healthz + a signed delivery took {worst:.3f} s"
    finally:
        for sock, _ in socks:
            sock.close()


def test_servers_own_log_lines_are_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    """granian's own lines (start-up, a worker's crash and its traceback) pass the same
    redaction as the bot's: a secret in a message or an exception never reaches stderr."""
    import logging
    import logging.config

    from bot.transports.logging import Redactor, server_log_config

    logging.config.dictConfig(server_log_config(Redactor([SECRET])))
    log = logging.getLogger("_granian")
    log.error("worker failed with %s", SECRET)
    try:
        raise RuntimeError(f"token {SECRET} refused")
    except RuntimeError:
        log.exception("request crashed")
    text = capsys.readouterr().err
    assert "worker failed with" in text and "request crashed" in text
    assert "RuntimeError: token" in text  # the traceback is there, redacted
    assert SECRET not in text


@pytest.mark.slow
def test_large_bodies_are_checked_off_the_loop(server: int) -> None:
    payload = example("pull_request", "labeled") | {"padding": "p" * 2_000_000}
    body = json.dumps(payload).encode()
    status, doc = post(server, body, signed_headers("pull_request", body))
    assert (status, doc["status"]) == (202, "queued")
    big = b"{" + b" " * 20_000_000 + b"}"
    assert (
        post(server, big, {"X-GitHub-Event": "push", "X-Hub-Signature-256": "sha256=0"})[0] == 401
    )
