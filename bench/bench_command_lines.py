"""Reading `/train` commands from hostile comment bodies (issue 27, item 6).

Usage: .venv/bin/python bench/bench_command_lines.py [--quick]

markdown-it's inline link rules are quadratic on text such as ``![![![...``. The reader
parses a comment's blocks once and runs the inline parse only on short top-level paragraphs
that mention `/train`, until the commands to run are found. Each body below is a command
followed by hostile text, cut at GitHub's limit on a comment (65,536 characters); each
timing is the slowest of `--repeat` uncached reads (the result cache is cleared each time).
Target: under 1.0 s per comment (was a timed test in tests/core/test_command_lines.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from bot.core.chatops import MAX_PER_COMMENT  # noqa: E402
from bot.core.command_lines import MAX_BODY, scan  # noqa: E402

LIMIT_SECONDS = 1.0
BODIES = {
    "![ x 30,000": "![" * 30000,
    "[a]( x 15,000": "[a](" * 15000,
    "_a x 30,000": "_a" * 30000,
    "33 command paragraphs of ![ x 900": ("/train x " + "![" * 900 + "\n\n") * 33,
}


def _slowest(body: str, repeat: int) -> float:
    worst = 0.0
    for _ in range(repeat):
        scan.cache_clear()
        started = time.perf_counter()
        found = scan(body, MAX_PER_COMMENT)
        worst = max(worst, time.perf_counter() - started)
        assert found.lines[0] == "/train status", found
    return worst


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one read per body instead of 5")
    parser.add_argument("--repeat", type=int, default=None, help="reads per body")
    args = parser.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 5)
    print("| body after `/train status` | characters | slowest s | under 1.0 s |")
    print("|---|---|---|---|")
    slow = 0
    for name, hostile in BODIES.items():
        body = ("/train status\n\n" + hostile)[:MAX_BODY]
        seconds = _slowest(body, repeat)
        slow += seconds >= LIMIT_SECONDS
        ok = "yes" if seconds < LIMIT_SECONDS else "NO"
        print(f"| {name} | {len(body):,} | {seconds:.3f} | {ok} |")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
