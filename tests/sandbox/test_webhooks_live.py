"""Webhooks from a running sandbox: every event the bot uses arrives signed, shaped like
GitHub's published examples (same top-level keys), with the App's installation."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from githubkit import GitHub

from bot.sandbox.api.checks import request_action
from bot.sandbox.runner import Sandbox, run_sandbox
from bot.sandbox.scenario import BOT_INSTALLATION

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "webhooks"
SECRET = "s3cret"
Received = list[tuple[dict[str, str], bytes]]


@pytest.fixture
def received() -> Iterator[tuple[str, Received]]:
    box: Received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.append((dict(self.headers.items()), body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", box
    server.shutdown()
    server.server_close()


@pytest.fixture
def live(tmp_path: Path, received: tuple[str, Received]) -> Iterator[tuple[Sandbox, Received]]:
    url, box = received
    with run_sandbox(tmp_path / "sb", webhook_url=url, webhook_secret=SECRET, durable=False) as sb:
        yield sb, box


def _variants(event: str, action: str | None) -> list[set[str]]:
    examples = json.loads((EXAMPLES / f"{event}.json").read_text())
    return [set(e) - {"organization", "enterprise"} | {"installation"}
            for e in examples if e.get("action") == action]  # fmt: skip


def _exercise(sb: Sandbox) -> None:
    sc = sb.scenario
    sc.demo()
    number = sc.open_pr("acme/shop", "dev-alice", "feat", {"x.txt": "1"}, title="Feature")
    sc.label("acme/shop", number, "release: next")
    sc.unlabel("acme/shop", number, "release: next")
    sc.push("acme/shop", "feat", {"x.txt": "2"}, "more", "dev-alice")
    review = sc.review("acme/shop", number, "rev-carol", "APPROVE")
    sc.call("PUT", f"/repos/acme/shop/pulls/{number}/reviews/{review}/dismissals",
            {"message": "stale"}, as_user="rm-dave")  # fmt: skip
    sc.review("acme/shop", number, "rev-carol", "APPROVE")
    comment = sc.comment("acme/shop", number, "rm-dave", "/train board")
    sc.call("PATCH", f"/repos/acme/shop/issues/comments/{comment}", {"body": "/train hold"},
            as_user="rm-dave")  # fmt: skip
    head = sb.git.resolve("acme/shop", "feat")
    with GitHub(sb.bot_token(), base_url=sb.base_url, auto_retry=False) as gh:
        action = {"label": "Hold", "description": "Hold the train", "identifier": "hold"}
        run = gh.rest.checks.create("acme", "shop", name="gate", head_sha=head or "",
                                    status="in_progress", actions=[action]).json()  # fmt: skip
        gh.rest.checks.update("acme", "shop", run["id"], conclusion="success")
        gh.rest.checks.rerequest_run("acme", "shop", run["id"])
        request_action(sb.server, run["id"], "hold", "rm-dave")
        gh.rest.repos.create_commit_status("acme", "shop", head or "", state="success",
                                           context="release-train")  # fmt: skip
        dep = gh.request("POST", "/repos/acme/shop/deployments",
                         json={"ref": "main", "environment": "staging",
                               "required_contexts": []}).json()  # fmt: skip
        gh.rest.repos.create_deployment_status("acme", "shop", dep["id"], state="success")
    sc.merge("acme/shop", number)


def test_events_arrive_signed_and_shaped_like_githubs(live: tuple[Sandbox, Received]) -> None:
    sb, box = live
    _exercise(sb)
    assert sb.deliverer.flush(10)
    seen: dict[tuple[str, str | None], dict[str, Any]] = {}
    for headers, body in box:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Hub-Signature-256"] == expected
        payload = json.loads(body)
        seen.setdefault((headers["X-GitHub-Event"], payload.get("action")), payload)
    wanted = [
        ("pull_request", "opened"), ("pull_request", "labeled"), ("pull_request", "unlabeled"),
        ("pull_request", "synchronize"), ("pull_request", "closed"),
        ("pull_request_review", "submitted"), ("pull_request_review", "dismissed"),
        ("issue_comment", "created"), ("issue_comment", "edited"),
        ("check_run", "created"), ("check_run", "completed"), ("check_run", "rerequested"),
        ("check_run", "requested_action"),
        ("check_suite", "completed"), ("push", None), ("deployment_status", "created"),
        ("status", None),
    ]  # fmt: skip
    missing = [w for w in wanted if w not in seen]
    assert not missing, f"not delivered: {missing}; got {sorted(seen, key=str)}"
    wrong = {}
    for key in wanted:
        payload = seen[key]
        keys = set(payload) - {"organization", "enterprise"}
        if keys not in _variants(*key):
            wrong[key] = sorted(keys)
        assert payload["installation"]["id"] == BOT_INSTALLATION, key
        assert payload["sender"]["login"], key
    assert not wrong, wrong
    assert seen[("pull_request", "closed")]["pull_request"]["merged"] is True
    edited = seen[("issue_comment", "edited")]
    assert edited["changes"] == {"body": {"from": "/train board"}}
    assert seen[("pull_request_review", "dismissed")]["review"]["state"].lower() == "dismissed"
    pressed = seen[("check_run", "requested_action")]
    assert pressed["requested_action"] == {"identifier": "hold"}
    assert pressed["sender"]["login"] == "rm-dave"
    log = sb.deliverer.log
    assert {d.status for d in log} == {200}


def test_nested_objects_have_the_published_keys(live: tuple[Sandbox, Received]) -> None:
    """The pull_request / check_run / review objects carry the keys GitHub always sends."""
    sb, box = live
    _exercise(sb)
    assert sb.deliverer.flush(10)
    got: dict[tuple[str, str], dict[str, Any]] = {}
    for headers, body in box:
        payload = json.loads(body)
        got.setdefault((headers["X-GitHub-Event"], str(payload.get("action"))), payload)
    problems = {}
    for event, action, member in (
        ("pull_request", "opened", "pull_request"),
        ("check_run", "created", "check_run"),
        ("pull_request_review", "submitted", "review"),
        ("issue_comment", "created", "comment"),
        ("deployment_status", "created", "deployment_status"),
    ):
        examples = json.loads((EXAMPLES / f"{event}.json").read_text())
        # keys every published example of this event/action has
        common = set.intersection(*(set(e[member]) for e in examples if e.get("action") == action))
        missing = common - set(got[(event, action)][member])
        if missing:
            problems[(event, member)] = sorted(missing)
    assert not problems, problems


def test_review_state_is_lower_case_in_webhooks(live: tuple[Sandbox, Received]) -> None:
    sb, box = live
    sc = sb.scenario
    sc.demo()
    number = sc.open_pr("acme/shop", "dev-alice", "feat", {"x.txt": "1"}, title="Feature")
    sc.review("acme/shop", number, "rev-carol", "APPROVE")
    assert sb.deliverer.flush(10)
    states = [
        json.loads(body)["review"]["state"]
        for headers, body in box
        if headers["X-GitHub-Event"] == "pull_request_review"
    ]
    assert states == ["approved"]
    rest = sb.server.call("GET", f"/repos/acme/shop/pulls/{number}/reviews", as_user="rev-carol")
    reviews: Any = rest.body
    assert [r["state"] for r in reviews] == ["APPROVED"]  # REST keeps upper case
