"""The scheduler: ticks each watched repository on an interval, sooner when asked.

Repositories come from discovery at start (installations → repositories → those with a
config file) and from installation webhooks. After each reconcile the app reports the
repository's "next due" time (a departure, a soak ending, a deadline), and the scheduler
ticks it then if that is sooner than the interval. A tick is just a `Trigger` submitted to
the worker, which coalesces it with any webhook for the same repository.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from bot.transports.worker import Trigger

LOG = logging.getLogger("release_train.scheduler")
STAGGER_WINDOW = 60.0  # seconds over which the first ticks after discovery are spread


@dataclass(frozen=True)
class Watched:
    repo: str
    installation_id: int | None
    due: float  # monotonic seconds


def next_tick(now: float, interval: float, reported: float | None) -> float:
    """When to tick next: the interval from now, or sooner if the reconcile asked."""
    tick = now + interval
    if reported is not None:
        tick = min(tick, max(reported, now))
    return tick


def stagger(index: int, count: int, window: float) -> float:
    """Seconds before the first tick of repository `index` of `count`: spread evenly over
    `window`, so a restart does not reconcile every repository at the same instant."""
    return window * index / count if count > 1 else 0.0


def due_now(watched: Mapping[str, Watched], now: float) -> list[Watched]:
    return sorted((w for w in watched.values() if w.due <= now), key=lambda w: w.due)


class Scheduler:
    def __init__(
        self,
        submit: Callable[[Trigger], None],
        *,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._submit = submit
        self._interval = interval
        self._clock = clock
        self._cond = threading.Condition()
        self._watched: dict[str, Watched] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False

    def watch(self, repo: str, installation_id: int | None, *, first_in: float = 0.0) -> None:
        with self._cond:
            current = self._watched.get(repo)
            due = self._clock() + first_in
            if current is not None:
                due = min(due, current.due)
            self._watched[repo] = Watched(repo, installation_id, due)
            self._cond.notify_all()

    def unwatch(self, repo: str) -> None:
        with self._cond:
            self._watched.pop(repo, None)

    def watched(self) -> list[Watched]:
        with self._cond:
            return sorted(self._watched.values(), key=lambda w: w.repo)

    def report(
        self, repo: str, installation_id: int | None, seconds_until_due: float | None
    ) -> None:
        """After a reconcile of `repo`: schedule its next tick (interval or sooner)."""
        with self._cond:
            now = self._clock()
            reported = None if seconds_until_due is None else now + seconds_until_due
            known = self._watched.get(repo)
            inst = installation_id or (known.installation_id if known else None)
            self._watched[repo] = Watched(repo, inst, next_tick(now, self._interval, reported))
            self._cond.notify_all()

    def start(self) -> None:
        if self._thread is None:
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                now = self._clock()
                ready = due_now(self._watched, now)
                for w in ready:
                    self._watched[w.repo] = Watched(w.repo, w.installation_id, now + self._interval)
                if not ready:
                    upcoming = min((w.due for w in self._watched.values()), default=now + 60)
                    self._cond.wait(max(0.01, min(upcoming - now, 60.0)))
                    continue
            for w in ready:
                self._submit(Trigger(w.repo, w.installation_id, None, "schedule"))


def discover(
    installations: Callable[[], Iterable[int]],
    repositories: Callable[[int], Iterable[str]],
    has_config: Callable[[str, int], bool],
) -> list[tuple[str, int]]:
    """Every (repository, installation id) of the App's installations with a config file."""
    found = []
    for inst in installations():
        for repo in repositories(inst):
            if has_config(repo, inst):
                found.append((repo, inst))
    return found
