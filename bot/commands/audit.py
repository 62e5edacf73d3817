"""`release-train audit [verify]`: every train's timeline from Git alone, or check it holds."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from bot.commands._common import parse_instant

FORMATS = ("table", "json", "csv", "markdown")


def register(subparsers: Any) -> None:
    from bot.insights.source import add_source_args

    parser = subparsers.add_parser(
        "audit",
        help="every train's timeline from the ledger and the base branch; `audit verify` checks it",
        description="Rebuild every train's timeline (departure, boarded and missed PRs, gates, "
        "approvals, merge, stage bumps, verdicts, reverts, holds, aborts; actor and time of "
        "each) from the ledger branch and the trailers on the base branch. `audit verify` "
        "checks the history holds together and exits 1 on any finding.",
    )
    parser.add_argument("action", nargs="?", choices=("verify",),
                        help="verify: check the ledger and the base branch agree")  # fmt: skip
    add_source_args(parser)
    parser.add_argument("--train", help="only this train id")
    parser.add_argument("--since", metavar="DATE", help="only trains with events since DATE")
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format")
    parser.add_argument("--json", action="store_true", help="same as --format json")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from bot.insights.render import render_audit, render_findings
    from bot.insights.source import spec_from_args
    from bot.insights.timeline import build_timelines
    from bot.insights.verify import verify

    fmt = "json" if args.json else args.format
    since = parse_instant(args.since, what="--since") if args.since else None
    history = spec_from_args(args).load()
    if args.action == "verify":
        findings = verify(history)
        if args.train:
            findings = tuple(f for f in findings if f.train_id in (args.train, ""))
        print(render_findings(findings, fmt), end="")
        return 1 if findings else 0
    if args.train and not build_timelines(history, train=args.train):
        print(f"release-train audit: no train {args.train!r} in the ledger", file=sys.stderr)
        return 1
    timelines = build_timelines(history, train=args.train, since=since)
    print(render_audit(timelines, fmt), end="")
    return 0
