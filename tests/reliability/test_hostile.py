"""Hostile input: webhook bodies and headers against the real Flask app (never a 5xx,
never a traceback), ChatOps comments (the parser never raises), a YAML alias bomb and a
25 MB delivery (refused). Config text and manifests are fuzzed where they live:
tests/config/test_fuzz.py and tests/manifests/test_fuzz.py."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenarios import offline_settings

from bot.core.chatops import parse_commands
from bot.errors import ConfigError
from bot.transports.app import create_app, runtime
from bot.transports.signature import sign
from bot.transports.webhook import MAX_BODY

pytestmark = pytest.mark.reliability

SECRET = "hostile-secret"
EVENTS = [
    "issue_comment",
    "pull_request",
    "pull_request_review",
    "check_run",
    "push",
    "installation",
    "ping",
    "status",
    "deployment_status",
    "",
    "../../etc",
    "x" * 300,
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)
SHAPED = st.fixed_dictionaries(
    {},
    optional={
        "action": st.sampled_from(["created", "labeled", "closed", "submitted", "edited", ""])
        | JSON,
        "repository": st.fixed_dictionaries({"full_name": st.text(max_size=30) | JSON}) | JSON,
        "installation": st.fixed_dictionaries({"id": st.integers() | JSON}) | JSON,
        "sender": st.fixed_dictionaries({"login": st.text(max_size=30) | JSON}) | JSON,
        "comment": JSON,
        "pull_request": JSON,
        "issue": JSON,
    },
)


class Calls:
    """A reconciler that only counts (the webhook side is under test, not reconcile)."""

    def __init__(self) -> None:
        self.repos: list[str] = []

    def __call__(self, req: Any) -> None:
        self.repos.append(req.repo)


@pytest.fixture(scope="module")
def app() -> Iterator[Any]:
    flask_app = create_app(offline_settings(SECRET), reconciler=Calls(), start=False)
    yield flask_app
    runtime(flask_app).close()


def _header(text: str) -> str:
    """What an HTTP header can carry (the test client refuses control characters)."""
    return "".join(c for c in text.encode("ascii", "replace").decode() if c.isprintable())


def _post(app: Any, body: bytes, headers: dict[str, str]) -> Any:
    return app.test_client().post("/webhook", data=body, headers=headers)


def _no_traceback(response: Any, caplog: pytest.LogCaptureFixture) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert "Traceback" not in response.get_data(as_text=True)
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    event=st.sampled_from(EVENTS) | st.text(max_size=20),
    payload=SHAPED | JSON,
    delivery=st.text(max_size=40),
    content_type=st.sampled_from(
        ["application/json", "application/x-www-form-urlencoded", "text/plain", ""]
    ),
)
def test_signed_deliveries_of_any_shape_never_answer_5xx(
    app: Any,
    caplog: pytest.LogCaptureFixture,
    event: str,
    payload: Any,
    delivery: str,
    content_type: str,
) -> None:
    caplog.clear()
    body = json.dumps(payload).encode()
    if content_type == "application/x-www-form-urlencoded":
        from urllib.parse import urlencode

        body = urlencode({"payload": body.decode()}).encode()
    headers = {
        "X-GitHub-Event": _header(event),
        "X-GitHub-Delivery": _header(delivery),
        "X-Hub-Signature-256": sign(SECRET, body),
        "Content-Type": content_type,
    }
    with caplog.at_level(logging.DEBUG):
        _no_traceback(_post(app, body, headers), caplog)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=2000), signature=st.text(max_size=80) | st.none())
def test_unsigned_or_badly_signed_bytes_are_refused(
    app: Any, caplog: pytest.LogCaptureFixture, body: bytes, signature: str | None
) -> None:
    caplog.clear()
    headers = {"X-GitHub-Event": "issue_comment", "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = _header(signature)
    response = _post(app, body, headers)
    if signature is None or _header(signature) != sign(SECRET, body):
        assert response.status_code == 401
    _no_traceback(response, caplog)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=400) | st.from_regex(r"(?s)(> )?(```\n)?/train [a-z#0-9 ]{0,30}\n?.*"))
def test_the_chatops_parser_never_raises(text: str) -> None:
    commands = parse_commands(text)
    assert all(c.name for c in commands)


def test_a_25_mb_delivery_is_refused_with_413(app: Any) -> None:
    body = b"{" + b" " * MAX_BODY + b"}"
    headers = {
        "X-GitHub-Event": "issue_comment",
        "Content-Type": "application/json",
        "X-Hub-Signature-256": sign(SECRET, body),
    }
    response = _post(app, body, headers)
    assert response.status_code == 413
    assert response.get_json()["status"] == "refused"


ALIAS_BOMB = (
    "version: 1\n"
    + "\n".join(
        [f"a0: &a0 [{', '.join(['x'] * 10)}]"]
        + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 10)]
        + ["trains: *a9"]
    )
    + "\n"
)


@pytest.mark.timeout(60)
def test_a_yaml_alias_bomb_is_refused_not_expanded() -> None:
    """10^10 nodes if expanded; the loader must refuse it with a ConfigError."""
    from bot.config.load import load_config_text

    with pytest.raises(ConfigError) as caught:
        load_config_text(ALIAS_BOMB, ".github/release-train.yml")
    assert caught.value.problems
