"""The queue's Redis parts against a real Redis: the per-repository lock and dirty list,
the leader lock, the serve-side hand-off (JSON jobs, an allow-list of functions) and
`serve` acking from memory when Redis is unreachable."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from redis_kit import free_port
from transport_kit import Recorder, example, signed_headers

from bot.commands.serve import attach_queue
from bot.transports.app import create_app, runtime
from bot.transports.queue import ALLOWED, JOB_DELIVERY, QueueHandOff, connect, rq_queue
from bot.transports.queue_jobs import merge
from bot.transports.queue_lock import LeaderLock, RepoLocks
from bot.transports.settings import Settings
from bot.transports.worker import Trigger


def client(url: str) -> Any:
    return connect(url, 2.0)


def test_a_held_repository_collects_triggers_and_the_holder_takes_them(redis_url: str) -> None:
    locks = RepoLocks(client(redis_url), ttl=5)
    repo = f"acme/{uuid.uuid4().hex[:8]}"
    assert locks.acquire_or_mark(repo, "one", b"first")
    assert locks.take(repo) == []
    assert not locks.acquire_or_mark(repo, "two", b"second")  # held: marked, not taken
    assert not locks.acquire_or_mark(repo, "three", b"third")
    assert locks.release_or_take(repo, "two") is None  # not the holder
    assert locks.release_or_take(repo, "one") == [b"second", b"third"]  # run again, still held
    assert not locks.acquire_or_mark(repo, "four", b"fourth")
    assert locks.release_or_take(repo, "one") == [b"fourth"]
    assert locks.release_or_take(repo, "one") == []  # nothing arrived: released
    assert locks.acquire_or_mark(repo, "five", b"x")  # free again


def test_a_dead_holders_triggers_go_to_the_next_holder(redis_url: str) -> None:
    locks = RepoLocks(client(redis_url), ttl=0.3)
    repo = f"acme/{uuid.uuid4().hex[:8]}"
    assert locks.acquire_or_mark(repo, "one", b"")
    assert not locks.acquire_or_mark(repo, "two", b"waiting")
    assert locks.release_or_take(repo, "one") == [b"waiting"]  # its pass now covers them
    assert not locks.acquire_or_mark(repo, "late", b"late")  # arrives while it runs
    time.sleep(0.4)  # ... and it dies: the lock expires
    assert locks.acquire_or_mark(repo, "next", b"")
    assert locks.take(repo) == [b"waiting", b"late"]  # the dead pass's, and what waited
    assert locks.release_or_take(repo, "next") == []


def test_one_job_waits_per_repository_the_rest_join_it(redis_url: str) -> None:
    locks = RepoLocks(client(redis_url))
    repo = f"acme/{uuid.uuid4().hex[:8]}"
    assert locks.queue_or_mark(repo, b"d1")  # enqueue a job
    assert not locks.queue_or_mark(repo, b"d2")  # it waits: d2 joins it
    assert not locks.queue_or_mark(repo, b"d3")
    locks.started(repo)  # the job starts ...
    assert locks.acquire_or_mark(repo, "job", b"d1")
    assert locks.take(repo) == [b"d2", b"d3"]  # ... and covers them
    assert locks.queue_or_mark(repo, b"d4")  # a new arrival needs a job of its own


def test_an_expired_lock_is_not_the_old_holders(redis_url: str) -> None:
    locks = RepoLocks(client(redis_url), ttl=0.2)
    repo = f"acme/{uuid.uuid4().hex[:8]}"
    assert locks.acquire_or_mark(repo, "dead", b"")
    assert locks.renew(repo, "dead")
    time.sleep(0.3)
    assert not locks.renew(repo, "dead")
    assert locks.acquire_or_mark(repo, "next", b"")  # the next job takes it
    assert locks.release_or_take(repo, "dead") is None
    assert locks.release_or_take(repo, "next") == []


def test_one_leader_across_replicas_and_a_successor_when_it_goes(redis_url: str) -> None:
    name = f"sched-{uuid.uuid4().hex[:8]}"
    one = LeaderLock(client(redis_url), name, ttl=0.6)
    two = LeaderLock(client(redis_url), name, ttl=0.6)
    one.start()
    two.start()
    try:
        leaders = []
        for _ in range(10):  # over several renewals, exactly one leads at every look
            leaders.append((one.is_leader(), two.is_leader()))
            time.sleep(0.1)
        assert all(a != b for a, b in leaders), leaders
        first, second = (one, two) if one.is_leader() else (two, one)
        first.stop()  # releases: the other takes over at its next step
        deadline = time.monotonic() + 3
        while not second.is_leader() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.is_leader() and not first.is_leader()
    finally:
        one.stop()
        two.stop()


def test_no_one_leads_without_redis() -> None:
    lock = LeaderLock(client(f"redis://127.0.0.1:{free_port()}/0"), ttl=0.6)
    assert lock.step() is False


def test_a_delivery_is_enqueued_as_json_naming_an_allowed_function(redis_url: str) -> None:
    hand_off = QueueHandOff(redis_url)
    queue = rq_queue(client(redis_url))
    queue.empty()
    body = b'{"action": "labeled"}'
    repo = f"acme/{uuid.uuid4().hex[:8]}"
    assert hand_off.put_delivery(Trigger(repo, 7, "d-1", "pull_request"), body, "x/y")
    assert hand_off.put_delivery(Trigger(repo, 7, "d-2", "pull_request"), body, "x/y")
    [job] = queue.get_jobs()  # the second joined the first
    assert job.func_name == JOB_DELIVERY and job.func_name in ALLOWED
    raw = client(redis_url).hget(job.key, "data")
    assert raw is not None and b"pickle" not in raw
    [record] = job.args
    assert record["repo"] == repo and record["installation_id"] == 7
    assert record["delivery"] == "d-1" and record["event"] == "pull_request"
    assert record["mimetype"] == "x/y"
    assert json.loads(json.dumps(record)) == record  # plain JSON values
    queue.empty()
    hand_off.close()


def test_only_the_leader_enqueues_ticks(redis_url: str) -> None:
    queue = rq_queue(client(redis_url))
    queue.empty()
    one, two = QueueHandOff(redis_url), QueueHandOff(redis_url)
    one.start()
    two.start()
    try:
        for hand_off in (one, two):  # two repositories: each would get a job if it ticked
            repo = f"acme/{uuid.uuid4().hex[:8]}"
            hand_off.submit_tick(Trigger(repo, None, None, "schedule"))
        assert len(queue.get_jobs()) == 1
    finally:
        one.close()
        two.close()
        queue.empty()


def test_merged_triggers_keep_every_event_and_the_newest_installation() -> None:
    records = [
        {"repo": "acme/a", "installation_id": None, "delivery": "d1", "event": "push"},
        {"repo": "acme/a", "installation_id": 5, "delivery": "d2", "event": "pull_request"},
        {"repo": "acme/a", "installation_id": None, "delivery": None, "event": "schedule"},
    ]
    job = merge(records, app_id=1)
    assert job.repo == "acme/a" and job.installation_id == 5
    assert job.deliveries == ("d1", "d2") and job.delivery == "d2"
    assert job.events == ("push", "pull_request", "schedule")


def _queued_app(settings: Settings, recorder: Recorder, url: str) -> Flask:
    app = create_app(settings, reconciler=recorder, debounce=0.05, start=False)
    attach_queue(app, url)
    runtime(app).start()
    return app


def test_redis_unreachable_serve_acks_and_reconciles_in_memory(
    settings: Settings, recorder: Recorder
) -> None:
    app = _queued_app(settings, recorder, f"redis://127.0.0.1:{free_port()}/0")
    try:
        body = json.dumps(example("pull_request", "labeled")).encode()
        started = time.monotonic()
        answers = []
        for n in range(3):
            headers = signed_headers("pull_request", body, delivery=f"away-{n}")
            answers.append(app.test_client().post("/webhook", data=body, headers=headers))
        assert time.monotonic() - started < 2  # one failed try, then memory alone
        assert [a.status_code for a in answers] == [202, 202, 202]
        assert {a.get_json()["via"] for a in answers} == {"memory"}
        assert runtime(app).worker.wait_idle(5)
        assert recorder.calls, "reconciled in this process"
        assert {c.delivery for c in recorder.calls} <= {"away-0", "away-1", "away-2"}
    finally:
        runtime(app).close()


def test_with_redis_serve_enqueues_and_does_not_reconcile_itself(
    settings: Settings, recorder: Recorder, redis_url: str
) -> None:
    queue = rq_queue(client(redis_url))
    queue.empty()
    app = _queued_app(settings, recorder, redis_url)
    try:
        body = json.dumps(example("pull_request", "labeled")).encode()
        headers = signed_headers("pull_request", body, delivery=f"q-{uuid.uuid4()}")
        answer = app.test_client().post("/webhook", data=body, headers=headers)
        assert answer.status_code == 202 and answer.get_json()["via"] == "redis"
        assert len(queue.get_jobs()) == 1
        time.sleep(0.2)
        assert recorder.calls == []
    finally:
        runtime(app).close()
        queue.empty()


@pytest.mark.parametrize("argv", [["--queue", "http://x"], ["--queue"]])
def test_serve_queue_needs_a_redis_url(
    argv: list[str], private_key_pem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli import main

    for key, value in {
        "APP_ID": "1",
        "PRIVATE_KEY": private_key_pem,
        "WEBHOOK_SECRET": "s",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["serve", "--port", str(free_port()), *argv]) == 2
    worker = ["--queue", argv[1]] if argv[1:] else []  # not a Redis URL; none named
    assert main(["worker", *worker]) == 2


def test_a_train_due_sooner_gets_one_tick_for_then(redis_url: str) -> None:
    from rq.registry import ScheduledJobRegistry

    from bot.transports.queue_jobs import DueTicks

    queue = rq_queue(client(redis_url))
    ticks = DueTicks(queue, interval=300)
    repo = f"acme/{uuid.uuid4().hex[:8]}.site"
    ticks.report(repo, 7, None)  # nothing due: the interval tick will do
    ticks.report(repo, 7, 900)  # due after the next interval tick anyway
    registry = ScheduledJobRegistry(queue=queue)
    before = registry.get_job_ids()
    ticks.report(repo, 7, 30)
    ticks.report(repo, 7, 20)  # one per repository: the later report moves it
    added = [j for j in registry.get_job_ids() if j not in before]
    assert len(added) == 1
    job = queue.fetch_job(added[0])
    assert job is not None and job.args[0]["repo"] == repo and job.args[0]["event"] == "schedule"
    registry.remove(job, delete_job=True)


def test_a_worker_runs_no_function_but_its_own(
    settings: Settings, redis_url: str, tmp_path: Path
) -> None:
    from bot.transports.queue_worker import ReconcileJob, build_worker

    queue = rq_queue(client(redis_url))
    queue.empty()
    target = tmp_path / "made-by-a-foreign-job"
    foreign = queue.enqueue("os.makedirs", str(target))  # what a Redis writer might add
    worker = build_worker(redis_url, settings, reconciler=Recorder())
    worker.work(burst=True)
    assert not target.exists()
    assert foreign.get_status(refresh=True) == "failed"
    job = ReconcileJob.fetch(foreign.id, connection=client(redis_url))
    job._failure_callback_name = "os.abort"  # a callback RQ would import and call
    job._success_callback_name = "os.abort"
    assert job.failure_callback is None and job.success_callback is None


def test_a_redelivery_to_another_queued_replica_is_a_duplicate(
    settings: Settings, recorder: Recorder, redis_url: str
) -> None:
    one = _queued_app(settings, recorder, redis_url)
    two = _queued_app(settings, recorder, redis_url)
    try:
        body = json.dumps(example("pull_request", "labeled")).encode()
        delivery = f"again-{uuid.uuid4()}"
        answers = []
        for app in (one, two, one):
            headers = signed_headers("pull_request", body, delivery=delivery)
            answers.append(app.test_client().post("/webhook", data=body, headers=headers))
        assert [a.get_json()["status"] for a in answers] == ["queued", "duplicate", "duplicate"]
        claimed = client(redis_url).ttl("release-train:delivery:" + delivery)
        assert 0 < claimed <= 24 * 3600
    finally:
        runtime(one).close()
        runtime(two).close()
