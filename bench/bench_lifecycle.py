"""API requests per departure and per no-op reconcile, against the sandbox over HTTP.

Usage: .venv/bin/python bench/bench_lifecycle.py [--quick] [--sizes 10,50,200]

For each N it opens N approved, green, labelled PRs, then runs the real reconcile loop:
board (comments each PR once), a no-op, the departure (release branch, N merges, train PR),
and a no-op after departure. Requests are counted by the sandbox (server side); "304" is
how many of them were answered Not Modified; "pages" how many were second or later pages of
a listing or search. The departure reconcile is also split in two: the departure itself
(release branch, merges, train PR, up to its ledger commit) and the gates' first look at the
new train PR in the same reconcile. Goals (issue 4): departure <= N + 15 plus pagination
pages; a no-op <= 5. Write pacing (80/min) is switched off here so wall times show the bot,
not the pacer; the last column says how long pacing would add.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.adapters.github import GitHubClient, ResponseCache
from bot.commands._common import render_table
from bot.sandbox.runner import run_sandbox
from bot.shell.reconcile import reconcile

REPO = "acme/bench"
CONFIG = """\
version: 1
trains:
  - name: web
    cadence: "{minute} * * * *"
    boarding:
      require_approval: true
      require_checks: true
gates:
  ci:
    required: [ci]
"""


def _setup(sb: Any, n: int, t0: datetime) -> None:
    kit = sb.scenario
    minute = (t0 + timedelta(minutes=2)).minute
    kit.create_repo(REPO, {".github/release-train.yml": CONFIG.format(minute=minute)})
    kit.install_bot(REPO)
    for i in range(n):
        number = kit.open_pr(REPO, "dev-alice", f"f{i}", {f"src/f{i}.txt": f"{i}\n"}, title=f"F{i}")
        kit.review(REPO, number, "rev-carol", "APPROVE")
        head = kit.call("GET", f"/repos/{REPO}/pulls/{number}", as_user="rm-dave")["head"]["sha"]
        kit.set_check(REPO, head, "ci", "completed", "success")
        kit.label(REPO, number, "train:next", actor="dev-alice")


LEDGER_REF = "/git/refs/heads/release-train/ledger"


class _Counting(GitHubClient):
    """The real client, remembering each URL it asked for (a later page's URL, from the
    Link header, carries ``page=``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.urls: list[str] = []

    def _once(self, method: str, url: str, **kwargs: Any) -> Any:
        self.urls.append(url)
        return super()._once(method, url, **kwargs)


def _row(
    n: int, name: str, log: list[Any], urls: list[str], goal: str, elapsed: float | None
) -> list[str]:
    writes = sum(1 for r in log if r[0] != "GET")
    not_modified = sum(1 for r in log if r[2] == 304)
    paced = max(0.0, (writes - 80) / 80 * 60)
    seconds = "" if elapsed is None else f"{elapsed:.2f}"
    pages = sum("page=" in u for u in urls)
    return [
        str(n), name, str(len(log)), str(not_modified), str(pages), str(writes), goal, seconds,
        f"{paced:.0f}",
    ]  # fmt: skip


def _step(sb: Any, cache: ResponseCache, now: datetime) -> tuple[list[Any], list[str], float]:
    mark = len(sb.server.request_log)
    started = time.perf_counter()
    client = _Counting(
        REPO,
        sb.bot_token(),
        api_url=sb.base_url,
        cache=cache,
        bot_login="release-train[bot]",
        writes_per_minute=10**9,
    )
    with client:
        result = reconcile(REPO, now, client=client)
    elapsed = time.perf_counter() - started
    assert not result.problems, result.problems
    return list(sb.server.request_log[mark:]), client.urls, elapsed


def measure(n: int) -> list[list[str]]:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, run_sandbox(Path(tmp), durable=False) as sb:
        _setup(sb, n, t0)
        cache = ResponseCache()
        steps = [
            ("board", t0),
            ("no-op", t0 + timedelta(seconds=5)),
            ("depart", t0 + timedelta(minutes=2)),
            ("no-op", t0 + timedelta(minutes=2, seconds=5)),
        ]
        for name, at in steps:
            log, urls, elapsed = _step(sb, cache, at)
            goal = {"depart": f"<= {n + 15} + pages", "no-op": "<= 5 + pages"}.get(name, "")
            rows.append(_row(n, name, log, urls, goal, elapsed))
            if name == "depart":
                cut = next(
                    i for i, r in enumerate(log) if r[0] == "PATCH" and r[1].endswith(LEDGER_REF)
                )
                head, tail = (log[: cut + 1], urls[: cut + 1]), (log[cut + 1 :], urls[cut + 1 :])
                rows.append(_row(n, "  departure", *head, f"<= {n + 15} + pages", None))
                rows.append(_row(n, "  gates", *tail, "", None))
    return rows


def config_cost(repeat: int = 5) -> str:
    """Parsing + validating the demo's config: first in the process, again (another repo,
    so no cache hit), and a cache hit (same blob sha)."""
    from bot.config.repo import ConfigCache, load_repo_config

    text = (Path(__file__).resolve().parent.parent / "bot/sandbox/demo/shop/.github/"
            "release-train.yml").read_text(encoding="utf-8")  # fmt: skip

    class Reader:
        def read_file(self, path: str, ref: str | None = None) -> str | None:
            return text if path.endswith("release-train.yml") else None

    cache = ConfigCache()
    started = time.perf_counter()
    load_repo_config(Reader(), repo="first", cache=cache)
    first = time.perf_counter() - started
    started = time.perf_counter()
    for i in range(repeat):
        load_repo_config(Reader(), repo=f"other-{i}", cache=cache)
    again = (time.perf_counter() - started) / repeat
    started = time.perf_counter()
    for _ in range(100):
        load_repo_config(Reader(), repo="first", cache=cache)
    hit = (time.perf_counter() - started) / 100
    return (
        f"config parse+validate: first {first * 1000:.0f} ms, again {again * 1000:.0f} ms, "
        f"cache hit {hit * 1e6:.0f} us"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 5, 20")
    parser.add_argument("--sizes", default="10,50,200", help="comma-separated N values")
    args = parser.parse_args(argv)
    sizes = [5, 20] if args.quick else [int(s) for s in args.sizes.split(",")]
    headers = [
        "N", "reconcile", "requests", "304", "pages", "writes", "goal", "seconds", "pacing +s"
    ]  # fmt: skip
    rows: list[list[str]] = []
    for n in sizes:
        rows += measure(n)
    print(render_table(headers, rows))
    print(config_cost())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
