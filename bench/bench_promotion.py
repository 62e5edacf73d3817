"""API requests and wall time for one promotion stage commit, against the sandbox over HTTP.

Usage: .venv/bin/python bench/bench_promotion.py [--quick] [--sizes 1,10,50,200]

For each N: a repository built with the git CLI (N services, each image in three files of
the stage: a kustomization, Helm values and a Deployment, plus 50 unrelated files), pushed
into the sandbox; then the bot's own `write_edits` bumps every service in ONE commit (cold
cache), and again to another tag with the same cache on the unmoved branch (warm).
Requests are counted by the sandbox (server side; the archive's 302 and its download are
two). Goal (issue 6): a constant number of requests, at most 6, whatever the number of
files. Write pacing is off so wall time shows the bot.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from promotion.fleet import Count, create, fleet, load, stage_commit  # noqa: E402

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
    print(f"\nconstant and <= 6: {'yes' if constant else 'NO'} (cold: {cold})")
    return 0 if constant else 1


if __name__ == "__main__":
    raise SystemExit(main())
