"""`release-train worker`: reconcile the deliveries and ticks `serve --queue` put on Redis.

One process is one RQ worker (one reconcile at a time); run as many as the work needs,
on as many machines. The per-repository lock keeps a repository to one reconcile at a
time across all of them. Settings come from the same environment as `serve`.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

DESCRIPTION = """\
Take deliveries and scheduler ticks from the Redis queue `serve --queue` fills and
reconcile them, one repository at a time across every worker.

environment: the same as `release-train serve` (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH,
WEBHOOK_SECRET, GITHUB_API_URL, PROMETHEUS_*, RELEASE_TRAIN_SOURCES, ...), and
  REDIS_URL  the queue's Redis when --queue is not given
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "worker",
        help="reconcile what `serve --queue` enqueued (RQ on Redis)",
        description=DESCRIPTION,
    )
    parser.add_argument(
        "--queue", metavar="URL", help="redis://… of the queue (default: $REDIS_URL)"
    )
    parser.add_argument(
        "--burst", action="store_true", help="stop once the queue is empty (batch runs, tests)"
    )
    parser.add_argument(
        "--abandoned-after",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a job whose worker died (SIGKILL, OOM) runs again after this long (default 60)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.errors import ExternalError, UsageError
    from bot.transports.logging import Redactor, configure
    from bot.transports.settings import settings_from_env

    url = args.queue or os.environ.get("REDIS_URL", "").strip()
    if not url:
        raise UsageError("worker needs a queue: --queue redis://… or REDIS_URL")
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise UsageError("--queue: not a redis://, rediss:// or unix:// URL")
    if args.abandoned_after < 2:
        raise UsageError("--abandoned-after must be at least 2 seconds")
    settings = settings_from_env({**os.environ, "REDIS_URL": url})
    redactor = Redactor(settings.secrets())
    for name in ("release_train", "rq"):  # RQ's own lines are scrubbed JSON too
        configure(redactor, level=settings.log_level, logger_name=name)

    import redis

    from bot.transports.queue_worker import build_worker

    worker = build_worker(url, settings, abandoned_after=args.abandoned_after)
    try:
        worker.work(burst=args.burst, with_scheduler=True, logging_level=settings.log_level)
    except (redis.RedisError, OSError) as exc:
        raise ExternalError("Redis", f"the queue is unreachable ({type(exc).__name__})") from None
    return 0
