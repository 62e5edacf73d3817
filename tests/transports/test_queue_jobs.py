"""The queue's jobs in a real RQ worker (in this process, burst mode) on a real Redis:
what a reconcile's failure does to its job — retried, not retried, or put off."""

from __future__ import annotations

import time
import uuid
from typing import Any

from redis_kit import RedisServer
from transport_kit import Recorder

from bot.adapters.ratelimit import RateLimited
from bot.errors import ConfigError, ExternalError
from bot.transports.app import ReconcileRequest
from bot.transports.queue import QueueHandOff, connect, rq_queue
from bot.transports.queue_lock import RepoLocks
from bot.transports.queue_worker import build_worker
from bot.transports.settings import Settings
from bot.transports.worker import Trigger


class Failing(Recorder):
    """Records each call, then raises `errors` in turn (nothing once they run out)."""

    def __init__(self, *errors: Exception) -> None:
        super().__init__()
        self.errors = list(errors)

    def __call__(self, req: ReconcileRequest) -> object:
        super().__call__(req)
        if self.errors:
            raise self.errors.pop(0)
        return None


def _deliver_and_work(
    settings: Settings, redis_server: RedisServer, reconciler: Recorder
) -> tuple[str, Any]:
    queue = rq_queue(connect(redis_server.url, 2.0))
    queue.empty()
    repo = f"acme/{uuid.uuid4().hex[:8]}"
    hand_off = QueueHandOff(redis_server.url)
    assert hand_off.put_delivery(Trigger(repo, 1, f"d-{repo}", "pull_request"), b"{}", "x")
    hand_off.close()
    build_worker(redis_server.url, settings, reconciler=reconciler).work(burst=True)
    return repo, queue


def test_a_transient_failure_is_retried_at_once(
    settings: Settings, redis_server: RedisServer
) -> None:
    reconciler = Failing(RuntimeError("GitHub had a moment"))
    repo, queue = _deliver_and_work(settings, redis_server, reconciler)
    assert [c.repo for c in reconciler.calls] == [repo, repo]  # failed, then the retry
    assert [c.attempt for c in reconciler.calls] == [0, 1]
    assert all(c.delivery == f"d-{repo}" for c in reconciler.calls)
    assert queue.failed_job_registry.count == 0
    locks = RepoLocks(connect(redis_server.url, 2.0))
    assert locks.acquire_or_mark(repo, "after", b"")  # the lock was released


def test_a_permanent_failure_is_not_retried(settings: Settings, redis_server: RedisServer) -> None:
    for error in (ConfigError("no such key: trains"), ExternalError("GitHub", "gone", status=404)):
        reconciler = Failing(error)
        repo, queue = _deliver_and_work(settings, redis_server, reconciler)
        assert [c.repo for c in reconciler.calls] == [repo]
        assert queue.failed_job_registry.count == 0  # ended, logged, not a failed job
        assert RepoLocks(connect(redis_server.url, 2.0)).acquire_or_mark(repo, "after", b"")


def test_a_rate_limited_reconcile_comes_back_when_the_limit_resets(
    settings: Settings, redis_server: RedisServer
) -> None:
    reconciler = Failing(RateLimited("primary", time.time() + 90, 90))
    repo, queue = _deliver_and_work(settings, redis_server, reconciler)
    assert len(reconciler.calls) == 1
    scheduled = queue.scheduled_job_registry
    jobs = [queue.fetch_job(i) for i in scheduled.get_job_ids()]
    [later] = [j for j in jobs if j is not None and j.args[0]["repo"] == repo]
    due = scheduled.get_scheduled_time(later).timestamp()
    assert 80 < due - time.time() <= 91
    scheduled.remove(later, delete_job=True)
