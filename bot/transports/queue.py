"""`serve --queue`: hand deliveries and scheduler ticks to RQ on Redis.

With a queue, the acknowledgement path enqueues the raw delivery (its bytes, base64, and
the routing fields: repository, installation, delivery id, event, media type) as one RQ job
before answering 202 (or, when a job for that repository is already waiting, adds it to
what that job covers: `RepoLocks.queue_or_mark`); `release-train worker` processes
(`bot.transports.queue_jobs`) take the jobs and reconcile, one repository at a time
across all of them. The scheduler of the one replica holding the leader lock enqueues the
ticks; the other replicas' ticks are dropped (they keep watching, and take over when the
leader's lock expires).

Jobs are JSON (RQ's `JSONSerializer`, never pickle) and name one of two functions; the
worker refuses any other (`ALLOWED`), so whoever can write to Redis can ask for a
reconcile, not run code.

Delivery ids are claimed in Redis in the same step as the hand-off (the keys and TTL of
`bot.transports.dedup`), so a redelivery to another replica is a duplicate there, at the
cost of one round trip for both.

Redis unreachable (or slower than `TIMEOUT`): `put_delivery` answers None and the caller
reconciles the delivery in this process as it would without a queue (acking from memory;
the answer says `"via": "memory"`); Redis is not asked again for `COOL_DOWN` seconds.
No replica leads while Redis is away, so ticks wait; the next interval redoes them.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from bot.transports.dedup import PREFIX as SEEN_PREFIX
from bot.transports.dedup import TTL as SEEN_TTL
from bot.transports.queue_lock import LeaderLock, RepoLocks
from bot.transports.worker import Trigger

LOG = logging.getLogger("release_train.queue")
QUEUE_NAME = "release-train"
JOB_DELIVERY = "bot.transports.queue_jobs.run_delivery"
JOB_TICK = "bot.transports.queue_jobs.run_tick"
ALLOWED = frozenset({JOB_DELIVERY, JOB_TICK})
GATE_EVENTS = ("check_run", "check_suite")  # the worker reads these deliveries' bodies
RETRY_INTERVALS = [0, 30, 120]  # the first retry (an abandoned job's too) at once, then backoff
JOB_TIMEOUT = 600  # seconds one reconcile job may run
TIMEOUT = 0.25  # seconds for connecting to and answering from Redis, on the ack path
COOL_DOWN = 5.0  # seconds the process reconciles in memory after Redis failed


def connect(url: str, timeout: float | None = None) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)


def rq_queue(client: Any, job_class: Any = None) -> Any:
    from rq import Queue
    from rq.serializers import JSONSerializer

    return Queue(QUEUE_NAME, connection=client, serializer=JSONSerializer, job_class=job_class)


def record_of(trigger: Trigger, body: bytes = b"", mimetype: str = "") -> dict[str, Any]:
    """The job's one argument: plain JSON values."""
    return {
        "repo": trigger.repo,
        "installation_id": trigger.installation_id,
        "delivery": trigger.delivery,
        "event": trigger.event,
        "mimetype": mimetype,
        "body": base64.b64encode(body).decode("ascii") if body else "",
    }


def enqueue(queue: Any, func: str, record: dict[str, Any], **options: Any) -> Any:
    from rq import Retry

    return queue.enqueue(
        func,
        record,
        job_timeout=JOB_TIMEOUT,
        result_ttl=0,
        failure_ttl=7 * 24 * 3600,
        retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        description=f"{func.rsplit('.', 1)[-1]} {record['repo']}",
        **options,
    )


class QueueHandOff:
    """The serve side: `put_delivery` on the ack path, `submit_tick` for the scheduler."""

    def __init__(
        self, url: str, *, leader_ttl: float = 15.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        import redis

        self._client = connect(url, TIMEOUT)
        self._queue = rq_queue(self._client)
        self._locks = RepoLocks(self._client)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._clock = clock
        self._skip_until = 0.0
        self._lock = threading.Lock()
        self.leader = LeaderLock(connect(url, 2.0), ttl=leader_ttl)

    def put_delivery(self, trigger: Trigger, body: bytes, mimetype: str) -> str | None:
        """Hand one verified delivery to the queue: "queued", "duplicate" (another replica
        or process claimed its id: the id is claimed in the same Redis step), or None when
        Redis cannot take it now."""
        claim = (SEEN_PREFIX + trigger.delivery, SEEN_TTL) if trigger.delivery else None
        return self._put(JOB_DELIVERY, trigger, body, mimetype, claim)

    def submit_tick(self, trigger: Trigger) -> None:
        """The scheduler's `submit`: only the leader's ticks are enqueued."""
        if self.leader.is_leader():
            self._put(JOB_TICK, trigger)

    def _put(
        self,
        func: str,
        trigger: Trigger,
        body: bytes = b"",
        mimetype: str = "",
        claim: tuple[str, int] | None = None,
    ) -> str | None:
        """A job for the repository, or (one is waiting already) a trigger it covers."""
        if self._clock() < self._skip_until:
            return None
        try:
            gate = trigger.event in GATE_EVENTS  # only these bodies are read by the worker
            mark = compact(record_of(trigger, body if gate else b"", mimetype), keep_body=gate)
            found = self._locks.queue_or_mark(trigger.repo, mark, claim)
            if found == 2:
                return "duplicate"
            if found == 1:
                enqueue(self._queue, func, record_of(trigger, body, mimetype))
            return "queued"
        except self._errors as exc:
            with self._lock:
                self._skip_until = self._clock() + COOL_DOWN
            LOG.warning(
                "Redis unreachable; reconciling in this process for %.0f s",
                COOL_DOWN,
                extra={"error": type(exc).__name__, "repo": trigger.repo},
            )
            return None

    def start(self) -> None:
        self.leader.start()

    def close(self) -> None:
        self.leader.stop()
        self._client.close()


def decode_body(record: dict[str, Any]) -> bytes:
    return base64.b64decode(record.get("body") or "")


def compact(record: dict[str, Any], keep_body: bool) -> bytes:
    """A trigger for a repository's dirty list: the body only where the worker needs it."""
    kept = record if keep_body else {**record, "body": ""}
    return json.dumps(kept, separators=(",", ":")).encode()
