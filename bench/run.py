"""Run every benchmark in bench/ and print their tables, then a summary table.

Usage: .venv/bin/python bench/run.py [--quick] [NAME ...]

Each `bench/bench_*.py` is a standalone script that prints its own table; `--quick` is passed
through so each can shrink its sizes for a smoke run. Figures go in docs/benchmarks.md with the
command that made them.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    parser.add_argument("names", nargs="*", help="only these (e.g. sandbox updaters)")
    args = parser.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.names]
    print(f"# machine: {platform.platform()}, python {platform.python_version()}, {_cpus()} cpus\n")
    summary = []
    for script in scripts:
        print(f"## {script.stem}\n", flush=True)
        quick = args.quick and "--quick" in script.read_text()
        cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
        started = time.perf_counter()
        rc = subprocess.call(cmd, cwd=HERE.parent)
        summary.append((script.stem, rc, time.perf_counter() - started))
        print(flush=True)
    print("| benchmark | exit | seconds |\n|---|---|---|")
    for name, rc, secs in summary:
        print(f"| {name} | {rc} | {secs:.1f} |")
    return 1 if any(rc for _, rc, _ in summary) else 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


if __name__ == "__main__":
    raise SystemExit(main())
