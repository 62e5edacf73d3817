"""The worker with real threads and a recording handler (no sleeps asserted on)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bot.transports.scheduler import Scheduler, Watched, discover, due_now, next_tick, stagger
from bot.transports.worker import Job, Trigger, Worker, default_backoff


class Handler:
    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.lock = threading.Lock()
        self.running: set[str] = set()
        self.overlap = False
        self.gate = threading.Event()
        self.gate.set()
        self.fail_repo: str | None = None

    def __call__(self, job: Job) -> None:
        with self.lock:
            self.jobs.append(job)
            if job.repo in self.running:
                self.overlap = True
            self.running.add(job.repo)
        try:
            self.gate.wait(10)
            if job.repo == self.fail_repo:
                raise ValueError("boom")
        finally:
            with self.lock:
                self.running.discard(job.repo)


@pytest.fixture
def handler() -> Handler:
    return Handler()


@pytest.fixture
def worker(handler: Handler) -> Iterator[Worker]:
    w = Worker(handler, threads=4, debounce=0.0, max_attempts=3, backoff=lambda n: 0.01)
    w.start()
    yield w
    w.stop()


def test_one_job_per_trigger_when_idle(worker: Worker, handler: Handler) -> None:
    worker.submit(Trigger("o/a", 1, "d1", "push"))
    assert worker.wait_idle(5)
    assert [(j.repo, j.installation_id, j.delivery) for j in handler.jobs] == [("o/a", 1, "d1")]


def test_triggers_during_a_run_coalesce_into_one_more(worker: Worker, handler: Handler) -> None:
    handler.gate.clear()
    worker.submit(Trigger("o/a", 1, "d0", "push"))
    while not handler.jobs:
        threading.Event().wait(0.005)
    for i in range(1, 21):
        worker.submit(Trigger("o/a", 1, f"d{i}", "pull_request"))
    handler.gate.set()
    assert worker.wait_idle(5)
    assert len(handler.jobs) == 2
    assert handler.jobs[1].deliveries == tuple(f"d{i}" for i in range(1, 21))
    assert handler.jobs[1].delivery == "d20"
    assert not handler.overlap


def test_repositories_run_in_parallel_but_never_the_same_twice(
    worker: Worker, handler: Handler
) -> None:
    handler.gate.clear()
    for repo in ("o/a", "o/b", "o/c"):
        worker.submit(Trigger(repo))
    while len(handler.jobs) < 3:
        threading.Event().wait(0.005)
    assert handler.running == {"o/a", "o/b", "o/c"}
    worker.submit(Trigger("o/a"))
    handler.gate.set()
    assert worker.wait_idle(5)
    assert [j.repo for j in handler.jobs].count("o/a") == 2
    assert not handler.overlap


def test_failures_retry_with_backoff_then_give_up(worker: Worker, handler: Handler) -> None:
    handler.fail_repo = "o/bad"
    worker.submit(Trigger("o/bad", delivery="x"))
    worker.submit(Trigger("o/good"))
    assert worker.wait_idle(5)
    bad = [j for j in handler.jobs if j.repo == "o/bad"]
    assert [j.attempt for j in bad] == [0, 1, 2]
    assert all(j.delivery == "x" for j in bad)
    # the threads survived: new work still runs
    worker.submit(Trigger("o/good"))
    assert worker.wait_idle(5)
    assert [j.repo for j in handler.jobs].count("o/good") == 2


def test_default_backoff_grows_and_caps_with_jitter() -> None:
    for n, base in ((1, 2), (2, 4), (3, 8), (30, 300)):
        delays = {default_backoff(n) for _ in range(50)}
        assert all(0.8 * base <= d <= 1.2 * base for d in delays)
        assert len(delays) > 1  # jittered: failing repositories do not retry in step


def test_a_new_delivery_does_not_reset_the_attempt_budget() -> None:
    jobs: list[Job] = []

    def always_fails(job: Job) -> None:
        jobs.append(job)
        raise RuntimeError("GitHub is down")

    outcomes: list[str] = []
    w = Worker(always_fails, threads=1, debounce=0.0, max_attempts=3, backoff=lambda n: 0.05,
               on_outcome=outcomes.append, cooldown=60.0)  # fmt: skip
    w.start()
    try:
        for i in range(10):  # a delivery arrives while the repository keeps failing
            w.submit(Trigger("o/bad", delivery=f"d{i}"))
            threading.Event().wait(0.02)
        assert w.wait_idle(5)
        assert [j.attempt for j in jobs] == [0, 1, 2]  # three attempts, then it gave up
        assert outcomes == ["retry", "retry", "give_up"]
        w.submit(Trigger("o/bad", delivery="later"))  # within the cool-down: dropped
        assert w.wait_idle(1) and len(jobs) == 3
    finally:
        w.stop()


def test_a_permanent_error_is_not_retried() -> None:
    from bot.errors import ExternalError

    jobs: list[Job] = []

    def unknown_installation(job: Job) -> None:
        jobs.append(job)
        raise ExternalError("github", "installation 42 not found", status=404)

    outcomes: list[str] = []
    w = Worker(unknown_installation, threads=1, debounce=0.0, backoff=lambda n: 0.01,
               on_outcome=outcomes.append)  # fmt: skip
    w.start()
    try:
        w.submit(Trigger("o/gone", delivery="d1"))
        assert w.wait_idle(5)
        assert len(jobs) == 1 and outcomes == ["permanent"]
    finally:
        w.stop()


def test_a_long_burst_keeps_only_the_newest_delivery_ids() -> None:
    from bot.transports.worker import KEEP_DELIVERIES

    gate = threading.Event()
    jobs: list[Job] = []

    def slow(job: Job) -> None:
        jobs.append(job)
        gate.wait(5)

    w = Worker(slow, threads=1, debounce=0.0)
    w.start()
    try:
        w.submit(Trigger("o/a", delivery="first"))
        while not jobs:
            threading.Event().wait(0.005)
        for i in range(5000):  # while it runs, a burst piles up behind it
            w.submit(Trigger("o/a", delivery=f"d{i}"))
        gate.set()
        assert w.wait_idle(5)
        assert len(jobs) == 2
        assert len(jobs[1].deliveries) == KEEP_DELIVERIES
        assert jobs[1].delivery == "d4999"
    finally:
        w.stop()


def test_next_tick() -> None:
    assert next_tick(100.0, 300.0, None) == 400.0
    assert next_tick(100.0, 300.0, 150.0) == 150.0
    assert next_tick(100.0, 300.0, 1000.0) == 400.0
    assert next_tick(100.0, 300.0, 50.0) == 100.0  # overdue: now


def test_due_now_orders_by_due() -> None:
    watched = {r: Watched(r, 1, due) for r, due in (("a", 5.0), ("b", 1.0), ("c", 9.0))}
    assert [w.repo for w in due_now(watched, 6.0)] == ["b", "a"]


def test_scheduler_ticks_watched_repositories(worker: Worker, handler: Handler) -> None:
    scheduler = Scheduler(worker.submit, interval=3600)
    scheduler.watch("o/a", 7)
    scheduler.start()
    try:
        deadline = threading.Event()
        for _ in range(400):
            if handler.jobs:
                break
            deadline.wait(0.01)
        assert worker.wait_idle(5)
        [job] = handler.jobs
        assert (job.repo, job.installation_id, job.events) == ("o/a", 7, ("schedule",))
        scheduler.report("o/a", 7, 0.0)  # the reconcile says: due now
        for _ in range(400):
            if len(handler.jobs) == 2:
                break
            deadline.wait(0.01)
        assert len(handler.jobs) == 2
        [w] = scheduler.watched()
        assert w.repo == "o/a"
    finally:
        scheduler.stop()


def test_discover_keeps_repositories_with_a_config() -> None:
    repos = {1: ["o/a", "o/b"], 2: ["p/c"]}
    found = discover(lambda: [1, 2], lambda i: repos[i], lambda repo, inst: repo != "o/b")
    assert found == [("o/a", 1), ("p/c", 2)]


def test_first_ticks_are_staggered_over_the_window() -> None:
    assert [stagger(i, 4, 60.0) for i in range(4)] == [0.0, 15.0, 30.0, 45.0]
    assert stagger(0, 1, 60.0) == 0.0
