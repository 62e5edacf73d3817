"""`release-train metrics`: release KPIs and DORA's four keys, from Git alone."""

from __future__ import annotations

import argparse
from typing import Any

from bot.commands._common import parse_instant

FORMATS = ("table", "json", "csv", "markdown")


def register(subparsers: Any) -> None:
    from bot.insights.source import add_source_args

    parser = subparsers.add_parser(
        "metrics",
        help="release KPIs and DORA metrics computed from the ledger",
        description="Release success rate, roll-forward and roll-back times, stage durations, "
        "canary failure and incident rates, error budget, security gate pass rate, throughput, "
        "artifact consistency, and DORA's four keys. A metric the history cannot support yet "
        "is null, with a note why.",
    )
    add_source_args(parser)
    parser.add_argument("--since", metavar="DATE", help="only trains created since DATE")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.insights.metrics import compute
    from bot.insights.render import render_metrics
    from bot.insights.source import spec_from_args
    from bot.insights.timeline import build_timelines

    since = parse_instant(args.since, what="--since") if args.since else None
    history = spec_from_args(args).load()
    metrics = compute(build_timelines(history), since)
    print(render_metrics(metrics, "json" if args.json else args.format), end="")
    return 0
