"""The RQ jobs `release-train worker` runs: one reconcile per repository at a time.

`run_delivery` and `run_tick` take the record `bot.transports.queue` enqueued (with the
repository's triggers that arrived while it waited: see `bot.transports.queue_lock`).
Each tries the repository's lock: held elsewhere, the record joins the repository's
dirty list and the job ends ("coalesced"); taken, the job reconciles once for its record
and everything waiting, then once more for everything that arrived meanwhile, until
nothing did, and releases. A burst of deliveries costs one reconcile, plus one if some
arrived while it ran, whichever replica acked them and whichever worker took them.

Failures: a permanent error (`bot.transports.worker.permanent`) is logged and not
retried; GitHub's rate limit puts the record back for when it resets; anything else is
raised, and RQ retries the job (`RETRY_INTERVALS`). A failed (or killed) pass's other
triggers stay in the repository's `running` list for the retry, or the next job.

After a reconcile whose train is due sooner than the schedule interval (a departure, a
soak ending), the worker enqueues that repository's tick for then (`DueTicks`), one per
repository (RQ's scheduled registry is keyed by job id).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.adapters.ratelimit import RateLimited
from bot.transports.queue import GATE_EVENTS, JOB_DELIVERY, JOB_TICK, compact, decode_body
from bot.transports.queue_lock import Renewer, RepoLocks, new_token
from bot.transports.scheduler import Scheduler
from bot.transports.worker import KEEP_DELIVERIES, Job, permanent

if TYPE_CHECKING:
    from bot.transports.app import Runtime

LOG = logging.getLogger("release_train.queue")


@dataclass
class Context:
    """What the jobs of this worker process use (set once by `install`)."""

    rt: Runtime  # its `_reconcile` is the same reconcile `serve` runs in-process
    locks: RepoLocks
    queue: Any  # the RQ queue, for deferred records and due ticks


_CONTEXT: Context | None = None


def install(context: Context) -> None:
    global _CONTEXT
    _CONTEXT = context


def _context() -> Context:
    if _CONTEXT is None:
        raise RuntimeError("queue jobs run only in `release-train worker`")
    return _CONTEXT


def run_delivery(record: dict[str, Any]) -> str:
    return reconcile_record(record)


def run_tick(record: dict[str, Any]) -> str:
    return reconcile_record(record)


def reconcile_record(record: dict[str, Any]) -> str:
    """Reconcile `record`'s repository, or leave the record to the current holder."""
    ctx = _context()
    repo = str(record["repo"])
    token = new_token()
    ctx.locks.started(repo)
    if not ctx.locks.acquire_or_mark(repo, token, _trigger(record)):
        LOG.info("coalesced into the running reconcile", extra=_extra([record]))
        return "coalesced"
    # this job's record, the triggers waiting, and any a dead or failed holder left
    records = [record, *(json.loads(item) for item in ctx.locks.take(repo))]
    with Renewer(lambda: ctx.locks.renew(repo, token), ctx.locks.ttl / 3):
        while True:
            try:
                _run_once(ctx, records)
            except RateLimited as exc:
                ctx.locks.release(repo, token)
                _defer(ctx, record, exc.retry_in)
                return "deferred"
            except Exception as exc:
                # the lock goes; the triggers stay in `running` for this job's retry (RQ)
                # or the repository's next job
                ctx.locks.release(repo, token)
                if permanent(exc):
                    LOG.error(
                        "reconcile failed; not retried (permanent error)",
                        extra=_extra(records) | {"error": f"{type(exc).__name__}: {exc}"},
                    )
                    return "permanent"
                raise
            more = ctx.locks.release_or_take(repo, token)
            if not more:
                return "reconciled"
            records = [json.loads(item) for item in more]


def _run_once(ctx: Context, records: list[dict[str, Any]]) -> None:
    job = merge(records, _app_id(ctx))
    extra = _extra(records)
    LOG.info("queue reconcile started", extra=extra)
    started = time.monotonic()
    ctx.rt._reconcile(job)
    took = round((time.monotonic() - started) * 1000, 1)
    LOG.info("queue reconcile done", extra=extra | {"duration_ms": took, "outcome": "ok"})


def merge(records: list[dict[str, Any]], app_id: int | None) -> Job:
    """One `Job` for every trigger in `records` (in order): the newest deliveries, every
    event, every gate request (a button press is never coalesced away)."""
    deliveries = dict.fromkeys(str(r["delivery"]) for r in records if r.get("delivery"))
    events = dict.fromkeys(str(r.get("event") or "schedule") for r in records)
    inst = next((r["installation_id"] for r in reversed(records) if r.get("installation_id")), None)
    asked = [g for r in records if (g := gate_request_of(r, app_id)) is not None]
    return Job(
        str(records[0]["repo"]),
        int(inst) if inst is not None else None,
        tuple(deliveries)[-KEEP_DELIVERIES:],
        tuple(events),
        _attempt(),
        tuple(dict.fromkeys(asked)),
    )


def gate_request_of(record: dict[str, Any], app_id: int | None) -> Any:
    """What a check-run delivery asked of the gates, parsed here (not on the ack path)."""
    event = str(record.get("event") or "")
    if event not in GATE_EVENTS or not record.get("body"):
        return None
    from bot.core.gates.events import gate_request
    from bot.transports.webhook import parse_payload

    payload = parse_payload(decode_body(record), str(record.get("mimetype") or ""))
    return gate_request(event, payload, app_id=app_id) if payload else None


def _trigger(record: dict[str, Any]) -> bytes:
    return compact(record, keep_body=record.get("event") in GATE_EVENTS)


def _defer(ctx: Context, record: dict[str, Any], seconds: float) -> None:
    LOG.warning("rate limited; reconciling again in %.0fs", seconds, extra=_extra([record]))
    func = JOB_TICK if record.get("event") == "schedule" else JOB_DELIVERY
    ctx.queue.enqueue_in(timedelta(seconds=max(seconds, 1)), func, record, result_ttl=0)


def _app_id(ctx: Context) -> int | None:
    app_id = str(ctx.rt.settings.app_id)
    return int(app_id) if app_id.isdigit() else None


def _attempt() -> int:
    """This job's retry number (0 the first time)."""
    from rq import get_current_job

    job = get_current_job()
    if job is None or job.retries_left is None:
        return 0
    return max(0, len(job.retry_intervals or []) - int(job.retries_left))


def _extra(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "repo": records[0]["repo"],
        "delivery": ",".join(str(r["delivery"]) for r in records if r.get("delivery")) or None,
        "trigger": ",".join(str(r.get("event")) for r in records),
        "host": str(os.getpid()),
    }


class DueTicks(Scheduler):
    """The worker's stand-in for the scheduler `Runtime._reconcile` reports to: a train
    due sooner than the interval gets its repository's tick enqueued for then."""

    def __init__(self, queue: Any, interval: float) -> None:
        super().__init__(lambda _t: None, interval=interval)
        self._rq = queue

    def report(
        self, repo: str, installation_id: int | None, seconds_until_due: float | None
    ) -> None:
        if seconds_until_due is None or seconds_until_due >= self._interval:
            return  # the leader's interval tick comes first
        record = {"repo": repo, "installation_id": installation_id, "event": "schedule"}
        self._rq.enqueue_in(
            timedelta(seconds=max(seconds_until_due, 1)),
            JOB_TICK,
            record | {"delivery": None, "mimetype": "", "body": ""},
            job_id="due-" + hashlib.sha256(repo.encode()).hexdigest()[:32],  # RQ: [\w-]
            result_ttl=0,
        )

    def unwatch(self, repo: str) -> None:
        pass
