"""Builders shared by the suites that run the real webhook app (reliability, transports,
lifecycle, promotion): one place for the App settings, the app served over HTTP, and the
sandbox rig whose webhooks reach it. Importable as ``scenarios`` (pytest's pythonpath
has ``tests``). The story itself (repository, PRs, approvals) is
``lifecycle/lifecycle_sandbox.py``; the reliability scenario is
``reliability/scenario.py``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.sandbox import appauth
from bot.sandbox.runner import Sandbox, run_sandbox
from bot.sandbox.webhooks import Deliverer
from bot.transports.app import create_app, runtime
from bot.transports.settings import Settings

BOT = "release-train[bot]"
RIG_SECRET = "rig-webhook-secret"


def offline_settings(secret: str, **overrides: Any) -> Settings:
    """App settings with no GitHub behind them (for an app whose reconciler is a fake or
    that must refuse the request before any reconcile)."""
    values: dict[str, Any] = {
        "app_id": "1",
        "private_key": "unused",
        "webhook_secret": secret,
        "api_url": "http://127.0.0.1:9",
        "bot_login": BOT,
        "schedule_interval": 0,
    }
    return Settings(**{**values, **overrides})


def sandbox_settings(sb: Sandbox, secret: str, **overrides: Any) -> Settings:
    """App settings for the sandbox's App: its id and private key, its API."""
    return offline_settings(
        secret,
        **{
            "app_id": str(appauth.app_id(sb.store)),
            "private_key": appauth.private_key_pem(sb.store),
            "api_url": sb.base_url,
            **overrides,
        },
    )


@contextmanager
def served(app_of: Callable[[], Any]) -> Iterator[str]:
    """Serve the WSGI app `app_of()` returns (asked per request, so it may be built after
    the server starts) on 127.0.0.1 in a thread; yields the base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, lambda e, s: app_of()(e, s), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


def clock_of(now: list[datetime]) -> Callable[[], datetime]:
    """The app's clock: the instant in `now` when set, else the real one."""
    return lambda: now[0] if now else datetime.now(UTC)


@contextmanager
def webhook_rig(
    tmp: Path,
    now: list[datetime],
    *,
    duplicate: float = 0.5,
    reorder: int = 3,
    worker_threads: int = 4,
    debounce: float = 0.05,
    secret: str = RIG_SECRET,
) -> Iterator[tuple[Sandbox, Any]]:
    """A sandbox whose webhooks (duplicated and reordered as asked) reach the real app
    over HTTP; the app reconciles with installation tokens it mints itself."""
    holder: dict[str, Any] = {}
    with served(lambda: holder["app"]) as base, run_sandbox(tmp / "sb", durable=False) as sb:
        sb.deliverer = Deliverer(
            f"{base}/webhook", secret, seed=7, duplicate=duplicate, reorder=reorder
        )
        sb.server.deliver = sb.deliverer
        holder["app"] = create_app(
            sandbox_settings(sb, secret),
            clock=clock_of(now),
            debounce=debounce,
            worker_threads=worker_threads,
        )
        try:
            yield sb, holder["app"]
        finally:
            sb.deliverer.close()
            runtime(holder["app"]).close()


def quiet(sb: Sandbox, app: Any, rounds: int = 3) -> None:
    """Deliver what the sandbox queued and let the app's worker drain, a few times over."""
    for _ in range(rounds):
        sb.deliverer.flush(10)
        runtime(app).worker.wait_idle(10)
