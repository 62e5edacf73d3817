"""Scale-out on Redis with real processes: two `serve --queue` replicas and two
`release-train worker`s on one redis-server, reconciling against the sandbox.

Each worker logs "queue reconcile started"/"done" with the repository and every
delivery id its pass covers; the tests read those JSON lines (the workers' own stderr).
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis_kit import MISSING, RedisServer, free_port, redis_binary
from transport_kit import example, signed_headers

from bot.sandbox import appauth
from bot.sandbox.faults import FaultPlan
from bot.sandbox.runner import Sandbox, run_sandbox

pytestmark = pytest.mark.slow
SECRET = "queue-webhook-secret"
FAST = ("acme/q-one", "acme/q-two", "acme/q-three")
SLOW = "acme/q-slow"
INTERVAL = 4  # seconds between the leader's ticks of each repository
CONFIG = """\
version: 1
trains:
  - name: web
    label: "train:next"
    cadence: "{minute} * * * *"
    base: main
services:
  - name: web
    image: ghcr.io/acme/web
stages:
  - name: staging
    soak: 10m
"""


@dataclass
class Proc:
    popen: subprocess.Popen[bytes]
    log: Path

    def lines(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    continue
        return found

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(10)


@dataclass
class Cluster:
    sandbox: Sandbox
    redis: RedisServer
    env: dict[str, str]
    tmp: Path
    ports: list[int] = field(default_factory=list)
    serves: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)

    def start(self, argv: list[str], name: str) -> Proc:
        log = self.tmp / f"{name}-{uuid.uuid4().hex[:6]}.log"
        popen = subprocess.Popen(
            [sys.executable, "-m", "bot", *argv],
            env=self.env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: a SIGKILL takes RQ's scheduler child too
        )
        return Proc(popen, log)

    def add_worker(self) -> Proc:
        argv = ["worker", "--queue", self.redis.url, "--abandoned-after", "3"]
        proc = self.start(argv, "worker")
        self.workers.append(proc)
        return proc

    def post(self, replica: int, repo: str, delivery: str) -> dict[str, Any]:
        payload = example("pull_request", "labeled")
        payload["repository"] = {**payload["repository"], "full_name": repo}
        payload.pop("installation", None)  # the worker looks the installation up
        body = json.dumps(payload).encode()
        headers = signed_headers("pull_request", body, delivery=delivery, secret=SECRET)
        conn = http.client.HTTPConnection("127.0.0.1", self.ports[replica], timeout=10)
        conn.request("POST", "/webhook", body=body, headers=headers)
        response = conn.getresponse()
        assert response.status == 202
        return dict(json.loads(response.read()))

    def done(self) -> list[dict[str, Any]]:
        """Every finished reconcile pass, of every worker there has been."""
        return [
            line
            for w in self.workers
            for line in w.lines()
            if line["msg"] == "queue reconcile done"
        ]

    def wait(self, until: Callable[[], bool], timeout: float = 60) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if until():
                return True
            time.sleep(0.1)
        return False


def _healthy(port: int, proc: Proc) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        if proc.popen.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"serve did not start: {proc.log.read_text()[-2000:]}")
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    binary = redis_binary()
    if binary is None:
        pytest.skip(MISSING)
    tmp = tmp_path_factory.mktemp("queue")
    redis = RedisServer(binary).start()
    # every request about the slow repository takes 400 ms: its reconcile runs for seconds
    plan = FaultPlan(latency_ms=400, latency_endpoints=(f"* /repos/{SLOW}/*",))
    with run_sandbox(tmp / "sb", durable=False, faults=plan) as sb:
        minute = (datetime.now(UTC) + timedelta(minutes=30)).minute
        for repo in (*FAST, SLOW):
            sb.scenario.create_repo(
                repo, {".github/release-train.yml": CONFIG.format(minute=minute)}
            )
        env = {
            **os.environ,
            "APP_ID": str(appauth.app_id(sb.store)),
            "PRIVATE_KEY": appauth.private_key_pem(sb.store),
            "WEBHOOK_SECRET": SECRET,
            "GITHUB_API_URL": sb.base_url,
            "APP_SLUG": "release-train",
            "SCHEDULE_INTERVAL": str(INTERVAL),
            "REDIS_URL": redis.url,
            "LOG_LEVEL": "INFO",
        }
        env.pop("RELEASE_TRAIN_DASHBOARD_REPO", None)
        rig = Cluster(sb, redis, env, tmp)
        try:
            for _ in range(2):
                port = free_port()
                argv = ["serve", "--host", "127.0.0.1", "--port", str(port), "--queue"]
                proc = rig.start(argv, "serve")
                rig.ports.append(port)
                rig.serves.append(proc)
                _healthy(port, proc)
            for _ in range(2):
                rig.add_worker()
            yield rig
        finally:
            for proc in [*rig.serves, *rig.workers]:
                proc.stop()
            redis.close()


def _covered(done: list[dict[str, Any]], delivery: str) -> int:
    return sum(delivery in str(line.get("delivery") or "").split(",") for line in done)


def test_every_delivery_is_reconciled_once_one_repository_at_a_time(cluster: Cluster) -> None:
    sent: dict[str, list[str]] = {repo: [] for repo in FAST}
    for n in range(6):  # a burst per repository, alternating between the two replicas
        for repo in FAST:
            delivery = f"burst-{n}-{uuid.uuid4().hex[:8]}"
            assert cluster.post(n % 2, repo, delivery)["via"] == "redis"
            sent[repo].append(delivery)
    everything = [d for ds in sent.values() for d in ds]
    assert cluster.wait(lambda: all(_covered(cluster.done(), d) for d in everything)), [
        w.log.read_text()[-3000:] for w in cluster.workers
    ]
    time.sleep(1)  # nothing reconciles any of them twice later
    done = cluster.done()
    assert all(_covered(done, d) == 1 for d in everything)
    assert len({line["host"] for line in done}) == 2  # both workers took part
    for repo, deliveries in sent.items():
        passes = [line for line in done if any(d in str(line.get("delivery")) for d in deliveries)]
        assert len(passes) < len(deliveries), f"{repo}: a burst coalesces"
        spans = sorted(_span(line) for line in done if line["repo"] == repo)
        for (_, end), (start, _) in itertools.pairwise(spans):
            assert start >= end - 0.002, f"{repo}: two reconciles overlapped"


def _span(line: dict[str, Any]) -> tuple[float, float]:
    end = datetime.fromisoformat(line["ts"]).timestamp()
    return end - float(line["duration_ms"]) / 1000, end


def _ticks(done: list[dict[str, Any]], repo: str, since: float) -> int:
    return sum(
        str(line.get("trigger")).split(",").count("schedule")
        for line in done
        if line["repo"] == repo and _span(line)[1] >= since
    )


def test_the_scheduler_ticks_once_across_two_replicas(cluster: Cluster) -> None:
    since = time.time()
    time.sleep(4 * INTERVAL)
    done = cluster.done()
    for repo in FAST:
        ticks = _ticks(done, repo, since)
        # one leader: about one tick per interval (two replicas would give twice that)
        assert 2 <= ticks <= 4 * INTERVAL // INTERVAL + 1, (repo, ticks)


def test_a_worker_killed_mid_reconcile_has_its_job_run_again(cluster: Cluster) -> None:
    delivery = f"kill-{uuid.uuid4().hex[:8]}"
    cluster.post(0, SLOW, delivery)

    def started_by() -> Proc | None:
        for worker in cluster.workers:
            for line in worker.lines():
                if line["msg"] == "queue reconcile started" and delivery in str(
                    line.get("delivery")
                ):
                    return worker
        return None

    assert cluster.wait(lambda: started_by() is not None, 30)
    victim = started_by()
    assert victim is not None
    time.sleep(0.5)  # well inside the slow reconcile
    victim.stop(signal.SIGKILL)
    assert not any(
        delivery in str(line.get("delivery"))
        for line in victim.lines()
        if line["msg"] == "queue reconcile done"
    )
    survivors = [w for w in cluster.workers if w is not victim]
    assert cluster.wait(
        lambda: any(
            line["msg"] == "queue reconcile done" and delivery in str(line.get("delivery"))
            for w in survivors
            for line in w.lines()
        ),
        60,
    ), [w.log.read_text()[-3000:] for w in survivors]
    cluster.add_worker()  # back to two for what follows


def test_a_redis_restart_loses_nothing_the_next_tick_does_not_redo(cluster: Cluster) -> None:
    cluster.post(0, SLOW, f"before-{uuid.uuid4().hex[:8]}")  # runs for seconds
    time.sleep(0.5)
    lost = f"lost-{uuid.uuid4().hex[:8]}"
    cluster.post(1, SLOW, lost)  # waits in the dirty list (or the queue) ...
    cluster.redis.restart()  # ... and is gone with everything else in Redis
    restarted = time.time()
    # while it was away nothing was refused; afterwards the leader ticks every repository
    # again and the workers reconcile them, the slow one included
    assert cluster.post(0, FAST[0], f"after-{uuid.uuid4().hex[:8]}")["status"] == "queued"
    assert cluster.wait(
        lambda: all(_ticks(cluster.done(), repo, restarted) >= 1 for repo in (*FAST, SLOW)), 90
    ), [w.log.read_text()[-3000:] for w in cluster.workers]


def test_an_idle_worker_stops_at_once_on_sigterm(cluster: Cluster) -> None:
    from rq import Worker

    from bot.transports.queue import connect, rq_queue

    queue = rq_queue(connect(cluster.redis.url, 2.0))
    worker = cluster.add_worker()

    def idle() -> bool:  # waiting for jobs: RQ's signal handlers are installed by then
        found = [w for w in Worker.all(queue=queue) if w.pid == worker.popen.pid]
        return bool(found) and found[0].get_state() == "idle"

    assert cluster.wait(idle, 30)
    worker.popen.send_signal(signal.SIGTERM)  # the process alone, not its group
    # RQ's own command-channel thread would hold it for up to 60 s; ours polls every 1 s
    assert worker.popen.wait(20) == 0
