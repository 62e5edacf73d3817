"""Delivery ids seen across every `serve` replica and process, in Redis (`REDIS_URL`).

GitHub redelivers a delivery with the same `X-GitHub-Delivery` id; each process keeps the
last ids it saw (`SeenDeliveries`), but behind a load balancer, or with `--workers 2`, a
redelivery can land on another process and be reconciled twice. With `REDIS_URL` set,
`SharedSeen.add` is one `SET <prefix><id> 1 NX EX <ttl>` in Redis: the first process to
claim an id wins, everywhere, for `ttl` seconds.

Redis holds work, never state: when it cannot be reached (or answers slower than
`TIMEOUT`), the delivery is acked from the in-process memory alone, a warning is logged,
and Redis is not asked again for `COOL_DOWN` seconds, so an outage costs at most a
duplicate reconcile (harmless: reconciles are idempotent), never an error to GitHub.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.transports.webhook import SeenDeliveries

TTL = 24 * 3600  # seconds a delivery id stays claimed (GitHub redeliveries come within days)
TIMEOUT = 0.25  # seconds for connecting to and answering from Redis, on the ack path
COOL_DOWN = 5.0  # seconds memory alone decides after Redis failed
PREFIX = "release-train:delivery:"
LOG = logging.getLogger("release_train.app")


class SharedSeen:
    """`add(id)` is True the first time any process sharing the Redis sees `id`."""

    def __init__(
        self,
        url: str,
        *,
        ttl: int = TTL,
        timeout: float = TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        import redis

        self._client: Any = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._ttl = ttl
        self._clock = clock
        self._local = SeenDeliveries()
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def add(self, delivery: str) -> bool:
        first_here = self._local.add(delivery)
        if not first_here or self._clock() < self._skip_until:
            return first_here
        try:
            claimed = self._client.set(PREFIX + delivery, b"1", nx=True, ex=self._ttl)
        except self._errors as exc:
            with self._lock:
                self._skip_until = self._clock() + COOL_DOWN
            LOG.warning(
                "Redis unreachable; delivery ids are deduplicated in this process only for %.0f s",
                COOL_DOWN,
                extra={"error": type(exc).__name__},
            )
            return True
        return bool(claimed)

    def __len__(self) -> int:
        return len(self._local)

    def close(self) -> None:
        self._client.close()
