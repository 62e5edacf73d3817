"""The background worker: coalesces triggers per repository and runs reconciles.

A webhook only says "look again at this repository soon". Triggers for a repository that
is already waiting merge into its one pending entry (a burst of deliveries becomes one
reconcile, plus at most one more if some arrived while it ran); merging is O(1) per
trigger, and only the newest `KEEP_DELIVERIES` ids are kept. A repository is never
reconciled by two threads at once.

A failing reconcile is logged and retried with exponential backoff and jitter. The attempt
budget (`max_attempts`) belongs to the repository, not to a delivery: new deliveries do not
reset it, only a successful reconcile does. Once it is spent the worker gives up on that
repository for `cooldown` seconds (triggers meanwhile are dropped; the scheduler's tick
after that starts a new budget). A permanent error (`permanent(exc)`: an invalid config, a
401/404 from GitHub such as an unknown installation) is not retried at all. A reconcile
stopped by GitHub's rate limit (`RateLimited`) is not a failure: it is put back for when
the limit resets, without counting an attempt. The worker threads never die of a failure.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.adapters.ratelimit import RateLimited
from bot.errors import ConfigError, ExternalError

LOG = logging.getLogger("release_train.worker")
KEEP_DELIVERIES = 64  # a burst's ids beyond these are not needed: the newest is recorded


@dataclass(frozen=True)
class Trigger:
    """One reason to look at a repository again."""

    repo: str
    installation_id: int | None = None
    delivery: str | None = None
    event: str = "schedule"
    # what a check_run delivery asked of the gates (bot.core.gates.events.GateRequest)
    gate_requests: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Job:
    """What the handler runs: every trigger coalesced since the last run of `repo`."""

    repo: str
    installation_id: int | None
    deliveries: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    attempt: int = 0
    gate_requests: tuple[Any, ...] = ()  # kept in delivery order, never coalesced away

    @property
    def delivery(self) -> str | None:
        """The delivery id to record (the latest one), or None for a scheduled tick."""
        return self.deliveries[-1] if self.deliveries else None


@dataclass
class _Entry:
    due: float
    installation_id: int | None
    # insertion-ordered sets (dict keys): a merge is O(1) per trigger, however long the burst
    deliveries: dict[str, None] = field(default_factory=dict)
    events: dict[str, None] = field(default_factory=dict)
    gate_requests: dict[Any, None] = field(default_factory=dict)

    def merge(self, other: _Entry) -> None:
        self.due = min(self.due, other.due)
        self.installation_id = other.installation_id or self.installation_id
        self.deliveries.update(other.deliveries)
        while len(self.deliveries) > KEEP_DELIVERIES:
            del self.deliveries[next(iter(self.deliveries))]
        self.events.update(other.events)
        self.gate_requests.update(other.gate_requests)


def default_backoff(attempt: int) -> float:
    """Seconds before retry number `attempt` (1-based): 2, 4, 8, ... capped at 5 minutes,
    each with up to 20 % jitter either way so that failing repositories do not retry in step."""
    return float(min(2**attempt, 300)) * random.uniform(0.8, 1.2)


def permanent(exc: BaseException) -> bool:
    """An error that retrying cannot fix: an invalid repository config, or GitHub saying
    401/404 (an unknown installation, a revoked key)."""
    if isinstance(exc, ConfigError):
        return True
    return isinstance(exc, ExternalError) and exc.status in (401, 404)


class Worker:
    def __init__(
        self,
        handle: Callable[[Job], None],
        *,
        threads: int = 2,
        debounce: float = 0.25,
        max_attempts: int = 6,
        backoff: Callable[[int], float] = default_backoff,
        clock: Callable[[], float] = time.monotonic,
        on_depth: Callable[[int], None] | None = None,
        on_outcome: Callable[[str], None] | None = None,
        cooldown: float = 600.0,
    ) -> None:
        self._handle = handle
        self._threads_wanted = threads
        self._debounce = debounce
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._clock = clock
        self._on_depth = on_depth or (lambda _n: None)
        self._on_outcome = on_outcome or (lambda _o: None)  # retry, give_up, permanent
        self._cooldown = cooldown
        self._attempts: dict[str, int] = {}  # failed attempts per repository since a success
        self._given_up: dict[str, float] = {}  # repository -> until when triggers are dropped
        self._cond = threading.Condition()
        self._pending: dict[str, _Entry] = {}
        self._running: set[str] = set()
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def start(self) -> None:
        with self._cond:
            if self._threads:
                return
            self._stopping = False
            for i in range(self._threads_wanted):
                thread = threading.Thread(target=self._loop, name=f"reconcile-{i}", daemon=True)
                self._threads.append(thread)
                thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def submit(self, trigger: Trigger, *, delay: float = 0.0) -> None:
        now = self._clock()
        with self._cond:
            if self._given_up.get(trigger.repo, now) > now:
                return  # the attempt budget is spent; the cool-down has not passed
            self._given_up.pop(trigger.repo, None)
        entry = _Entry(
            due=now + delay + self._debounce,
            installation_id=trigger.installation_id,
            deliveries=dict.fromkeys([trigger.delivery] if trigger.delivery else []),
            events=dict.fromkeys([trigger.event]),
            gate_requests=dict.fromkeys(trigger.gate_requests),
        )
        self._put(trigger.repo, entry)

    def pending(self) -> list[str]:
        with self._cond:
            return sorted(self._pending)

    def wait_idle(self, timeout: float) -> bool:
        """Block until nothing is pending or running; False if `timeout` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._running:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
            return True

    def _put(self, repo: str, entry: _Entry) -> None:
        with self._cond:
            existing = self._pending.get(repo)
            if existing is None:
                self._pending[repo] = entry
                self._on_depth(len(self._pending))
                self._cond.notify()
            else:
                due = existing.due
                existing.merge(entry)
                # A merge that leaves the due time as it was changes nothing a waiting
                # thread could act on: do not wake them (bursts stay cheap).
                if existing.due < due:
                    self._cond.notify()

    def _take(self) -> tuple[str, _Entry] | None:
        """Wait for the earliest due entry whose repository is not running."""
        with self._cond:
            while not self._stopping:
                now = self._clock()
                ready = [(e.due, r) for r, e in self._pending.items() if r not in self._running]
                if ready:
                    due, repo = min(ready)
                    if due <= now:
                        entry = self._pending.pop(repo)
                        self._running.add(repo)
                        self._on_depth(len(self._pending))
                        return repo, entry
                    self._cond.wait(min(due - now, 1.0))
                else:
                    self._cond.wait(1.0)
            return None

    def _loop(self) -> None:
        while (taken := self._take()) is not None:
            repo, entry = taken
            job = Job(
                repo,
                entry.installation_id,
                tuple(entry.deliveries),
                tuple(entry.events),
                self._attempts.get(repo, 0),
                tuple(entry.gate_requests),
            )
            try:
                self._handle(job)
                with self._cond:
                    self._attempts.pop(repo, None)
            except Exception as exc:  # the worker must survive any reconciler failure
                self._failed(job, entry, exc)
            finally:
                with self._cond:
                    self._running.discard(repo)
                    self._cond.notify_all()

    def _failed(self, job: Job, entry: _Entry, exc: Exception) -> None:
        if isinstance(exc, RateLimited):
            self._defer(job, entry, exc)
            return
        with self._cond:
            attempt = self._attempts.get(job.repo, 0) + 1
            self._attempts[job.repo] = attempt
        extra = {
            "repo": job.repo,
            "delivery": job.delivery,
            "attempt": attempt,
            "error": f"{type(exc).__name__}: {exc}",
        }
        if permanent(exc):
            self._on_outcome("permanent")
            LOG.error("reconcile failed; not retried (permanent error)", extra=extra)
            self._give_up(job.repo, self._cooldown)
            return
        if attempt >= self._max_attempts:
            self._on_outcome("give_up")
            LOG.error(
                "reconcile failed; giving up for %.0fs", self._cooldown, extra=extra, exc_info=exc
            )
            self._give_up(job.repo, self._cooldown)
            return
        self._on_outcome("retry")
        delay = self._backoff(attempt)
        LOG.warning("reconcile failed; retrying in %.0fs", delay, extra=extra, exc_info=exc)
        self._put(job.repo, _again(entry, self._clock() + delay))

    def _give_up(self, repo: str, seconds: float) -> None:
        with self._cond:
            self._given_up[repo] = self._clock() + seconds
            self._attempts.pop(repo, None)
            if self._pending.pop(repo, None) is not None:
                self._on_depth(len(self._pending))

    def _defer(self, job: Job, entry: _Entry, exc: RateLimited) -> None:
        """Come back when GitHub's limit resets; the thread goes on with other work."""
        extra = {"repo": job.repo, "delivery": job.delivery, "retry_in": round(exc.retry_in)}
        LOG.warning("rate limited; reconciling again in %.0fs", exc.retry_in, extra=extra)
        self._put(job.repo, _again(entry, self._clock() + exc.retry_in))


def _again(entry: _Entry, due: float) -> _Entry:
    """The same job's triggers, due again at `due`."""
    return _Entry(
        due,
        entry.installation_id,
        dict(entry.deliveries),
        dict(entry.events),
        dict(entry.gate_requests),
    )
