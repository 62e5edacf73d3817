"""The read-only dashboard: a Flask Blueprint serving ``/`` from a history source.

Mount it in the webhook app with ``app.register_blueprint(dashboard_blueprint(source))``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.insights.gitlog import DEFAULT_LEDGER, read_history
from bot.insights.metrics import Metrics, compute
from bot.insights.model import History
from bot.insights.page import DashboardInput, render_page
from bot.insights.timeline import build_timelines

Source = Callable[[], DashboardInput]


def cached_source(
    read: Callable[[], History],
    *,
    config: Any = None,
    clock: Callable[[], datetime] | None = None,
    ttl: float = 15.0,
) -> Source:
    """A source calling `read` at most every `ttl` seconds (and once at a time)."""
    lock = threading.Lock()
    cached: list[tuple[float, History]] = []
    now = clock or (lambda: datetime.now(UTC))

    def load() -> DashboardInput:
        with lock:
            if not cached or time.monotonic() - cached[0][0] > ttl:
                cached[:] = [(time.monotonic(), read())]
            history = cached[0][1]
        return DashboardInput(history, now(), config)

    return load


def clone_source(
    repo: Path,
    *,
    ledger_branch: str = DEFAULT_LEDGER,
    base: str | None = None,
    config: Any = None,
    repo_url: str = "",
    clock: Callable[[], datetime] | None = None,
    ttl: float = 15.0,
) -> Source:
    """A source reading a local clone (fetch it yourself to see new trains)."""

    def read() -> History:
        return read_history(repo, ledger_branch=ledger_branch, base=base, repo_url=repo_url)

    return cached_source(read, config=config, clock=clock, ttl=ttl)


def api_source(
    repo: str,
    token: Callable[[], str],
    *,
    api_url: str = "https://api.github.com",
    ledger_branch: str = DEFAULT_LEDGER,
    config: Any = None,
    clock: Callable[[], datetime] | None = None,
    ttl: float = 60.0,
) -> Source:
    """A source reading ``OWNER/NAME`` over the REST API; `token` is asked at each read (an
    installation token expires)."""
    from bot.insights.github import read_history_api

    def read() -> History:
        return read_history_api(repo, token(), api_url=api_url, ledger_branch=ledger_branch)

    return cached_source(read, config=config, clock=clock, ttl=ttl)


def metrics_of(source: Source) -> Callable[[], Metrics]:
    """For `export_gauges`: the release metrics recomputed from `source` at each scrape."""
    return lambda: compute(build_timelines(source().history))


def dashboard_blueprint(source: Source) -> Any:
    """``GET /`` renders the dashboard (HTML, no JavaScript); read-only."""
    from flask import Blueprint, Response

    blueprint = Blueprint("dashboard", __name__)

    @blueprint.get("/")
    def index() -> Response:
        html = render_page(source())
        response = Response(html, status=200, mimetype="text/html")
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"
        )
        return response

    return blueprint
