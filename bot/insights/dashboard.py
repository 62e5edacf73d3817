"""The read-only dashboard: a Flask Blueprint serving ``/`` from a history source.

Mount it in the webhook app with ``app.register_blueprint(dashboard_blueprint(source))``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.config.repo import CONFIG_PATH
from bot.core.identity import BotIdentity
from bot.errors import ReleaseTrainError
from bot.insights.gitlog import DEFAULT_LEDGER, read_file_at, read_history
from bot.insights.metrics import Metrics, compute
from bot.insights.model import History
from bot.insights.page import PAGE_HEADERS, DashboardInput, render_page
from bot.insights.timeline import build_timelines

Source = Callable[[], DashboardInput]


Read = Callable[[], tuple[History, Any, str]]  # history, config (or None), note


def _config(text: str | None) -> tuple[Any, str]:
    """The config from its text, or None and why not (the calendar needs it)."""
    if text is None:
        return None, f"no {CONFIG_PATH} on the base branch: calendar unavailable"
    from bot.config.load import load_config_text
    from bot.errors import ConfigError

    try:
        return load_config_text(text, CONFIG_PATH), ""
    except ConfigError as exc:
        return None, f"{CONFIG_PATH} is invalid ({exc.problems[0].render()}): calendar unavailable"


def cached_source(
    read: Read, *, clock: Callable[[], datetime] | None = None, ttl: float = 15.0
) -> Source:
    """A source calling `read` at most every `ttl` seconds (and once at a time); a failed
    read shows the last good data (or none) with the error as the page's note."""
    lock = threading.Lock()
    cached: list[tuple[float, History, Any, str]] = []
    now = clock or (lambda: datetime.now(UTC))

    def load() -> DashboardInput:
        with lock:
            if not cached or time.monotonic() - cached[0][0] > ttl:
                try:
                    cached[:] = [(time.monotonic(), *read())]
                except ReleaseTrainError as exc:
                    history, config = (cached[0][1], cached[0][2]) if cached else (History(), None)
                    cached[:] = [(time.monotonic(), history, config, str(exc))]
            _, history, config, note = cached[0]
        return DashboardInput(history, now(), config, note)

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
    bot: BotIdentity | None = None,
) -> Source:
    """A source reading a local clone (fetch it yourself to see new trains); the config is
    read from the base branch unless given."""

    def read() -> tuple[History, Any, str]:
        history = read_history(
            repo, ledger_branch=ledger_branch, base=base, repo_url=repo_url, bot=bot
        )
        if config is not None:
            return history, config, ""
        return history, *_config(read_file_at(repo, history.base_ref, CONFIG_PATH))

    return cached_source(read, clock=clock, ttl=ttl)


def api_source(
    repo: str,
    token: Callable[[], str],
    *,
    api_url: str = "https://api.github.com",
    ledger_branch: str = DEFAULT_LEDGER,
    config: Any = None,
    clock: Callable[[], datetime] | None = None,
    ttl: float = 60.0,
    bot: BotIdentity | None = None,
) -> Source:
    """A source reading ``OWNER/NAME`` over the REST API; `token` is asked at each read (an
    installation token expires)."""
    from bot.insights.github import read_file_api, read_history_api

    def read() -> tuple[History, Any, str]:
        key = token()
        history = read_history_api(repo, key, api_url=api_url, ledger_branch=ledger_branch, bot=bot)
        if config is not None:
            return history, config, ""
        text = read_file_api(repo, key, CONFIG_PATH, history.base_ref, api_url=api_url)
        return history, *_config(text)

    return cached_source(read, clock=clock, ttl=ttl)


def empty_source(note: str, clock: Callable[[], datetime] | None = None) -> Source:
    now = clock or (lambda: datetime.now(UTC))
    return lambda: DashboardInput(History(), now(), None, note)


ENV_REPO = "RELEASE_TRAIN_DASHBOARD_REPO"


def source_from_env(env: Mapping[str, str]) -> Source:
    """The dashboard's source from the environment: ``RELEASE_TRAIN_DASHBOARD_REPO`` is a
    local clone's path or ``OWNER/NAME`` (then ``RELEASE_TRAIN_DASHBOARD_TOKEN`` and
    ``GITHUB_API_URL``); ``RELEASE_TRAIN_LEDGER_BRANCH`` overrides the ledger branch. Only
    the bot's own commits count: ``RELEASE_TRAIN_BOT_LOGIN``, else ``<APP_SLUG>[bot]``.
    Links go to the repository's web address on the GitHub the source reads: over the API
    its ``html_url``; for a clone, see `_clone_url`."""
    where = env.get(ENV_REPO, "").strip()
    slug = env.get("APP_SLUG", "").strip()
    login = env.get("RELEASE_TRAIN_BOT_LOGIN", "").strip() or (f"{slug}[bot]" if slug else "")
    bot = BotIdentity(login) if login else BotIdentity()
    ledger = env.get("RELEASE_TRAIN_LEDGER_BRANCH", "").strip() or DEFAULT_LEDGER
    if not where:
        return empty_source(f"No repository configured: set {ENV_REPO} to a clone or OWNER/NAME.")
    if where.count("/") == 1 and not where.startswith(("/", ".", "~")) and not Path(where).exists():
        api_url = env.get("GITHUB_API_URL", "").strip() or "https://api.github.com"
        token = env.get("RELEASE_TRAIN_DASHBOARD_TOKEN", "")
        return api_source(where, lambda: token, api_url=api_url, ledger_branch=ledger, bot=bot)
    return clone_source(Path(where), ledger_branch=ledger, bot=bot, repo_url=_clone_url(env))


def _clone_url(env: Mapping[str, str]) -> str:
    """A clone's web address: ``RELEASE_TRAIN_DASHBOARD_NAME`` (``OWNER/NAME``) on
    ``GITHUB_SERVER_URL``, else on the web host of ``GITHUB_API_URL`` (api.github.com ->
    github.com, ``HOST/api/v3`` -> ``HOST``); empty (no links) without a name."""
    name = env.get("RELEASE_TRAIN_DASHBOARD_NAME", "").strip()
    api = env.get("GITHUB_API_URL", "").strip().rstrip("/") or "https://api.github.com"
    web = "https://github.com" if api == "https://api.github.com" else api.removesuffix("/api/v3")
    server = env.get("GITHUB_SERVER_URL", "").strip().rstrip("/") or web
    return f"{server}/{name}" if name.count("/") == 1 else ""


def metrics_of(source: Source) -> Callable[[], Metrics]:
    """For `export_gauges`: the release metrics recomputed from `source` at each scrape."""
    return lambda: compute(build_timelines(source().history))


def page_response(html: str, status: int = 200) -> Any:
    """An HTML answer with the dashboard's headers (strict CSP, no framing, no referrer)."""
    from flask import Response

    response = Response(html, status=status, mimetype="text/html")
    response.headers.update(PAGE_HEADERS)
    return response


def dashboard_blueprint(source: Source) -> Any:
    """``GET /`` renders the dashboard (HTML, no JavaScript), open to whoever reaches it:
    for loopback listeners such as `demo --keep` (``serve`` mounts `bot.transports.signin_web`)."""
    from flask import Blueprint, Response

    blueprint = Blueprint("dashboard", __name__)

    @blueprint.get("/")
    def index() -> Response:
        return page_response(render_page(source()))

    return blueprint
