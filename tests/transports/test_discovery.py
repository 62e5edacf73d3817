"""At start the server finds, through the App endpoints of the sandbox, the repositories
that have a config file, and the scheduler ticks them."""

from __future__ import annotations

import json
import time
from typing import Any

from transport_kit import Recorder, example, signed_headers

from bot.sandbox import appauth
from bot.sandbox.runner import Sandbox
from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings


def _settings(sandbox: Sandbox, config_path: str = ".github/release-train.yml") -> Settings:
    return Settings(
        app_id=str(appauth.app_id(sandbox.store)),
        private_key=appauth.private_key_pem(sandbox.store),
        webhook_secret="s",
        api_url=sandbox.base_url,
        schedule_interval=3600,
        config_path=config_path,
    )


def _first_tick(rt: Any, recorder: Recorder) -> None:
    deadline = time.monotonic() + 20
    while not recorder.calls and time.monotonic() < deadline:
        time.sleep(0.02)
    assert rt.worker.wait_idle(5)


def test_discovery_and_scheduler_ticks(sandbox: Sandbox, recorder: Recorder) -> None:
    kit = sandbox.scenario
    kit.create_repo("acme/with-config", {".github/release-train.yml": "version: 1\n"})
    kit.create_repo("acme/without", {"README.md": "# no trains here\n"})
    for repo in ("acme/with-config", "acme/without"):
        kit.install_bot(repo)
    settings = _settings(sandbox)
    app = create_app(settings, reconciler=recorder, debounce=0.0)
    rt = runtime(app)
    try:
        _first_tick(rt, recorder)
        assert recorder.repos() == ["acme/with-config"]
        [call] = recorder.calls
        assert call.events == ("schedule",) and call.delivery is None
        assert call.installation_id is not None
        assert rt.bot_login == "release-train[bot]"  # from GET /app
        assert [w.repo for w in rt.scheduler.watched()] == ["acme/with-config"]

        # an installation event adds a repository to the schedule
        payload = example("installation_repositories", "added")
        payload = {
            **payload,
            "installation": {"id": call.installation_id},
            "repositories_added": [{"full_name": "acme/new-one", "id": 1}],
        }
        body = json.dumps(payload).encode()
        response = app.test_client().post(
            "/webhook",
            data=body,
            headers=signed_headers("installation_repositories", body, secret="s"),
        )
        assert response.status_code == 202
        assert "acme/new-one" in [w.repo for w in rt.scheduler.watched()]
    finally:
        rt.close()


def test_discovery_follows_the_configured_path(sandbox: Sandbox, recorder: Recorder) -> None:
    """With RELEASE_TRAIN_CONFIG set, a repository is watched for that file, not the
    default one."""
    kit = sandbox.scenario
    kit.create_repo("acme/custom", {"ops/trains.yml": "version: 1\n"})
    kit.create_repo("acme/default-only", {".github/release-train.yml": "version: 1\n"})
    for repo in ("acme/custom", "acme/default-only"):
        kit.install_bot(repo)
    settings = _settings(sandbox, config_path="ops/trains.yml")
    app = create_app(settings, reconciler=recorder, debounce=0.0)
    rt = runtime(app)
    try:
        _first_tick(rt, recorder)
        assert recorder.repos() == ["acme/custom"]
        assert [w.repo for w in rt.scheduler.watched()] == ["acme/custom"]
    finally:
        rt.close()
