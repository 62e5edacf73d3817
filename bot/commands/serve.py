"""`release-train serve`: run the GitHub App webhook server.

Production runs granian (a Rust HTTP server) in-process with `bot.transports.front` as its
RSGI application, one `create_app` per worker process: every socket and request body is
handled on an event loop, so a slow client never holds a thread. `--dev` runs Werkzeug's
development server instead. Settings come from the
environment (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET, GITHUB_API_URL,
PROMETHEUS_*, RELEASE_TRAIN_SOURCES, RELEASE_TRAIN_ALLOW_URLS, APP_SLUG, SCHEDULE_INTERVAL,
LOG_LEVEL); a missing one
stops the command before it listens, naming the variable.
"""

from __future__ import annotations

import argparse
import os
from functools import partial
from typing import Any

DESCRIPTION = """\
Serve the GitHub App: POST /webhook (signed deliveries), GET /healthz, GET /metrics,
GET / (the dashboard, behind GitHub sign-in).

environment:
  APP_ID                 the GitHub App's id (required)
  PRIVATE_KEY            the App's private key, PEM (or PRIVATE_KEY_PATH: a file holding it)
  WEBHOOK_SECRET         the webhook secret (required)
  GITHUB_API_URL         default https://api.github.com (GitHub Enterprise: https://HOST/api/v3)
  PROMETHEUS_URL         the default Prometheus for SLO judgement; PROMETHEUS_TOKEN a bearer
                         token (or PROMETHEUS_USERNAME + PROMETHEUS_PASSWORD), sent to it only
  RELEASE_TRAIN_SOURCES  a YAML file of named sources (URL + credentials) a repository's
                         config may pick by name (prometheus.source)
  RELEASE_TRAIN_ALLOW_URLS  host patterns a repository's own prometheus.url may name
                         (default: none; internal addresses are refused regardless)
  APP_SLUG               the App's slug (else asked from GET /app at start)
  SCHEDULE_INTERVAL      seconds between ticks of each repository (default 300; 0: off)
  RECONCILE_THREADS      reconcile threads per process (default 4)
  METRICS_TOKEN          the bearer token GET /metrics wants (unset: loopback callers only)
  METRICS_ADDR           HOST:PORT of a listener of its own for GET /metrics (host default
                         127.0.0.1); the public listener then has no /metrics
  REDIS_URL              redis://…: delivery ids deduplicated across replicas there (and
                         the queue of --queue when it names no URL)
  GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET, SESSION_KEY
                         dashboard sign-in with GitHub (unset: GET / answers loopback only)
  RELEASE_TRAIN_DASHBOARD_REPO  what GET / shows (OWNER/NAME or a local clone)
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve", help="run the GitHub App webhook server", description=DESCRIPTION
    )
    parser.add_argument("--host", default="0.0.0.0", help="address to bind (default 0.0.0.0)")
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT", "3000")),
        help="port to bind (default $PORT or 3000)",
    )
    parser.add_argument(
        "--dev", action="store_true", help="use Werkzeug's development server instead of granian"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="server worker processes (default 1; each runs its own "
        "reconcile worker and scheduler, safe thanks to the ledger's CAS)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=8,
        metavar="N",
        help="threads per worker process for the pages (/, /healthz, /metrics; default 8);"
        " webhooks are acknowledged on the event loop",
    )
    parser.add_argument(
        "--queue",
        nargs="?",
        const="",
        metavar="URL",
        help="hand deliveries and ticks to RQ on Redis (URL, else $REDIS_URL) for "
        "`release-train worker` processes; without it everything runs in this process",
    )
    parser.set_defaults(func=run)


def build_front(settings: Any, dashboard: Any, threads: int, queue: str = "", *_: Any) -> Any:
    """The RSGI application of one granian worker process (called after the fork)."""
    from bot.transports.app import create_app
    from bot.transports.front import Front

    app = create_app(settings, dashboard=dashboard, start=False)
    attach_queue(app, queue)
    return Front(app, threads=threads)


def attach_queue(app: Any, url: str) -> None:
    """`--queue`: the app's deliveries and its (leader-only) ticks go to RQ at `url`."""
    if not url:
        return
    from bot.transports.app import runtime
    from bot.transports.dedup import SharedSeen
    from bot.transports.queue import QueueHandOff
    from bot.transports.scheduler import Scheduler
    from bot.transports.webhook import SeenDeliveries

    rt = runtime(app)
    rt.queue = QueueHandOff(url)
    # delivery ids are claimed in Redis with the hand-off itself (one round trip, not two);
    # this process's memory still answers its own redeliveries at once
    if isinstance(rt.seen, SharedSeen):
        rt.seen.close()
    rt.seen = SeenDeliveries()
    rt.scheduler = Scheduler(rt.queue.submit_tick, interval=rt.settings.schedule_interval)


def queue_url(args: argparse.Namespace, settings: Any) -> tuple[str, Any]:
    """The queue's URL ("" without --queue) and the settings to serve with (delivery ids
    are deduplicated in the queue's Redis when REDIS_URL names none)."""
    from dataclasses import replace

    from bot.errors import UsageError

    if args.queue is None:
        return "", settings
    url = args.queue or settings.redis_url
    if not url:
        raise UsageError("--queue needs a URL: --queue redis://… or REDIS_URL")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError("--queue: not a redis://, rediss:// or unix:// URL")
    return url, settings if settings.redis_url else replace(settings, redis_url=url)


def _granian(args: argparse.Namespace, settings: Any, dashboard: Any, queue: str) -> None:
    from granian.constants import Interfaces
    from granian.http import HTTP1Settings
    from granian.log import LogLevels
    from granian.server import Server

    from bot.transports.front import CONNECTIONS, HEADER_BUFFER, HEADER_TIMEOUT_MS
    from bot.transports.logging import Redactor, server_log_config

    level = settings.log_level.lower()
    server = Server(
        "release-train",  # the target name granian logs; the app comes from the loader
        address=args.host,
        port=args.port,
        interface=Interfaces.RSGI,
        workers=args.workers,
        backpressure=CONNECTIONS,
        http1_settings=HTTP1Settings(
            header_read_timeout=HEADER_TIMEOUT_MS, max_buffer_size=HEADER_BUFFER
        ),
        websockets=False,
        log_level=LogLevels(level) if level in LogLevels.__members__ else LogLevels.info,
        log_dictconfig=server_log_config(Redactor(settings.secrets()), settings.log_level),
        log_access=False,
        workers_kill_timeout=20,
    )
    server.serve(
        target_loader=partial(build_front, settings, dashboard, args.threads, queue),
        wrap_loader=False,
    )


def check_bindable(name: str, address: tuple[str, int]) -> None:
    """Fail before serving, naming the variable, when `address` cannot be listened on."""
    import socket

    from bot.errors import ConfigError, Problem

    host, port = address
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            if hasattr(socket, "SO_REUSEPORT"):  # as the listener itself binds
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            probe.bind((host, port))
    except OSError as exc:
        why = exc.strerror or str(exc)
        raise ConfigError(
            [Problem(f"{name}: cannot listen on {host}:{port}: {why}", file="environment")]
        ) from None


def run(args: argparse.Namespace) -> int:
    from bot.errors import UsageError
    from bot.transports.app import create_app
    from bot.transports.settings import settings_from_env

    if args.workers < 1 or args.threads < 1:
        raise UsageError("--workers and --threads must be at least 1")
    from bot.insights.dashboard import source_from_env

    # fail before listening, naming the variable; repositories may not reach these listeners
    settings = settings_from_env(os.environ, listeners=((args.host, args.port),))
    if settings.metrics_addr is not None:
        check_bindable("METRICS_ADDR", settings.metrics_addr)
    dashboard = source_from_env(os.environ)
    queue, settings = queue_url(args, settings)
    if args.dev:
        app = create_app(settings, dashboard=dashboard, start=False)
        attach_queue(app, queue)
        app.extensions["release_train"].start()
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
        return 0
    _granian(args, settings, dashboard, queue)
    return 0
