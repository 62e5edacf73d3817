"""Scale-out on Redis: reconciles per second across 100 repositories with 1, 2 and 4
`release-train worker` processes on one redis-server (a scaling curve).

Usage: .venv/bin/python bench/bench_queue.py [--quick] [--workers 1,2,4] [--repos 100]
       [--rounds 5] [--latency-ms 0,50]

Each run: a fresh redis-server (Debian's, unpacked by .ci/install-system-deps.sh), N worker
processes built exactly as `release-train worker` builds them (RQ `SimpleWorker` subclass,
the per-repository Lua lock, heartbeats, JSON jobs), whose reconcile is a stand-in that
waits `latency` (GitHub's round trips are where a real reconcile spends its time; the
sandbox would measure itself, not the queue). `rounds` x `repos` jobs are enqueued as
one RQ job per delivery ("job each": every job a reconcile, the queue's raw throughput),
and again as `serve --queue` hands them off ("hand-off": while a job for a repository
waits, later deliveries join it), once every worker is up. The clock runs from the first
enqueue to the end of the last pass; every delivery must be covered by a logged pass.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "transports"))


def _settings() -> Any:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from bot.transports.settings import Settings

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return Settings(
        app_id="1",
        private_key=pem,
        webhook_secret="bench-queue-secret-b5c1e0",
        api_url="http://127.0.0.1:9",
        bot_login="release-train[bot]",
        schedule_interval=0,
        log_level="INFO",
    )


def worker_main(url: str, latency: float) -> int:
    """One worker process (this script re-run with --worker)."""
    from bot.transports.logging import Redactor, configure
    from bot.transports.queue_worker import build_worker

    settings = _settings()
    configure(Redactor(settings.secrets()), level="INFO")

    def stand_in(_req: Any) -> object:
        time.sleep(latency)
        return None

    worker = build_worker(url, settings, reconciler=stand_in)
    worker.work(logging_level="WARNING")
    return 0


def _read(logs: list[Path]) -> tuple[list[tuple[float, float]], set[str], int]:
    """Every reconcile pass the workers logged (start, end), the deliveries they covered,
    and how many jobs were coalesced into a running pass."""
    spans, covered, coalesced = [], set(), 0
    for log in logs:
        for line in log.read_text(errors="replace").splitlines():
            if '"queue reconcile done"' in line:
                doc = json.loads(line)
                end = datetime.fromisoformat(doc["ts"]).timestamp()
                spans.append((end - doc["duration_ms"] / 1000, end))
                covered.update(str(doc.get("delivery") or "").split(","))
            elif '"coalesced into the running reconcile"' in line:
                coalesced += 1
    return spans, covered, coalesced


def one_run(
    binary: str, workers: int, repos: int, rounds: int, latency: float, handoff: bool
) -> dict[str, Any]:
    """`handoff`: deliveries go through serve's hand-off (one waiting job per repository,
    later ones join it); else one RQ job per delivery."""
    from redis_kit import RedisServer
    from rq import Worker

    from bot.transports.queue import (
        JOB_DELIVERY,
        QueueHandOff,
        connect,
        enqueue,
        record_of,
        rq_queue,
    )
    from bot.transports.worker import Trigger

    server = RedisServer(binary).start()
    try:
        queue = rq_queue(connect(server.url))
        hand_off = QueueHandOff(server.url)
        with tempfile.TemporaryDirectory() as tmp:
            logs = [Path(tmp) / f"w{i}.log" for i in range(workers)]
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            argv = [sys.executable, __file__, "--worker", server.url, "--latency", str(latency)]
            procs = [
                subprocess.Popen(argv, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
                for log in logs
            ]
            while Worker.count(queue=queue) < workers:  # all up before the first job
                time.sleep(0.05)
            started = time.time()
            sent = set()
            for n in range(rounds):
                for r in range(repos):
                    trigger = Trigger(f"bench/repo-{r}", 1, f"d-{n}-{r}", "pull_request")
                    sent.add(str(trigger.delivery))
                    if handoff:
                        assert hand_off.put_delivery(trigger, b"{}", "application/json")
                    else:
                        enqueue(queue, JOB_DELIVERY, record_of(trigger, b"{}", "application/json"))
            deadline = time.monotonic() + 600
            while not sent <= _read(logs)[1] and time.monotonic() < deadline:
                time.sleep(0.05)
            for proc in procs:  # measured: no need to wait for a warm shut-down
                proc.kill()
                proc.wait(30)
            spans, covered, coalesced = _read(logs)
        hand_off.close()
    finally:
        server.close()
    elapsed = max(e for _, e in spans) - started
    return {
        "deliveries": len(sent),
        "missed": len(sent - covered),
        "passes": len(spans),
        "coalesced": coalesced,
        "seconds": round(elapsed, 2),
        "passes_per_s": round(len(spans) / elapsed, 1),
        "deliveries_per_s": round(len(sent) / elapsed, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds instead of 5")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-ms", default="0,50", help="stand-in reconcile durations")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--latency", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker_main(args.worker, args.latency)
    from redis_kit import MISSING, redis_binary

    binary = redis_binary()
    if binary is None:
        print(f"skipped: {MISSING}")
        return 0
    rounds = 2 if args.quick else args.rounds
    print(f"{args.repos} repositories x {rounds} deliveries each\n")
    print(
        "| reconcile | enqueued | workers | deliveries | passes | coalesced | seconds |"
        " passes/s | deliveries/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for handoff in (False, True):
        for latency_ms in [int(x) for x in args.latency_ms.split(",")]:
            for workers in [int(x) for x in args.workers.split(",")]:
                row = one_run(binary, workers, args.repos, rounds, latency_ms / 1000, handoff)
                assert row["missed"] == 0, row
                mode = "hand-off" if handoff else "job each"
                print(
                    f"| {latency_ms} ms | {mode} | {workers} | {row['deliveries']} | "
                    f"{row['passes']} | {row['coalesced']} | {row['seconds']} | "
                    f"{row['passes_per_s']} | {row['deliveries_per_s']} |",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
