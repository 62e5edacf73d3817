"""The webhook app also serves the read-only dashboard at `/` and the release metrics as
gauges on `/metrics`, read from a real git clone holding a ledger."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from insights.ledger_repo import merged_train, story

from bot.insights.dashboard import clone_source
from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings


@pytest.fixture
def app_with_dashboard(settings: Settings, tmp_path: Path) -> Iterator[Flask]:
    built, _ = story(tmp_path / "repo")
    merged_train(built, "web-2026-03-03")
    flask_app = create_app(
        settings, reconciler=lambda *a, **k: None, start=False, dashboard=clone_source(built.path)
    )
    yield flask_app
    runtime(flask_app).close()


def test_dashboard_page_is_served(app_with_dashboard: Flask) -> None:
    response = app_with_dashboard.test_client().get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "web-2026-03-03" in html and "<svg" in html


def test_release_metrics_on_metrics_endpoint(app_with_dashboard: Flask) -> None:
    text = app_with_dashboard.test_client().get("/metrics").get_data(as_text=True)
    assert "release_train_release_success_rate 0.5" in text
    assert "release_train_webhook_deliveries" in text or "release_train_deliveries" in text


def test_without_a_source_the_page_says_how_to_configure(settings: Settings) -> None:
    flask_app = create_app(settings, reconciler=lambda *a, **k: None, start=False)
    try:
        html = flask_app.test_client().get("/").get_data(as_text=True)
        assert "RELEASE_TRAIN_DASHBOARD_REPO" in html
    finally:
        runtime(flask_app).close()
