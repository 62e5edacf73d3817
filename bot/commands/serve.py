"""`release-train serve`: run the GitHub App webhook server.

Production runs gunicorn in-process (its `BaseApplication`), one `create_app` per worker
process; `--dev` runs Werkzeug's development server instead. Settings come from the
environment (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET, GITHUB_API_URL,
PROMETHEUS_*, RELEASE_TRAIN_SOURCES, RELEASE_TRAIN_ALLOW_URLS, APP_SLUG, SCHEDULE_INTERVAL,
LOG_LEVEL); a missing one
stops the command before it listens, naming the variable.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
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
        "--dev", action="store_true", help="use Werkzeug's development server instead of gunicorn"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="gunicorn worker processes (default 1; each runs its own "
        "reconcile worker and scheduler, safe thanks to the ledger's CAS)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=8,
        metavar="N",
        help="request threads per gunicorn worker (default 8)",
    )
    parser.set_defaults(func=run)


def _gunicorn(factory: Callable[[], Any], options: dict[str, Any]) -> Any:
    from gunicorn.app.base import BaseApplication

    from bot.transports.app import runtime

    loaded: list[Any] = []  # the app of this worker process (load runs after the fork)

    def worker_exit(server: Any, worker: Any) -> None:
        for app in loaded:  # let a running reconcile finish (bounded) before exiting
            runtime(app).close()

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in {**options, "worker_exit": worker_exit}.items():
                if key in self.cfg.settings:  # e.g. control_socket_disable: gunicorn >= 24
                    self.cfg.set(key, value)

        def load(self) -> Any:
            app = factory()
            loaded.append(app)
            return app

    return Server()


def scrubbed_logger_class(secrets: Any) -> type:
    """gunicorn's own logger (worker timeouts, tracebacks of a crashed request) with the
    same secret scrubbing as the bot's log lines: every handler it sets up gets the filter."""
    from gunicorn.glogging import Logger

    from bot.transports.logging import RedactionFilter, Redactor

    redact = RedactionFilter(Redactor(secrets))

    class ScrubbedLogger(Logger):
        def setup(self, cfg: Any) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.addFilter(redact)

    return ScrubbedLogger


def run(args: argparse.Namespace) -> int:
    from bot.errors import UsageError
    from bot.transports.app import create_app
    from bot.transports.settings import settings_from_env

    if args.workers < 1 or args.threads < 1:
        raise UsageError("--workers and --threads must be at least 1")
    from bot.insights.dashboard import source_from_env

    # fail before listening, naming the variable; repositories may not reach these listeners
    settings = settings_from_env(os.environ, listeners=((args.host, args.port),))
    dashboard = source_from_env(os.environ)
    if args.dev:
        create_app(settings, dashboard=dashboard).run(
            host=args.host, port=args.port, threaded=True, use_reloader=False
        )
        return 0
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": args.threads,
        "timeout": 60,
        "graceful_timeout": 20,
        "loglevel": settings.log_level.lower(),
        "accesslog": None,
        "proc_name": "release-train",
        "control_socket_disable": True,  # no $HOME/.gunicorn socket (read-only filesystems)
        "logger_class": scrubbed_logger_class(settings.secrets()),
    }
    _gunicorn(lambda: create_app(settings, dashboard=dashboard), options).run()
    return 0
