"""What a revert costs and how fast a breach becomes one, with the real bot over HTTP.

Usage: .venv/bin/python bench/bench_revert.py [--quick]

1. Requests per revert: a train promoted through 1, 2 or 4 steps (two services, one
   manifest per step, all on the base branch), then `/train rollback`. Counted by the
   sandbox from the revert's first read of the base branch to its last write, split into
   the Git and ledger part (goal of issue 7: at most 8) and the rest (deployment statuses,
   incident, train PR comment, stage table, check run). `warm`: the bot's response cache
   from the rounds before (the App's long-lived process); `cold`: a fresh cache (an Action
   run).
2. Detection latency, end to end: a canary judged by a real Prometheus (from
   `tests/prometheus_server.py`), error ratio jumping at a known minute; the whole
   reconcile runs every minute from the first breaching sample until it writes the revert
   commit. Ticks counted from the first breaching sample. Skipped (and said so) when no
   prometheus binary is found.

Judge time for 50 SLOs is in `bench/bench_slo.py` (not repeated here).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from lifecycle.lifecycle_sandbox import REPO  # noqa: E402
from promotion.promotion_story import Merged, merged_train  # noqa: E402

from bot.adapters.github import ResponseCache  # noqa: E402
from bot.commands._common import render_table  # noqa: E402
from bot.sandbox.runner import run_sandbox  # noqa: E402

M = timedelta(minutes=1)
GOAL = 8
# when each step has been committed and the one before has soaked (from `merged_at`)
STEP_TIMES = {1: (0,), 2: (0, 11), 4: (0, 11, 42, 103)}
LEDGER = "release-train/ledger"
GIT_PATHS = ("/git/", "/branches/", "/tarball/", "/_codeload/")  # the archive: 302 + download
BUMP_TO_BREACH = 15  # minutes the canary runs healthy before its error ratio jumps
TICKS = 14  # the canary's soak (30 min) ends at tick 15


@dataclass(frozen=True)
class Cost:
    steps: int
    cache: str
    git_ledger: int
    git_writes: int
    deployments: int
    rest: int
    total: int
    seconds: float


def _slice(log: list[tuple[str, str, int, float]]) -> list[tuple[str, str, int, float]]:
    first = next(i for i, r in enumerate(log) if r[1].endswith("/branches/main"))
    last = max(i for i, r in enumerate(log) if r[0] != "GET")
    return log[first : last + 1]


def revert_cost(steps: int, cold: bool) -> Cost:
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(Path(tmp), durable=False) as sb:
        m = merged_train(sb)
        for minutes in STEP_TIMES[steps]:
            m.story.reconcile(m.merged_at + minutes * M)
        done = [s for s in m.record()["extra"]["promotion"]["steps"] if s["commit"]]
        assert len(done) == steps, done
        m.kit.comment(REPO, m.train_pr, "rm-dave", "/train rollback")
        mark = m.story.log_mark()
        started = time.perf_counter()
        extra: dict[str, Any] = {"cache": ResponseCache()} if cold else {}
        result = m.story.reconcile(m.merged_at + (STEP_TIMES[steps][-1] + 1) * M, **extra)
        seconds = time.perf_counter() - started
        assert result.problems == () and m.record()["state"] == "rolled_back"
        log = _slice(sb.server.request_log[mark:])
    git = [r for r in log if any(k in r[1] for k in GIT_PATHS)]
    assert len([r for r in git if r[1].endswith(LEDGER)]) == 1  # one ledger commit
    deployments = [r for r in log if "/deployments/" in r[1]]
    return Cost(
        steps,
        "cold" if cold else "warm",
        len(git),
        len([r for r in git if r[0] != "GET"]),
        len(deployments),
        len(log) - len(git) - len(deployments),
        len(log),
        seconds,
    )


def bench_requests(sizes: list[int]) -> None:
    rows = []
    for steps in sizes:
        for cold in (False, True):
            c = revert_cost(steps, cold)
            ok = "met" if c.git_ledger <= GOAL else "MISSED"
            rows.append([
                str(c.steps), c.cache, str(c.git_ledger), f"{ok} (<= {GOAL})",
                str(c.git_writes), str(c.deployments), str(c.rest),
                str(c.total), f"{c.seconds:.2f}",
            ])  # fmt: skip
    print("requests per revert (`/train rollback`, two services, one manifest per step)\n")
    headers = [
        "steps", "cache", "Git + ledger", "goal", "of which writes", "deployment statuses",
        "rest", "total", "wall s",
    ]  # fmt: skip
    print(render_table(headers, rows))
    print()


# -- detection latency ---------------------------------------------------------------------


def _story_start() -> datetime:
    """An hour before the real clock: every tick judges data already in Prometheus."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - 60 * M


def detection(prometheus: Any, errors: float) -> tuple[int | None, int]:
    """(ticks from the first breaching sample to the reconcile that wrote the revert
    commit, or None before the soak ends; Prometheus requests per tick)."""
    from slo.synthetic import between, const, requests

    from bot.adapters.prometheus import PrometheusClient

    with tempfile.TemporaryDirectory() as tmp, run_sandbox(Path(tmp), durable=False) as sb:
        m: Merged = merged_train(sb, canary_slos=True, t0=_story_start())
        canary_at = m.merged_at + 10 * M
        breach = canary_at + BUMP_TO_BREACH * M
        end = datetime.now(UTC).timestamp()
        labels = {"service": "web", "stage": "canary"}
        shape = between(breach.timestamp(), end + 60, errors, 0.0005)
        series = requests(labels, end - 3 * 3600, end, rps=const(10), error_fraction=shape)
        calm = {"service": "api", "stage": "canary"}
        series += requests(calm, end - 3 * 3600, end, rps=const(10), error_fraction=const(5e-4))
        prometheus.push(series)
        with PrometheusClient(prometheus.url, retries=1, sleep=lambda s: None) as client:
            m.story.reconcile(m.merged_at, prometheus=client)
            m.story.reconcile(canary_at, prometheus=client)
            per_tick = 0
            for tick in range(TICKS + 1):
                before = client.requests
                m.story.reconcile(breach + tick * M, prometheus=client)
                if m.record()["state"] == "rolled_back":
                    return tick, per_tick
                per_tick = client.requests - before
    return None, per_tick


def bench_detection(severities: list[float]) -> None:
    from prometheus_server import PrometheusServer, prometheus_bin

    if prometheus_bin() is None:
        print("detection latency: skipped (no prometheus binary; run .ci/install-system-deps.sh)")
        return
    rows = []
    for errors in severities:
        with tempfile.TemporaryDirectory() as tmp, PrometheusServer.start(Path(tmp)) as prom:
            ticks, per_tick = detection(prom, errors)
        shown = str(ticks) if ticks is not None else f"> {TICKS} (soak over)"
        rows.append([f"{errors:.1%}", shown, str(per_tick)])
    print("detection latency, end to end: 1-minute reconcile ticks from the first breaching")
    print(f"sample to the revert commit (canary bumped {BUMP_TO_BREACH} min before the breach,")
    print("SLO 99.9 %, default burn-rate rules, two services judged per tick)\n")
    headers = ["error ratio", "ticks to the revert commit", "Prometheus requests, tick before"]
    print(render_table(headers, rows))
    print()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 and 2 steps, two severities")
    args = parser.parse_args(argv)
    bench_requests([1, 2] if args.quick else [1, 2, 4])
    bench_detection([0.05, 0.2] if args.quick else [0.02, 0.05, 0.2, 1.0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
