"""`release-train demo`: two release trains against a local GitHub, narrated."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.commands._common import add_json_flag, print_json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="play two release trains against an in-process sandbox, narrated",
        description="Start the sandbox (a local GitHub) with the demo repository acme/shop "
        "and its users, a built-in metrics source answering the Prometheus query API with "
        "simulated SLIs, and the bot; then play two trains on a virtual clock: train 1 "
        "boards three PRs (one misses for a conflict), departs, passes its gates, is "
        "approved, merges and promotes; train 2's canary breaches. One line per event, then "
        "the audit table from the ledger. Exits 1 when the bot does not behave as expected; "
        "with --use-prometheus, 4 when that Prometheus does not answer and 1 when it holds "
        "none of the demo's traffic (--print-metrics gives it).",
    )
    add_json_flag(parser)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the sandbox (and dashboard) running afterwards, until Ctrl-C",
    )
    parser.add_argument(
        "--use-prometheus",
        metavar="URL",
        help="judge SLOs against this Prometheus instead of the built-in metrics source",
    )
    parser.add_argument(
        "--print-metrics",
        action="store_true",
        help="print the demo's simulated traffic as OpenMetrics text (to backfill a real "
        "Prometheus with promtool for --use-prometheus) and exit",
    )
    parser.add_argument(
        "--seed", type=int, default=0, metavar="N", help="seed for ids and simulated traffic"
    )
    parser.add_argument(
        "--story",
        choices=("default", "culprit"),
        default="default",
        help="culprit: one of train 1's PRs breaks CI; bisection finds it, the train "
        "departs without it and completes, and it boards the next train",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.demo.run import run_demo
    from bot.demo.story import Options

    if args.print_metrics:
        from bot.demo.preflight import demo_history, openmetrics

        sys.stdout.write(openmetrics(demo_history(args.seed)))
        return 0
    options = Options(seed=args.seed, prometheus_url=args.use_prometheus, story=args.story)
    stream = None if args.json else sys.stdout
    report = run_demo(options, stream, on_keep=_keep if args.keep else None)
    if args.json:
        print_json(report.as_json())
    else:
        print()
        print(report.audit, end="")
        print()
        print(f"{report.requests} sandbox API requests; {report.metrics_requests} metrics queries")
        if report.ok:
            print("demo: every phase that exists behaved as expected")
    if not report.ok:
        print(f"release-train demo: the bot misbehaved: {report.failure}", file=sys.stderr)
        return 1
    return 0


def _keep(world: Any, metrics_url: str) -> None:
    """Serve until Ctrl-C: the sandbox (still running) and, if offered, the dashboard."""
    import signal
    import threading

    from bot.demo.keep import serve_dashboard

    stop = threading.Event()
    with serve_dashboard(world) as dashboard:
        print(f"\nsandbox:   {world.sandbox.base_url}  (repository {world.repo})", file=sys.stderr)
        print(f"token:     {world.sandbox.token('rm-dave')}  (rm-dave)", file=sys.stderr)
        print(f"metrics:   {metrics_url}", file=sys.stderr)
        if dashboard:
            print(f"dashboard: {dashboard}", file=sys.stderr)
        print("Ctrl-C to stop.", file=sys.stderr, flush=True)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        stop.wait()
