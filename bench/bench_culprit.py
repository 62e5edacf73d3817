"""Culprit isolation: CI rounds and API requests to name one culprit among N boarded PRs.

Usage: .venv/bin/python bench/bench_culprit.py [--quick] [--http 8,32]

Rounds (the pure core, `bot.core.bisect`, against a simulated CI): for N = 8, 32, 128 and
`parallel` 1 and 4, every position of the culprit is tried; the table gives the most and
the mean of the CI rounds and of the candidate branches built, against the goal
⌈log2 N⌉ + 1 rounds serial.

Requests (the real bot over HTTP against the sandbox and its tree-reading CI,
`bot.sandbox.ci`): for each N in `--http`, a train of N PRs whose PR number N/2 + 1 breaks
CI departs; from the first reconcile that sees the failure to the re-cut without the
culprit, the bot's API requests (reads, writes) are counted from the sandbox's request log.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bot.commands._common import render_table
from bot.config.model import Culprit
from bot.core import bisect as bs

NOW = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)


def simulate(n: int, bad: int, parallel: int) -> tuple[int, int]:
    """Rounds and candidates to name PR `bad` among 1..n."""
    config = Culprit(max_rounds=64, parallel=parallel)
    prs = tuple(range(1, n + 1))
    state = bs.on_rerun(bs.start(prs, config, NOW), bs.FAIL, config, NOW)
    now = NOW
    while not state.ended:
        now += timedelta(minutes=5)
        verdicts = {c.key: bs.FAIL if bad in c.prs else bs.PASS for c in state.pending}
        state = bs.advance(state, verdicts, config, now)
    assert state.culprits == ((bad,),), state
    return state.rounds, len(state.tried)


def rounds_table(sizes: list[int]) -> str:
    rows = []
    for n in sizes:
        for parallel in (1, 4):
            runs = [simulate(n, bad, parallel) for bad in range(1, n + 1)]
            rounds = [r for r, _ in runs]
            built = [c for _, c in runs]
            goal = math.ceil(math.log2(n)) + 1
            rows.append([str(n), str(parallel), str(max(rounds)), f"{statistics.mean(rounds):.2f}",
                         str(max(built)), f"{statistics.mean(built):.2f}", str(goal)])  # fmt: skip
    heads = ["N", "parallel", "rounds max", "rounds mean", "candidates max", "candidates mean",
             "goal ⌈log2 N⌉+1"]  # fmt: skip
    return render_table(heads, rows)


def http_row(n: int, parallel: int) -> list[str]:
    from culprit.culprit_story import board, plain

    from bot.sandbox.runner import run_sandbox

    changes = [plain(i) for i in range(n)]
    changes[n // 2] = {**plain(n // 2), "ci/breaks": "x\n"}
    extra = f"  parallel: {parallel}\n"
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(Path(tmp) / "sb", durable=False) as sb:
        run = board(changes, extra=extra)(sb)
        log = sb.server.request_log
        run.ci.tick()  # CI fails on the train PR
        mark, started = len(log), time.perf_counter()
        state = run.until("found", limit=200)
        seconds = time.perf_counter() - started
        requests = log[mark:]
    writes = sum(1 for r in requests if r[0] != "GET")
    culprit = run.prs[n // 2]
    assert state["culprits"] == [[culprit]], state
    return [str(n), str(parallel), str(state["rounds"]), str(len(requests)), str(writes),
            str(len(requests) - writes), f"{seconds:.1f}"]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 8 only")
    parser.add_argument("--http", default="8,32", help="N for the HTTP runs ('' for none)")
    args = parser.parse_args(argv)
    sizes = [8] if args.quick else [8, 32, 128]
    print("## Rounds (pure core, simulated CI, every culprit position)\n")
    print(rounds_table(sizes))
    wanted = [int(x) for x in args.http.split(",") if x.strip()]
    if args.quick:
        wanted = [n for n in wanted if n <= 8]
    if wanted:
        print("\n## API requests (real bot over HTTP, sandbox CI, culprit at N/2 + 1)\n")
        rows = [http_row(n, p) for n in wanted for p in (1, 4)]
        heads = ["N", "parallel", "rounds", "requests", "writes", "reads", "seconds"]
        print(render_table(heads, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
