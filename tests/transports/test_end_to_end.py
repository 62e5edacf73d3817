"""End to end: the sandbox sends signed webhooks to the real server over HTTP, and the
server reconciles against the sandbox with an installation token it minted itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from bot.sandbox import appauth
from bot.sandbox.runner import Sandbox, run_sandbox
from bot.transports.app import Runtime, create_app, runtime
from bot.transports.settings import Settings

REPO = "acme/e2e"
SECRET = "e2e-webhook-secret"
CONFIG = """\
version: 1
# hourly departures at minute {minute}; merges any time
trains:
  - name: web
    label: "train:next"
    cadence: "{minute} * * * *"
    base: main
services:
  - name: web
    image: ghcr.io/acme/web
stages:
  - name: staging
    soak: 10m
gates:
  ci:
    required: [ci]
"""


@dataclass
class Rig:
    sandbox: Sandbox
    app: Flask
    now: list[datetime]  # empty: the real clock; else the instant reconciles see

    @property
    def rt(self) -> Runtime:
        return runtime(self.app)

    def settle(self, until: Callable[[], bool], timeout: float = 30) -> bool:
        """Let deliveries and reconciles run until `until()` holds (bounded)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sandbox.deliverer.flush(5)
            self.rt.worker.wait_idle(5)
            if until():
                return True
            time.sleep(0.05)
        return False

    def ledger_files(self) -> list[str]:
        try:
            out = self.sandbox.git.out(
                REPO, "ls-tree", "-r", "--name-only", "refs/heads/release-train/ledger"
            )
        except Exception:
            return []
        return [line for line in out.splitlines() if line.startswith("trains/")]

    def record(self, path: str) -> dict[str, Any]:
        text = self.sandbox.git.out(REPO, "show", f"refs/heads/release-train/ledger:{path}")
        return dict(json.loads(text))

    def pull(self, number: int) -> dict[str, Any]:
        path = f"/repos/{REPO}/pulls/{number}"
        return dict(self.sandbox.scenario.call("GET", path, as_user="rm-dave"))

    def train(self) -> dict[str, Any]:
        """The one train record in the ledger ({} before there is one)."""
        files = [f for f in self.ledger_files() if f != "trains/index.json"]
        return self.record(files[0]) if files else {}

    def comments(self, number: int) -> list[dict[str, Any]]:
        path = f"/repos/{REPO}/issues/{number}/comments?per_page=100"
        return list(self.sandbox.scenario.call("GET", path, as_user="rm-dave"))


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    holder: dict[str, Flask] = {}
    now: list[datetime] = []

    def wsgi(environ: Any, start_response: Any) -> Any:
        return holder["app"](environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}/webhook"
    try:
        with run_sandbox(
            tmp_path / "sb", webhook_url=url, webhook_secret=SECRET, durable=False
        ) as sb:
            settings = Settings(
                app_id=str(appauth.app_id(sb.store)),
                private_key=appauth.private_key_pem(sb.store),
                webhook_secret=SECRET,
                api_url=sb.base_url,
                bot_login="release-train[bot]",
                schedule_interval=0,
            )
            clock = lambda: now[0] if now else datetime.now(UTC)  # noqa: E731
            holder["app"] = create_app(settings, clock=clock, debounce=0.2)
            try:
                yield Rig(sb, holder["app"], now)
            finally:
                runtime(holder["app"]).close()
    finally:
        server.shutdown()


@pytest.mark.slow
def test_a_labeled_pull_request_boards_a_train_through_webhooks(
    capsys: pytest.CaptureFixture[str], rig: Rig
) -> None:
    kit = rig.sandbox.scenario
    soon = datetime.now(UTC) + timedelta(minutes=30)
    kit.create_repo(
        REPO, {".github/release-train.yml": CONFIG.format(minute=soon.minute), "app.txt": "one\n"}
    )
    kit.install_bot(REPO)
    rig.sandbox.deliverer.duplicate = 1.0  # GitHub may redeliver: every delivery arrives twice
    number = kit.open_pr(
        REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A", labels=["feature"]
    )
    kit.review(REPO, number, "rev-carol", "APPROVE")
    head = kit.call("GET", f"/repos/{REPO}/pulls/{number}", as_user="rm-dave")["head"]["sha"]
    kit.set_check(REPO, head, "ci", "completed", "success")
    kit.label(REPO, number, "train:next", actor="dev-alice")

    def boarded() -> bool:
        files = rig.ledger_files()
        return bool(files) and any(
            number in [b["number"] for b in rig.record(f).get("boarded", [])] for f in files
        )

    assert rig.settle(boarded), rig.sandbox.deliverer.log
    [path] = [f for f in rig.ledger_files() if f != "trains/index.json"]
    record = rig.record(path)
    assert record["state"] == "boarding"
    notices = [c for c in rig.comments(number) if "boarded train" in c["body"]]
    assert len(notices) == 1  # one comment despite duplicate deliveries and several triggers

    log = rig.sandbox.deliverer.log
    assert log and all(d.status == 202 for d in log)
    assert any(d.duplicate for d in log)
    metrics = rig.app.test_client().get("/metrics").get_data(as_text=True)
    assert 'outcome="duplicate"' in metrics
    assert 'release_train_reconciles_total{outcome="ok"}' in metrics
    # the ledger commit names the delivery that caused it
    ledger_log = rig.sandbox.git.out(REPO, "log", "--format=%B", "refs/heads/release-train/ledger")
    delivered = {d.delivery_id for d in log}
    trailers = [
        line.split(": ", 1)[1] for line in ledger_log.splitlines() if line.startswith("Delivery: ")
    ]
    assert trailers and set(trailers) <= delivered
    # the logs tell the story with delivery ids and the repository, and no token leaks
    err = capsys.readouterr().err
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(x.get("repo") == REPO and x.get("train_id") for x in lines), err[-3000:]
    assert any(x.get("delivery") in delivered for x in lines)
    assert "ghs_" not in err and rig.sandbox.bot_token() not in err


@pytest.mark.slow
def test_a_train_departs_and_merges_driven_only_by_webhooks(rig: Rig) -> None:
    kit = rig.sandbox.scenario
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    rig.now.append(t0)
    kit.create_repo(
        REPO,
        {
            ".github/release-train.yml": CONFIG.format(minute=(t0 + timedelta(minutes=1)).minute),
            "app.txt": "one\n",
        },
    )
    kit.install_bot(REPO)
    number = kit.open_pr(REPO, "dev-alice", "feat-a", {"a.txt": "a\n"}, title="Add A")
    kit.review(REPO, number, "rev-carol", "APPROVE")
    kit.set_check(REPO, rig.pull(number)["head"]["sha"], "ci", "completed", "success")
    kit.label(REPO, number, "train:next", actor="dev-alice")
    assert rig.settle(lambda: rig.train().get("state") == "boarding")

    # the departure time passes; the next delivery (any comment) lets the bot notice
    rig.now[0] = t0 + timedelta(minutes=2)
    kit.comment(REPO, number, "dev-alice", "ready when you are")
    assert rig.settle(
        lambda: rig.train().get("state") == "departed" and rig.train().get("train_pr")
    )
    train_pr = int(rig.train()["train_pr"])

    # CI goes green on the train PR and the release manager approves: the review's
    # delivery makes the bot merge the train
    kit.set_check(REPO, rig.pull(train_pr)["head"]["sha"], "ci", "completed", "success")
    rig.now[0] = t0 + timedelta(minutes=3)
    approve_at(rig.sandbox, REPO, train_pr, "rm-dave", t0 + timedelta(minutes=3))
    assert rig.settle(lambda: rig.train().get("state") == "merged"), rig.train()
    assert rig.pull(train_pr)["merged"] is True
    assert rig.pull(number)["state"] == "closed"
    assert all(d.status == 202 for d in rig.sandbox.deliverer.log)


def approve_at(sandbox, repo: str, number: int, user: str, at: datetime) -> None:  # type: ignore[no-untyped-def]
    """Approve with the sandbox's clock at the story's simulated time `at`: the policy gate
    counts an approval only when it came after the release branch last changed."""
    real = sandbox.server.clock
    sandbox.server.clock = lambda: at
    try:
        sandbox.scenario.review(repo, number, user, "APPROVE")
    finally:
        sandbox.server.clock = real
