"""Headless Chromium against `create_app` served on 127.0.0.1 and the sandbox's OAuth
endpoints: one visit to ``/`` walks sign-in -> GitHub (sandbox) -> callback -> dashboard.
The sandbox signs in whoever ``extra["oauth_login"]`` names (GitHub would ask the person)."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from insights.ledger_repo import merged_train, story
from werkzeug.serving import make_server

from bot.insights.dashboard import clone_source
from bot.sandbox import appauth
from bot.sandbox.api.oauth import client_secret
from bot.sandbox.runner import Sandbox
from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings
from bot.transports.signin import SigninSettings

TRAIN = "web-2026-03-03"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    return found


def _dump(url: str, home: Path) -> subprocess.CompletedProcess[str]:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-dev-shm-usage",
        f"--user-data-dir={home / 'profile'}",
    ]
    return subprocess.run(
        [_chromium(), *flags, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin"},
    )


@pytest.fixture
def served(sandbox: Sandbox, settings: Settings, tmp_path: Path) -> Iterator[tuple[str, Sandbox]]:
    sandbox.scenario.create_repo("acme/secret", {"README.md": "hush\n"}, private=True)
    sandbox.store.add_user("mallory")
    built, _ = story(tmp_path / "ledger")
    merged_train(built, TRAIN)
    signin = SigninSettings(
        client_id=appauth.ensure_app(sandbox.store)["client_id"],
        client_secret=client_secret(sandbox.store),
        session_key="s" * 40,
        web_url=sandbox.base_url,
        api_url=sandbox.base_url,
        repo="acme/secret",
    )
    flask_app = create_app(
        replace(settings, signin=signin),
        reconciler=lambda *a, **k: None,
        start=False,
        dashboard=clone_source(built.path),
    )
    server = make_server("127.0.0.1", 0, flask_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/", sandbox
    server.shutdown()
    thread.join()
    runtime(flask_app).close()


@pytest.mark.parametrize(("login", "sees"), [("reader-erin", True), ("mallory", False)])
def test_sign_in_in_a_real_browser(
    served: tuple[str, Sandbox], tmp_path: Path, login: str, sees: bool
) -> None:
    url, sandbox = served
    with sandbox.store.transaction() as data:
        data["extra"]["oauth_login"] = login
    dom = _dump(url, tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert f"Signed in as <strong>{login}</strong>" in dom.stdout  # the whole round trip
    assert (TRAIN in dom.stdout) is sees
    authorized = [p for m, p, s, _ in sandbox.server.request_log if p == "/login/oauth/authorize"]
    assert authorized, "the browser never went to (sandbox) GitHub"
