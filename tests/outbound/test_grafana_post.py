"""Deployment events posted to Grafana's annotations API (`GRAFANA_URL` + `GRAFANA_TOKEN`,
the operator's only), through the outbound policy, against a real HTTP server on 127.0.0.1
that answers like Grafana's `GET`/`POST /api/annotations`."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bot.config.outbound import Endpoint, Mode, OutboundPolicy
from bot.core.deploy_events import DeployEvent
from bot.core.ledger import TrainRecord
from bot.errors import ConfigError
from bot.shell.reconcile import ReconcileResult
from bot.transports.app import create_app, runtime
from bot.transports.grafana import PER_RECONCILE, GrafanaAnnotator
from bot.transports.settings import Settings, settings_from_env
from bot.transports.worker import Trigger

T0 = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)
TOKEN = "glsa_" + "k" * 32
BUMP = DeployEvent("web-2026-03-04", "staging", "bump", T0)
REVERT = DeployEvent("web-2026-03-04", "staging", "revert", T0 + timedelta(minutes=3))


@dataclass
class Grafana:
    """Grafana's annotations endpoints, in memory, recording every request."""

    url: str = ""
    stored: list[dict[str, Any]] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    fail: int = 0  # answer 500 to this many requests first

    def find(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        lo, hi = int(query["from"][0]), int(query["to"][0])
        tags = set(query.get("tags", []))
        return [a for a in self.stored if lo <= a["time"] <= hi and tags <= set(a["tags"])]


@contextmanager
def grafana() -> Iterator[Grafana]:
    state = Grafana()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _reply(self, code: int, doc: Any) -> None:
            body = json.dumps(doc).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _handle(self) -> None:
            state.requests.append((self.command, self.path, dict(self.headers)))
            if state.fail:
                state.fail -= 1
                return self._reply(500, {"message": "database is locked"})
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                return self._reply(401, {"message": "Unauthorized"})
            parts = urlsplit(self.path)
            if parts.path != "/api/annotations":
                return self._reply(404, {"message": "Not found"})
            if self.command == "GET":
                return self._reply(200, state.find(parse_qs(parts.query)))
            length = int(self.headers.get("Content-Length") or 0)
            doc = json.loads(self.rfile.read(length))
            state.stored.append({**doc, "id": len(state.stored) + 1})
            return self._reply(200, {"message": "Annotation added", "id": len(state.stored)})

        do_GET = _handle
        do_POST = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def endpoint(g: Grafana) -> Endpoint:
    return Endpoint(g.url, "GRAFANA_URL", trusted=True, token=TOKEN)


APP = OutboundPolicy(Mode.APP)  # serve's policy: loopback is refused unless the operator chose it


def posts(g: Grafana) -> list[tuple[str, str, dict[str, str]]]:
    return [r for r in g.requests if r[0] == "POST"]


def test_each_event_is_posted_once_with_its_time_and_tags() -> None:
    with grafana() as g:
        annotator = GrafanaAnnotator(endpoint(g), APP)
        assert annotator.post("acme/shop", [BUMP]) == 1
        assert annotator.post("acme/shop", [BUMP, REVERT]) == 1
        assert annotator.post("acme/shop", [BUMP, REVERT]) == 0
        assert len(posts(g)) == 2
        assert [a["time"] for a in g.stored] == [
            int(BUMP.timestamp * 1000),
            int(REVERT.timestamp * 1000),
        ]
        assert g.stored[1]["tags"] == [
            "release-train",
            "repository:acme/shop",
            "train:web-2026-03-04",
            "event:revert",
            "stage:staging",
        ]
        assert g.stored[1]["text"] == "web-2026-03-04: revert staging (acme/shop)"
        assert all(h["Authorization"] == f"Bearer {TOKEN}" for _, _, h in g.requests)


def test_a_restarted_server_finds_what_was_posted_and_does_not_post_it_again() -> None:
    with grafana() as g:
        GrafanaAnnotator(endpoint(g), APP).post("acme/shop", [BUMP, REVERT])
        again = GrafanaAnnotator(endpoint(g), APP)  # a new process: nothing remembered
        assert again.post("acme/shop", [BUMP, REVERT]) == 0
        assert len(g.stored) == 2 and len(posts(g)) == 2


def test_grafana_failing_is_retried_at_the_next_reconcile_without_raising() -> None:
    with grafana() as g:
        g.fail = 1
        annotator = GrafanaAnnotator(endpoint(g), APP)
        assert annotator.post("acme/shop", [BUMP]) == 0  # logged, not raised
        assert annotator.post("acme/shop", [BUMP]) == 1
        assert len(g.stored) == 1


def test_a_wrong_token_posts_nothing() -> None:
    with grafana() as g:
        wrong = Endpoint(g.url, "GRAFANA_URL", trusted=True, token="glsa_wrong")
        assert GrafanaAnnotator(wrong, APP).post("acme/shop", [BUMP]) == 0
        assert g.stored == [] and posts(g) == []


def test_grafana_comes_from_the_operators_environment_only(private_key: str) -> None:
    base = {"APP_ID": "1", "PRIVATE_KEY": private_key, "WEBHOOK_SECRET": "w"}
    settings = settings_from_env(
        {**base, "GRAFANA_URL": "https://grafana.example.com/", "GRAFANA_TOKEN": TOKEN}
    )
    assert settings.grafana is not None and settings.grafana.trusted
    assert settings.grafana.url == "https://grafana.example.com"
    assert TOKEN in settings.secrets() and TOKEN not in repr(settings)
    assert settings_from_env(base).grafana is None
    for env, named in (
        ({"GRAFANA_URL": "https://grafana.example.com"}, "GRAFANA_TOKEN"),
        ({"GRAFANA_TOKEN": TOKEN}, "GRAFANA_URL"),
        ({"GRAFANA_URL": "ftp://grafana", "GRAFANA_TOKEN": TOKEN}, "GRAFANA_URL"),
    ):
        with pytest.raises(ConfigError) as caught:
            settings_from_env({**base, **env})
        assert caught.value.problems[0].message.startswith(named)


def test_serve_posts_the_events_its_reconcile_saw(private_key: str) -> None:
    record = TrainRecord("web-2026-03-04", "web", created_at=T0)
    record = record.with_event("stage-started", BUMP.at, detail="staging")
    record = record.with_event("rolled-back", REVERT.at, "rm-dave", "rollback requested")
    with grafana() as g:
        settings = Settings(
            app_id="1",
            private_key=private_key,
            webhook_secret="w",
            api_url="http://127.0.0.1:9",
            bot_login="release-train[bot]",
            schedule_interval=0,
            grafana=endpoint(g),
        )
        app = create_app(settings, reconciler=lambda req: ReconcileResult(records=(record,)))
        rt = runtime(app)
        try:
            rt.worker.submit(Trigger("acme/shop"))
            assert rt.worker.wait_idle(10)
        finally:
            rt.close()
        got = {(a["time"], a["tags"][3]) for a in g.stored}
        assert got == {
            (int(BUMP.timestamp * 1000), "event:bump"),
            (int(REVERT.timestamp * 1000), "event:revert"),
        }


@pytest.fixture(scope="module")
def private_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_at_most_per_reconcile_events_are_posted_at_once() -> None:
    many = [
        DeployEvent(f"web-2026-03-{d:02d}", f"wave-{w}", "bump", T0 + timedelta(days=d, minutes=w))
        for d in range(1, 6)
        for w in range(10)
    ]
    with grafana() as g:
        annotator = GrafanaAnnotator(endpoint(g), APP)
        assert annotator.post("acme/shop", many) == PER_RECONCILE
        assert annotator.post("acme/shop", many) == len(many) - PER_RECONCILE
        assert len(g.stored) == len(many) == len({a["time"] for a in g.stored})
