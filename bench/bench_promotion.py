"""API requests and wall time for one promotion stage commit, against the sandbox over HTTP.

Usage: .venv/bin/python bench/bench_promotion.py [--quick] [--sizes 1,10,50,200]

For each N: a repository built with the git CLI (N services, each image in three files of
the stage: a kustomization, Helm values and a Deployment, plus 50 unrelated files), pushed
into the sandbox; then the bot's own `write_edits` bumps every service in ONE commit (cold
cache), and again to another tag with the same cache on the unmoved branch (warm).
Requests are counted by the sandbox (server side; the archive's 302 and its download are
two). Goal (issue 6): a constant number of requests, at most 6, whatever the number of
files. Write pacing is off so wall time shows the bot.

Then the whole reconcile loop for a train of two services through four steps
(tests/promotion/promotion_story.py): the reconcile that merges and commits the first
stage, an idle soak tick, a stage passing with the next stage's commit, and the last pass.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from promotion.fleet import Count, create, fleet, load, stage_commit  # noqa: E402
from promotion.promotion_story import merged_train  # noqa: E402

from bot.adapters.github import ResponseCache  # noqa: E402
from bot.commands._common import render_table  # noqa: E402
from bot.sandbox.runner import run_sandbox  # noqa: E402

HEADERS = ["services", "files", "cache", "requests", "writes", "goal", "wall s"]


def _row(count: Count, cache: str) -> list[str]:
    goal = "<= 6" if cache == "cold" else ""
    ok = "" if count.requests <= 6 else " MISSED"
    return [
        str(count.services), str(count.files), cache, str(count.requests), str(count.writes),
        goal + (ok if goal else ""), f"{count.seconds:.2f}",
    ]  # fmt: skip


def measure(services: int) -> list[list[str]]:
    text, files = fleet(services)
    repo = f"acme/fleet{services}"
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(Path(tmp), durable=False) as sb:
        create(sb, repo, files)
        config = load(text)
        cache = ResponseCache()
        cold = stage_commit(sb, repo, config, "2.0.0", cache)
        warm = stage_commit(sb, repo, config, "3.0.0", cache)
    return [_row(cold, "cold"), _row(warm, "warm")]


LOOP_HEADERS = ["reconcile", "requests", "writes", "304", "wall s"]


def measure_loop() -> list[list[str]]:
    """Request counts of whole reconciles while a train promotes (soaks 10m, 30m, 1h, 1h)."""
    import time
    from datetime import timedelta

    minute = timedelta(minutes=1)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(Path(tmp), durable=False) as sb:
        m = merged_train(sb)
        steps = [
            ("merge + staging commit", 0),
            ("idle soak tick", 5),
            ("staging passes + canary commit", 10),
            ("idle soak tick", 15),
            ("canary passes + production-eu commit", 40),
            ("production-eu passes + production-us commit", 100),
            ("production-us passes + completed", 160),
        ]
        for name, minutes in steps:
            mark = len(sb.server.request_log)
            started = time.perf_counter()
            result = m.story.reconcile(m.merged_at + minutes * minute)
            seconds = time.perf_counter() - started
            assert not result.problems, result.problems
            log = sb.server.request_log[mark:]
            writes = sum(1 for r in log if r[0] != "GET")
            not_modified = sum(1 for r in log if r[2] == 304)
            rows.append([name, str(len(log)), str(writes), str(not_modified), f"{seconds:.2f}"])
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1,10,50")
    parser.add_argument("--sizes", default="", help="comma-separated service counts")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s] or (
        [1, 10, 50] if args.quick else [1, 10, 50, 200]
    )
    rows = [row for n in sizes for row in measure(n)]
    print(render_table(HEADERS, rows))
    cold = [int(r[3]) for r in rows if r[2] == "cold"]
    constant = len(set(cold)) == 1 and cold[0] <= 6
    print(f"\nconstant and <= 6: {'yes' if constant else 'NO'} (cold: {cold})\n")
    print(render_table(LOOP_HEADERS, measure_loop()))
    return 0 if constant else 1


if __name__ == "__main__":
    raise SystemExit(main())
