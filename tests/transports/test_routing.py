"""Routing is pure: real payloads from GitHub's published examples in, a Route out."""

from __future__ import annotations

import pytest
from transport_kit import example, examples

from bot.transports.routing import installation_change, route

BOT = "release-train[bot]"


@pytest.mark.parametrize(
    ("event", "action"),
    [
        ("pull_request", "labeled"),
        ("pull_request", "unlabeled"),
        ("pull_request", "synchronize"),
        ("pull_request", "closed"),
        ("pull_request_review", "submitted"),
        ("issue_comment", "created"),
        ("check_run", "completed"),
        ("check_suite", "completed"),
        ("status", None),
        ("push", None),
        ("deployment_status", None),
    ],
)
def test_train_relevant_events_lead_to_their_repository(event: str, action: str | None) -> None:
    payload = example(event, action)
    r = route(event, payload, bot_login=BOT)
    assert r.repo == payload["repository"]["full_name"]
    assert not r.ignored


@pytest.mark.parametrize(
    ("event", "action", "reason"),
    [
        ("issue_comment", "edited", "does not affect"),
        ("issue_comment", "deleted", "does not affect"),
        ("pull_request", "assigned", "does not affect"),
        ("star", None, "does not affect"),
        ("ping", None, "ping"),
        ("installation", "created", "installation"),
    ],
)
def test_irrelevant_events_are_ignored_with_a_reason(
    event: str, action: str | None, reason: str
) -> None:
    r = route(event, example(event, action))
    assert r.ignored and reason in r.reason


def test_the_bots_own_events_are_ignored_but_others_bots_are_not() -> None:
    payload = example("check_run", "completed")
    own = {**payload, "sender": {"login": BOT, "type": "Bot"}}
    ci = {**payload, "sender": {"login": "github-actions[bot]", "type": "Bot"}}
    assert route("check_run", own, bot_login=BOT).reason == "the bot's own event"
    assert route("check_run", ci, bot_login=BOT).repo is not None
    assert route("check_run", own, bot_login=None).repo is not None


def test_installation_id_is_carried() -> None:
    payload = {**example("pull_request", "labeled"), "installation": {"id": 77}}
    assert route("pull_request", payload).installation_id == 77


def test_a_payload_without_repository_is_ignored() -> None:
    assert route("push", {"ref": "refs/heads/main"}).reason == "no repository in payload"
    assert route("push", {"repository": {"full_name": "no-slash"}}).ignored


def test_installation_changes_from_real_examples() -> None:
    for payload in examples("installation"):
        change = installation_change("installation", payload)
        if payload["action"] == "created":
            assert change is not None and change.added and not change.removed
        if payload["action"] == "deleted":
            assert change is not None and change.removed and not change.added
    for payload in examples("installation_repositories"):
        change = installation_change("installation_repositories", payload)
        assert change is not None
        assert len(change.added) == len(payload["repositories_added"])
        assert len(change.removed) == len(payload["repositories_removed"])
    assert installation_change("push", example("push")) is None
