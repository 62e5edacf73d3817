"""Webhook payloads from a running sandbox against GitHub's published payload schemas
(the ``x-webhooks`` of `@octokit/openapi`, kept in the subset). One test per event."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from openapi_check import validate_webhook
from test_webhooks_live import _exercise

from bot.sandbox.runner import run_sandbox
from bot.sandbox.scenario import BOT_INSTALLATION

Payloads = dict[tuple[str, str | None], dict[str, Any]]


@pytest.fixture(scope="module")
def payloads(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Payloads]:
    box: list[tuple[str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.append((self.headers["X-GitHub-Event"], body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    data = Path(tmp_path_factory.mktemp("hooks"))
    try:
        with run_sandbox(data, webhook_url=url, webhook_secret="s", durable=False) as sb:
            _exercise(sb)
            assert sb.deliverer.flush(10)
        seen: Payloads = {}
        for event, body in box:
            payload = json.loads(body)
            seen.setdefault((event, payload.get("action")), payload)
        yield seen
    finally:
        server.shutdown()
        server.server_close()


CASES = [
    ("pull_request", "opened"),
    ("pull_request", "labeled"),
    ("pull_request", "unlabeled"),
    ("pull_request", "synchronize"),
    ("pull_request", "closed"),
    ("pull_request_review", "submitted"),
    ("pull_request_review", "dismissed"),
    ("issue_comment", "created"),
    ("issue_comment", "edited"),
    ("check_run", "created"),
    ("check_run", "completed"),
    ("check_run", "rerequested"),
    ("check_run", "requested_action"),
    ("check_suite", "completed"),
    ("push", None),
    ("deployment", "created"),
    ("deployment_status", "created"),
    ("status", None),
]


@pytest.mark.parametrize(("event", "action"), CASES)
def test_payload_matches_githubs_schema(payloads: Payloads, event: str, action: str | None) -> None:
    assert (event, action) in payloads, f"{event}.{action} was not delivered"
    validate_webhook(event, action, payloads[(event, action)])


def test_the_webhook_servers_router_reads_every_sandbox_payload(payloads: Payloads) -> None:
    from bot.transports.routing import route

    for (event, action), payload in payloads.items():
        decision = route(event, payload)
        assert decision.installation_id == BOT_INSTALLATION, (event, action)
        assert decision.action == (action or "")
        if not decision.ignored:
            assert decision.repo == "acme/shop", (event, action)
    routed = {key for key, p in payloads.items() if not route(key[0], p).ignored}
    assert ("pull_request", "labeled") in routed
