"""The dashboard behind GitHub sign-in: `create_app` with sign-in settings, driven with
Flask's test client, signing in against the sandbox's OAuth endpoints over HTTP. The
dashboard reads a real ledger clone; the sandbox says who may read ``acme/secret``."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from insights.ledger_repo import merged_train, story

from bot.errors import ConfigError
from bot.insights.dashboard import clone_source
from bot.sandbox import appauth
from bot.sandbox.api.oauth import client_secret
from bot.sandbox.runner import Sandbox
from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings, settings_from_env
from bot.transports.signin import SESSION_COOKIE, SigninSettings, safe_next

TRAIN = "web-2026-03-03"
KEY = "k" * 40
BASE = "https://dash.example.test"  # the test client's URL: nothing is sent there


@dataclass
class Clock:
    now: datetime = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    app: Flask
    client: FlaskClient
    sandbox: Sandbox
    clock: Clock


@pytest.fixture
def rig(sandbox: Sandbox, settings: Settings, tmp_path: Path) -> Iterator[Rig]:
    sandbox.scenario.create_repo("acme/secret", {"README.md": "hush\n"}, private=True)
    sandbox.store.add_user("mallory")
    built, _ = story(tmp_path / "ledger")
    merged_train(built, TRAIN)
    signin = SigninSettings(
        client_id=appauth.ensure_app(sandbox.store)["client_id"],
        client_secret=client_secret(sandbox.store),
        session_key=KEY,
        web_url=sandbox.base_url,
        api_url=sandbox.base_url,
        repo="acme/secret",
    )
    clock = Clock()
    flask_app = create_app(
        replace(settings, signin=signin),
        reconciler=lambda *a, **k: None,
        start=False,
        clock=clock,
        dashboard=clone_source(built.path),
    )
    yield Rig(flask_app, flask_app.test_client(), sandbox, clock)
    runtime(flask_app).close()


def _start(rig: Rig, next_path: str = "/") -> tuple[str, str]:
    """GET /login: the authorize URL's (state, redirect_uri)."""
    answer = rig.client.get("/login", query_string={"next": next_path}, base_url=BASE)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert location.path == "/login/oauth/authorize"
    query = parse_qs(location.query)
    return query["state"][0], query["redirect_uri"][0]


def _authorize(rig: Rig, login: str, state: str, redirect_uri: str) -> str:
    """The person approves on (sandbox) GitHub: the code it sends back."""
    params = {
        "client_id": appauth.ensure_app(rig.sandbox.store)["client_id"],
        "redirect_uri": redirect_uri,
        "state": state,
        "login": login,
    }
    answer = httpx.get(f"{rig.sandbox.base_url}/login/oauth/authorize", params=params)
    back = parse_qs(urlsplit(answer.headers["location"]).query)
    assert back["state"] == [state]
    return back["code"][0]


def _sign_in(rig: Rig, login: str, next_path: str = "/") -> str:
    state, redirect_uri = _start(rig, next_path)
    code = _authorize(rig, login, state, redirect_uri)
    answer = rig.client.get(
        "/login/callback", query_string={"code": code, "state": state}, base_url=BASE
    )
    assert answer.status_code == 302, answer.get_data(as_text=True)
    return answer.headers["Location"]


def _page(rig: Rig) -> tuple[int, str]:
    answer = rig.client.get("/", base_url=BASE)
    return answer.status_code, answer.get_data(as_text=True)


def test_not_signed_in_is_sent_to_sign_in_and_sees_no_data(rig: Rig) -> None:
    answer = rig.client.get("/", base_url=BASE)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login?next=")
    assert TRAIN not in answer.get_data(as_text=True)


def test_a_reader_sees_the_trains(rig: Rig) -> None:
    assert _sign_in(rig, "reader-erin") == "/"
    cookie = rig.client.get_cookie(SESSION_COOKIE, domain="dash.example.test")
    assert cookie is not None and cookie.secure and cookie.http_only
    assert cookie.same_site == "Lax" and "ghu_" not in cookie.value  # sealed, not readable
    status, html = _page(rig)
    assert status == 200 and TRAIN in html and "reader-erin" in html


def test_a_user_without_access_sees_none_of_it(rig: Rig) -> None:
    _sign_in(rig, "mallory")
    status, html = _page(rig)
    assert status == 403 and TRAIN not in html and "acme/secret" not in html
    assert "cannot read" in html


def test_a_forged_cookie_signs_out(rig: Rig) -> None:
    _sign_in(rig, "reader-erin")
    cookie = rig.client.get_cookie(SESSION_COOKIE, domain="dash.example.test")
    assert cookie is not None
    forged = cookie.value[:-4] + ("AAAA" if not cookie.value.endswith("AAAA") else "BBBB")
    rig.client.set_cookie(SESSION_COOKIE, forged, domain="dash.example.test", secure=True)
    answer = rig.client.get("/", base_url=BASE)
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/login")
    assert TRAIN not in answer.get_data(as_text=True)
    assert rig.client.get_cookie(SESSION_COOKIE, domain="dash.example.test") is None


def test_an_expired_cookie_signs_out(rig: Rig) -> None:
    _sign_in(rig, "reader-erin")
    rig.clock.now += timedelta(hours=1, seconds=1)
    status, html = _page(rig)
    assert status == 302 and TRAIN not in html


def test_a_state_mismatch_is_refused(rig: Rig) -> None:
    state, redirect_uri = _start(rig)
    code = _authorize(rig, "reader-erin", "attacker-state", redirect_uri)
    answer = rig.client.get(
        "/login/callback", query_string={"code": code, "state": "attacker-state"}, base_url=BASE
    )
    assert answer.status_code == 400 and "state mismatch" in answer.get_data(as_text=True)
    assert rig.client.get_cookie(SESSION_COOKIE, domain="dash.example.test") is None
    assert state != "attacker-state"


def test_a_replayed_code_is_refused(rig: Rig) -> None:
    state, redirect_uri = _start(rig)
    code = _authorize(rig, "reader-erin", state, redirect_uri)
    first = rig.client.get(
        "/login/callback", query_string={"code": code, "state": state}, base_url=BASE
    )
    assert first.status_code == 302
    rig.client.get("/logout", base_url=BASE)
    state2, _ = _start(rig)
    again = rig.client.get(
        "/login/callback", query_string={"code": code, "state": state2}, base_url=BASE
    )
    assert again.status_code == 400 and "bad_verification_code" in again.get_data(as_text=True)
    assert rig.client.get_cookie(SESSION_COOKIE, domain="dash.example.test") is None


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
def test_next_never_leaves_the_site(rig: Rig, target: str) -> None:
    assert _sign_in(rig, "reader-erin", target) == "/"


def test_next_keeps_a_local_path(rig: Rig) -> None:
    assert _sign_in(rig, "reader-erin", "/?tab=history") == "/?tab=history"


def test_a_revoked_token_signs_out_once_the_cache_lapses(rig: Rig) -> None:
    _sign_in(rig, "reader-erin")
    assert _page(rig)[0] == 200
    with rig.sandbox.store.transaction() as data:
        for token in [t for t, r in data["tokens"].items() if r.get("user_to_server")]:
            del data["tokens"][token]
    rig.clock.now += timedelta(seconds=61)
    status, html = _page(rig)
    assert status == 401 and TRAIN not in html
    assert rig.client.get_cookie(SESSION_COOKIE, domain="dash.example.test") is None


def test_logout_forgets_the_session(rig: Rig) -> None:
    _sign_in(rig, "reader-erin")
    assert rig.client.post("/logout", base_url=BASE).status_code == 200
    assert _page(rig)[0] == 302


def test_pages_carry_strict_headers(rig: Rig) -> None:
    _sign_in(rig, "reader-erin")
    answer = rig.client.get("/", base_url=BASE)
    csp = answer.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp and "script-src" not in csp
    assert "frame-ancestors 'none'" in csp
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    html = answer.get_data(as_text=True)
    assert "<script" not in html and " style=" not in html
    # every inline stylesheet is allowed by its hash, so the browser applies it
    for css in re.findall(r"<style>(.*?)</style>", html, re.S):
        digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in csp


def test_without_signin_the_public_listener_is_told_how(settings: Settings) -> None:
    flask_app = create_app(settings, reconciler=lambda *a, **k: None, start=False)
    try:
        client = flask_app.test_client()
        remote = client.get("/", environ_base={"REMOTE_ADDR": "203.0.113.9"})
        assert remote.status_code == 403
        text = remote.get_data(as_text=True)
        assert "GITHUB_CLIENT_SECRET" in text and "SESSION_KEY" in text
        assert client.get("/").status_code == 200  # loopback: the operator's own look
    finally:
        runtime(flask_app).close()


def _env(private_key_pem: str, **extra: str) -> dict[str, str]:
    return {"APP_ID": "1", "PRIVATE_KEY": private_key_pem, "WEBHOOK_SECRET": "w", **extra}


def test_signin_settings_from_env(private_key_pem: str) -> None:
    env = _env(
        private_key_pem,
        GITHUB_CLIENT_ID="Iv1.abc",
        GITHUB_CLIENT_SECRET="shh",
        SESSION_KEY=KEY,
        RELEASE_TRAIN_DASHBOARD_REPO="acme/shop",
        GITHUB_API_URL="https://ghe.example/api/v3",
    )
    signin = settings_from_env(env).signin
    assert signin is not None and signin.repo == "acme/shop"
    assert signin.web_url == "https://ghe.example"
    assert {"shh", KEY} <= set(settings_from_env(env).secrets())
    assert settings_from_env(_env(private_key_pem)).signin is None


def test_half_a_signin_setup_names_what_is_missing(private_key_pem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings_from_env(_env(private_key_pem, GITHUB_CLIENT_SECRET="shh", SESSION_KEY="short"))
    text = str(raised.value)
    assert "GITHUB_CLIENT_ID" in text and "SESSION_KEY" in text


@pytest.mark.parametrize(
    ("given", "safe"),
    [
        ("/", "/"),
        ("/?a=1", "/?a=1"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("evil", "/"),
        ("/\x00x", "/"),
    ],
)
def test_safe_next(given: str | None, safe: str) -> None:
    assert safe_next(given) == safe


def test_no_token_reaches_the_log(rig: Rig, capfd: pytest.CaptureFixture[str]) -> None:
    _sign_in(rig, "reader-erin")
    assert _page(rig)[0] == 200
    with rig.sandbox.store.transaction() as data:
        tokens = [t for t, r in data["tokens"].items() if r.get("user_to_server")]
        for token in tokens:
            del data["tokens"][token]
    rig.clock.now += timedelta(seconds=61)
    assert _page(rig)[0] == 401
    logged = "".join(capfd.readouterr())
    assert "signed in" in logged and tokens
    assert not any(t in logged for t in tokens) and client_secret(rig.sandbox.store) not in logged
