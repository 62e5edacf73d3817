"""The ack path's envelope (msgspec, only the routing fields) routes every published GitHub
webhook example exactly as the full `json.loads` payload does, and refuses what is not a
JSON object."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from transport_kit import WEBHOOKS

from bot.transports import routing
from bot.transports.envelope import PayloadError, envelope

EVENTS = sorted(p.stem for p in WEBHOOKS.glob("*.json") if p.stem != "index")


@pytest.mark.parametrize("event", EVENTS)
def test_envelope_routes_like_the_full_payload(event: str) -> None:
    for payload in json.loads((WEBHOOKS / f"{event}.json").read_text()):
        body = json.dumps(payload).encode()
        small = envelope(body, "application/json")
        for bot in (None, "octocat"):
            assert routing.route(event, small, bot_login=bot) == routing.route(
                event, payload, bot_login=bot
            )
        assert routing.delivery_summary(event, small) == routing.delivery_summary(event, payload)


def test_form_encoded_payload() -> None:
    body = urlencode({"payload": json.dumps({"action": "x", "repository": {"full_name": "o/r"}})})
    assert envelope(body.encode(), "application/x-www-form-urlencoded") == {
        "action": "x",
        "repository": {"full_name": "o/r"},
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "payload is not a JSON object"),
        (b"[1, 2]", "payload is not a JSON object"),
        (b'{"action": "x"', "payload is not a JSON object"),
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "payload is not a JSON object"),
        (b"\xff\xfe", "payload is not a JSON object"),
        (b'{"repository": "o/r"}', "payload not understood"),
        (b'{"installation": [1]}', "payload not understood"),
    ],
)
def test_malformed_bodies_are_refused_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(PayloadError) as caught:
        envelope(body, "application/json")
    assert caught.value.reason == reason


def test_form_without_a_payload_field_is_refused() -> None:
    with pytest.raises(PayloadError):
        envelope(b"other=1", "application/x-www-form-urlencoded")
