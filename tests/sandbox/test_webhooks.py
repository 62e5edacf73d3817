"""Webhook delivery over real HTTP, and payload shapes against GitHub's published examples."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox import webhooks
from bot.sandbox.webhooks import Deliverer

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "webhooks"
SECRET = "It's a Secret to Everybody"


@dataclass
class Receiver:
    url: str
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    answer: int = 202


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            box.received.append((dict(self.headers.items()), body))
            self.send_response(box.answer)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    box.url = f"http://127.0.0.1:{server.server_address[1]}/webhook"
    yield box
    server.shutdown()
    server.server_close()


def example(event: str, action: str | None = None) -> dict[str, Any]:
    """The first published example of this event/action that has an `installation`."""
    examples = json.loads((EXAMPLES / f"{event}.json").read_text())
    matching = [e for e in examples if e.get("action") == action]
    with_installation = [e for e in matching if "installation" in e]
    return (with_installation or matching)[0]


def test_signature_verifies_with_the_secret_and_headers_are_githubs(receiver: Receiver) -> None:
    with Deliverer(receiver.url, SECRET, seed=1, hook_id=7, target_id=42) as deliverer:
        delivery_id = deliverer.send("ping", {"zen": "Keep it logically awesome."})
        assert deliverer.flush(5)
    [(headers, body)] = receiver.received
    expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Hub-Signature-256"] == f"sha256={expected}"
    sha1 = hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()
    assert headers["X-Hub-Signature"] == f"sha1={sha1}"
    assert hmac.new(b"wrong", body, hashlib.sha256).hexdigest() != expected
    assert headers["X-GitHub-Event"] == "ping"
    assert headers["X-GitHub-Delivery"] == delivery_id
    assert headers["X-GitHub-Hook-ID"] == "7"
    assert headers["X-GitHub-Hook-Installation-Target-Type"] == "integration"
    assert headers["X-GitHub-Hook-Installation-Target-ID"] == "42"
    assert headers["User-Agent"].startswith("GitHub-Hookshot/")
    assert json.loads(body) == {"zen": "Keep it logically awesome."}


def test_sign_matches_githubs_documented_test_vector() -> None:
    # docs.github.com "Validating webhook deliveries": secret and payload below.
    signature = webhooks.sign(SECRET, b"Hello, World!")
    assert signature == ("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")


def test_delivery_log_keeps_response_codes_and_failures(receiver: Receiver) -> None:
    receiver.answer = 500
    with Deliverer(receiver.url, SECRET) as deliverer:
        deliverer.send("push", {"ref": "refs/heads/main"})
        deliverer.flush(5)
        receiver.answer = 204
        deliverer.send("pull_request", {"action": "opened"})
        deliverer.flush(5)
        log = deliverer.log
    assert [(d.event, d.action, d.status) for d in log] == [
        ("push", None, 500),
        ("pull_request", "opened", 204),
    ]
    with Deliverer("http://127.0.0.1:9/nothing-listens", SECRET, timeout=2) as dead:
        dead.send("push", {})
        dead.flush(5)
        [failed] = dead.log
    assert failed.status == 0
    assert failed.error


def test_duplicates_reuse_the_delivery_id_and_are_seeded(receiver: Receiver) -> None:
    def run(seed: int) -> list[tuple[str, bool]]:
        with Deliverer(receiver.url, SECRET, seed=seed, duplicate=0.5) as deliverer:
            for n in range(20):
                deliverer.send("issue_comment", {"action": "created", "n": n})
            deliverer.flush(10)
            return [(d.delivery_id, d.duplicate) for d in deliverer.log]

    first, again = run(3), run(3)
    assert first == again
    duplicates = [d for d, dup in first if dup]
    assert 3 <= len(duplicates) <= 17
    ids = [d for d, _ in first]
    assert all(ids.count(d) == 2 for d in duplicates)
    assert len(receiver.received) == 2 * len(first)


def test_reorder_shuffles_within_groups_deterministically(receiver: Receiver) -> None:
    def run(seed: int) -> list[int]:
        receiver.received.clear()
        with Deliverer(receiver.url, SECRET, seed=seed, reorder=5) as deliverer:
            for n in range(12):
                deliverer.send("push", {"n": n})
            assert deliverer.flush(10)
        return [json.loads(body)["n"] for _, body in receiver.received]

    order = run(11)
    assert sorted(order) == list(range(12))
    assert order != list(range(12))
    assert sorted(order[:5]) == [0, 1, 2, 3, 4]
    assert sorted(order[10:]) == [10, 11]
    assert run(11) == order


def test_reorder_holds_a_partial_group_until_flush(receiver: Receiver) -> None:
    with Deliverer(receiver.url, SECRET, reorder=3) as deliverer:
        deliverer.send("push", {"n": 1})
        deliverer.send("push", {"n": 2})
        assert receiver.received == []
        assert deliverer.flush(5)
        assert len(receiver.received) == 2


def _keys(payload: dict[str, Any]) -> set[str]:
    return set(payload) - {"organization", "enterprise"}


def _check_shape(built: dict[str, Any], event: str, action: str | None) -> None:
    """Same top-level keys as one of the published variants (plus the App's installation)."""
    published = [
        e for e in json.loads((EXAMPLES / f"{event}.json").read_text()) if e.get("action") == action
    ]
    variants = [_keys(e) | {"installation"} for e in published]
    assert _keys(built) in variants, (event, action, sorted(_keys(built)), variants)
    assert set(built["installation"]) == {"id", "node_id"}


@pytest.mark.parametrize("action", ["opened", "labeled", "unlabeled", "synchronize", "closed"])
def test_pull_request_payload_shape(action: str) -> None:
    ex = example("pull_request", action)
    built = webhooks.pull_request_payload(
        action,
        ex["pull_request"],
        ex["repository"],
        ex["sender"],
        5,
        label=ex.get("label"),
        before=ex.get("before"),
        after=ex.get("after"),
    )
    _check_shape(built, "pull_request", action)
    assert built["number"] == ex["pull_request"]["number"]


@pytest.mark.parametrize("action", ["submitted", "dismissed"])
def test_pull_request_review_payload_shape(action: str) -> None:
    ex = example("pull_request_review", action)
    args = (ex["review"], ex["pull_request"], ex["repository"], ex["sender"], 5)
    _check_shape(webhooks.pull_request_review_payload(action, *args), "pull_request_review", action)


@pytest.mark.parametrize("action", ["created", "edited"])
def test_issue_comment_payload_shape(action: str) -> None:
    ex = example("issue_comment", action)
    built = webhooks.issue_comment_payload(
        action,
        ex["comment"],
        ex["issue"],
        ex["repository"],
        ex["sender"],
        5,
        changes=ex.get("changes"),
    )
    _check_shape(built, "issue_comment", action)


@pytest.mark.parametrize("action", ["created", "completed", "rerequested", "requested_action"])
def test_check_run_payload_shape(action: str) -> None:
    ex = example("check_run", action)
    built = webhooks.check_run_payload(
        action,
        ex["check_run"],
        ex["repository"],
        ex["sender"],
        5,
        requested_action=ex.get("requested_action"),
    )
    _check_shape(built, "check_run", action)


@pytest.mark.parametrize("action", ["requested", "rerequested", "completed"])
def test_check_suite_payload_shape(action: str) -> None:
    ex = example("check_suite", action)
    built = webhooks.check_suite_payload(
        action, ex["check_suite"], ex["repository"], ex["sender"], 5
    )
    _check_shape(built, "check_suite", action)


def test_push_payload_shape_and_flags() -> None:
    pushes = json.loads((EXAMPLES / "push.json").read_text())
    ex = next(e for e in pushes if e["head_commit"] is not None)
    commit = webhooks.push_commit(
        "b" * 40,
        "c" * 40,
        "msg",
        "2024-01-01T00:00:00Z",
        {"name": "a", "email": "a@example.com", "username": "a"},
        {"name": "a", "email": "a@example.com", "username": "a"},
        "https://github.com/o/r",
        modified=["README.md"],
    )
    assert set(commit) == set(ex["head_commit"])
    built = webhooks.push_payload(
        ref="refs/heads/main",
        before="0" * 40,
        after="b" * 40,
        commits=[commit],
        repository=ex["repository"],
        pusher=ex["pusher"],
        sender=ex["sender"],
        installation_id=5,
    )
    _check_shape(built, "push", None)
    assert built["created"] is True and built["deleted"] is False
    assert built["head_commit"] == commit


def test_deployment_payloads_shape() -> None:
    ex = example("deployment_status", "created")
    built = webhooks.deployment_status_payload(
        ex["deployment_status"], ex["deployment"], ex["repository"], ex["sender"], 5
    )
    _check_shape(built, "deployment_status", "created")
    deployments = json.loads((EXAMPLES / "deployment.json").read_text())
    dep = next(e for e in deployments if "workflow" in e)
    built = webhooks.deployment_payload(dep["deployment"], dep["repository"], dep["sender"], 5)
    assert _keys(built) == _keys(dep) | {"installation"}


def test_status_payload_shape() -> None:
    ex = example("status")
    status = {
        k: ex[k]
        for k in (
            "id",
            "context",
            "description",
            "state",
            "target_url",
            "avatar_url",
            "created_at",
            "updated_at",
        )
    }
    built = webhooks.status_payload(
        status,
        ex["commit"],
        ex["repository"],
        ex["sender"],
        5,
        branches=ex["branches"],
        name=ex["name"],
    )
    _check_shape(built, "status", None)


@pytest.mark.parametrize("action", ["created", "deleted", "suspend"])
def test_installation_payload_shape(action: str) -> None:
    ex = example("installation", action)
    built = webhooks.installation_payload(
        action, ex["installation"], ex.get("repositories", []), ex["sender"]
    )
    assert _keys(built) == _keys(ex) - {"requester"}


def test_a_missing_sender_is_left_for_the_request_to_fill() -> None:
    ex = example("pull_request", "opened")
    built = webhooks.pull_request_payload(
        "opened", ex["pull_request"], ex["repository"], None, None
    )
    assert "sender" not in built and "installation" not in built


def test_the_webhook_servers_verifier_accepts_our_signature(receiver: Receiver) -> None:
    from bot.transports.signature import verify

    with Deliverer(receiver.url, SECRET) as deliverer:
        deliverer.send("check_run", {"action": "rerequested", "check_run": {"id": 1}})
        deliverer.flush(5)
    [(headers, body)] = receiver.received
    assert verify(SECRET, body, headers["X-Hub-Signature-256"])
    assert not verify("another secret", body, headers["X-Hub-Signature-256"])
